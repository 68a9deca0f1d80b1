// The grammar of business-metric expressions (`business.metrics.<name>.expr`): parsed with jsep,
// checked against a whitelist and compiled by hand into a closure. Nothing is ever `eval`ed.
import jsep from 'jsep';

/** Terms that hold for the whole set of predictions (outside `sum()`/`mean()`). */
export const AGGREGATE_TERMS = ['tp', 'fp', 'tn', 'fn', 'n', 'pos', 'neg', 'cost'] as const;
/** Cost-matrix terms (`costs.fp`…), usable anywhere. */
export const COST_TERMS = ['costs.fp', 'costs.fn', 'costs.tp', 'costs.tn'] as const;
/** Per-row terms, usable only inside `sum()` or `mean()` (besides numeric schema columns). */
export const ROW_TERMS = ['tp_row', 'fp_row', 'tn_row', 'fn_row', 'y', 'pred', 'cost_row'] as const;
const AGGREGATES = new Set(['sum', 'mean']);
// Maps, not object literals: a name like 'constructor' or 'toString' must not find Object.prototype's.
const SCALAR_FUNCTIONS = new Map<string, { arity: number; fn: (...a: number[]) => number }>([
  ['min', { arity: 2, fn: Math.min }],
  ['max', { arity: 2, fn: Math.max }],
  ['abs', { arity: 1, fn: Math.abs }],
]);

/** Longest expression, in characters. */
export const MAX_EXPRESSION_LENGTH = 1024;
/** Deepest expression tree (operators and calls nested in one another). */
export const MAX_EXPRESSION_DEPTH = 100;
const NOT_ALLOWED = 'is not allowed: only numbers, + - * /, parentheses, known terms and sum/mean/min/max/abs';

/** What `node` looks like as written, shortened (`constructor.constructor(…)`), for a message. */
function written(node: jsep.Expression, depth = 0): string {
  if (depth > 4) return '…';
  const sub = (n: unknown): string => written(n as jsep.Expression, depth + 1);
  switch (node.type) {
    case 'Identifier':
      return String(node.name);
    case 'Literal':
      return String(node.raw);
    case 'ThisExpression':
      return 'this';
    case 'MemberExpression':
      return node.computed ? `${sub(node.object)}[…]` : `${sub(node.object)}.${sub(node.property)}`;
    case 'CallExpression':
      return `${sub(node.callee)}(…)`;
    case 'ArrayExpression':
      return '[…]';
    case 'ConditionalExpression':
      return `${sub(node.test)} ? … : …`;
    case 'BinaryExpression':
      return `${sub(node.left)} ${String(node.operator)} ${sub(node.right)}`;
    case 'UnaryExpression':
      return `${String(node.operator)}${sub(node.argument)}`;
    default:
      return '…';
  }
}

/** The refusal of a construct outside the grammar, quoting it as written. */
const notAllowed = (node: jsep.Expression): string => {
  const text = written(node);
  return `'${text.length > 80 ? `${text.slice(0, 79)}…` : text}' ${NOT_ALLOWED}`;
};

/** The cost matrix: what one outcome costs (a negative cost is a gain). */
export type Costs = { fp: number; fn: number; tp: number; tn: number };

/**
 * What an expression is evaluated on: labels, the model's 0/1 decisions at its threshold and the
 * per-row values of the columns the expression reads (NaN where missing), all aligned.
 */
export type BusinessRows = { y: ArrayLike<number>; pred: ArrayLike<number>; columns?: Readonly<Record<string, ArrayLike<number>>> };

/** A compiled expression: its value on a set of rows (NaN when undefined, e.g. a division by zero). */
export type CompiledExpression = { columns: string[]; evaluate: (rows: BusinessRows, costs: Costs) => number };

/** What the checker knows of the schema: numeric columns, and the type of every other column. */
export type ExpressionColumns = ReadonlyMap<string, string>;

type Counts = { tp: number; fp: number; tn: number; fn: number; n: number; pos: number; neg: number; cost: number };
type Ctx = { rows: BusinessRows; costs: Costs; counts: Counts };
type PerRow = (c: Ctx, i: number) => number;

/** An expression that does not parse, or uses a term or function outside the grammar. */
export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

const isNumeric = (type: string | undefined) => type === 'number' || type === 'integer';

function knownTerms(columns: ExpressionColumns | undefined): string {
  const numeric = columns ? [...columns].filter(([, t]) => isNumeric(t)).map(([c]) => c) : [];
  const cols = columns ? (numeric.length ? ` and numeric columns ${numeric.join(', ')}` : ' (no numeric column)') : ' and numeric columns';
  return `known: ${[...AGGREGATE_TERMS, ...COST_TERMS].join(', ')}; per row inside sum()/mean(): ${ROW_TERMS.join(', ')}${cols}`;
}

function countsOf(rows: BusinessRows, costs: Costs): Counts {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < rows.y.length; i++) {
    const positive = rows.pred[i] === 1;
    if (rows.y[i] === 1) {
      if (positive) tp++;
      else fn++;
    } else if (positive) fp++;
    else tn++;
  }
  const cost = tp * costs.tp + fp * costs.fp + tn * costs.tn + fn * costs.fn;
  return { tp, fp, tn, fn, n: rows.y.length, pos: tp + fn, neg: fp + tn, cost };
}

function rowCost(c: Ctx, i: number): number {
  const { y, pred } = c.rows;
  const k = c.costs;
  return y[i] === 1 ? (pred[i] === 1 ? k.tp : k.fn) : pred[i] === 1 ? k.fp : k.tn;
}

const ROW = new Map<string, PerRow>([
  ['tp_row', (c, i) => (c.rows.y[i] === 1 && c.rows.pred[i] === 1 ? 1 : 0)],
  ['fp_row', (c, i) => (c.rows.y[i] !== 1 && c.rows.pred[i] === 1 ? 1 : 0)],
  ['tn_row', (c, i) => (c.rows.y[i] !== 1 && c.rows.pred[i] !== 1 ? 1 : 0)],
  ['fn_row', (c, i) => (c.rows.y[i] === 1 && c.rows.pred[i] !== 1 ? 1 : 0)],
  ['y', (c, i) => c.rows.y[i]],
  ['pred', (c, i) => c.rows.pred[i]],
  ['cost_row', rowCost],
]);

const BINARY = new Map<string, (a: number, b: number) => number>([
  ['+', (a, b) => a + b],
  ['-', (a, b) => a - b],
  ['*', (a, b) => a * b],
  ['/', (a, b) => (b === 0 ? Number.NaN : a / b)],
]);

class Compiler {
  readonly columns = new Set<string>();
  constructor(private readonly schema: ExpressionColumns | undefined) {}

  private fail(message: string): never {
    throw new ExpressionError(message);
  }

  private termName(node: jsep.Expression): string | undefined {
    if (node.type === 'Identifier') return node.name as string;
    if (node.type === 'MemberExpression' && !node.computed) {
      const object = node.object as jsep.Expression;
      const property = node.property as jsep.Expression;
      if (object.type === 'Identifier' && property.type === 'Identifier') return `${object.name as string}.${property.name as string}`;
    }
    return undefined;
  }

  /** Compiles `node` where a per-row term is allowed (`row` true: inside sum()/mean()), `depth` levels down. */
  compile(node: jsep.Expression, row: boolean, depth = 0): PerRow {
    if (depth > MAX_EXPRESSION_DEPTH) this.fail(`nests deeper than ${MAX_EXPRESSION_DEPTH} levels; write it shorter`);
    switch (node.type) {
      case 'Literal': {
        const v = node.value;
        if (typeof v !== 'number') this.fail(`only numbers are allowed as constants, not ${String(node.raw)}`);
        return () => v;
      }
      case 'Identifier':
      case 'MemberExpression':
        return this.term(node, row);
      case 'UnaryExpression': {
        if (node.operator !== '-' && node.operator !== '+') this.fail(`unknown operator '${String(node.operator)}' (known: + - * / and parentheses)`);
        const arg = this.compile(node.argument as jsep.Expression, row, depth + 1);
        return node.operator === '-' ? (c, i) => -arg(c, i) : arg;
      }
      case 'BinaryExpression': {
        const op = BINARY.get(node.operator as string);
        if (!op) return this.fail(`unknown operator '${String(node.operator)}' (known: + - * / and parentheses)`);
        const left = this.compile(node.left as jsep.Expression, row, depth + 1);
        const right = this.compile(node.right as jsep.Expression, row, depth + 1);
        return (c, i) => op(left(c, i), right(c, i));
      }
      case 'CallExpression':
        return this.call(node, row, depth);
      default:
        return this.fail(notAllowed(node));
    }
  }

  private term(node: jsep.Expression, row: boolean): PerRow {
    const name = this.termName(node);
    if (name === undefined) return this.fail(notAllowed(node));
    if ((AGGREGATE_TERMS as readonly string[]).includes(name)) return (c) => c.counts[name as keyof Counts];
    if ((COST_TERMS as readonly string[]).includes(name)) {
      const key = name.slice('costs.'.length) as keyof Costs;
      return (c) => c.costs[key];
    }
    const perRow = ROW.get(name);
    const type = this.schema?.get(name);
    const isColumn = !perRow && !name.includes('.') && (this.schema === undefined || type !== undefined);
    if (!perRow && !isColumn) return this.fail(`unknown term '${name}' (${knownTerms(this.schema)})`);
    if (isColumn && type !== undefined && !isNumeric(type)) return this.fail(`'${name}' is a ${type} column; only number and integer columns can be used`);
    if (!row) return this.fail(`'${name}' is a per-row term: use it inside sum(...) or mean(...)`);
    if (perRow) return perRow;
    this.columns.add(name);
    return (c, i) => {
      const values = c.rows.columns?.[name];
      const v = values ? values[i] : Number.NaN;
      return v === null || v === undefined ? Number.NaN : Number(v);
    };
  }

  private call(node: jsep.Expression, row: boolean, depth: number): PerRow {
    const callee = node.callee as jsep.Expression;
    // Only a plain name is called: `constructor.constructor(…)` and the like are refused as written.
    if (callee.type !== 'Identifier') return this.fail(notAllowed(node));
    const name = callee.name as string;
    const args = node.arguments as jsep.Expression[];
    if (AGGREGATES.has(name)) {
      if (row) this.fail(`${name}() cannot be nested inside sum() or mean()`);
      if (args.length !== 1) this.fail(`${name}() takes one argument, got ${args.length}`);
      const f = this.compile(args[0], true, depth + 1);
      const mean = name === 'mean';
      return (c) => {
        let s = 0;
        const n = c.rows.y.length;
        for (let i = 0; i < n; i++) s += f(c, i);
        return mean ? (n === 0 ? Number.NaN : s / n) : s;
      };
    }
    const spec = SCALAR_FUNCTIONS.get(name);
    if (!spec) return this.fail(`unknown function '${name}' (known: sum, mean, min, max, abs)`);
    if (args.length !== spec.arity) this.fail(`${name}() takes ${spec.arity} argument${spec.arity > 1 ? 's' : ''}, got ${args.length}`);
    const fs = args.map((a) => this.compile(a, row, depth + 1));
    return (c, i) => spec.fn(...fs.map((f) => f(c, i)));
  }
}

/**
 * Compiles a business-metric expression. The grammar:
 * - numbers, `+ - * /` (a division by zero makes the value undefined, NaN), unary minus, parentheses;
 * - whole-set terms: `tp fp tn fn` (confusion counts at the model's threshold), `n`, `pos` (tp+fn),
 *   `neg` (fp+tn), `cost` (tp·costs.tp + fp·costs.fp + tn·costs.tn + fn·costs.fn), `costs.fp` …;
 * - `sum(x)` and `mean(x)` of a per-row expression `x`, which may also use `tp_row fp_row tn_row
 *   fn_row` (0/1), `y` (the label), `pred` (the 0/1 decision), `cost_row` and numeric columns;
 * - `min(a, b)`, `max(a, b)`, `abs(a)`.
 * @param columns - the schema's columns and their types; undefined accepts any other name as a
 *   column (the schema is not known yet: an inferred one).
 * @throws ExpressionError naming the bad term, function or syntax (quoted as written), or an
 *   expression longer than {@link MAX_EXPRESSION_LENGTH} or deeper than {@link MAX_EXPRESSION_DEPTH}.
 */
export function compileExpression(expr: string, columns?: ExpressionColumns): CompiledExpression {
  if (expr.length > MAX_EXPRESSION_LENGTH) throw new ExpressionError(`is ${expr.length} characters long; at most ${MAX_EXPRESSION_LENGTH}`);
  let ast: jsep.Expression;
  try {
    ast = jsep(expr);
  } catch (err) {
    throw new ExpressionError(`does not parse: ${(err as Error).message}`);
  }
  const compiler = new Compiler(columns);
  const f = compiler.compile(ast, false);
  return {
    columns: [...compiler.columns],
    evaluate: (rows, costs) => {
      const v = f({ rows, costs, counts: countsOf(rows, costs) }, 0);
      return Number.isFinite(v) ? v : Number.NaN;
    },
  };
}

/** Confusion counts of a window of decisions (live feedback). */
export type ConfusionCounts = { tp: number; fp: number; tn: number; fn: number };

/**
 * Evaluates an expression that reads no column on confusion counts alone (the deployer's live
 * windows): the rows are rebuilt from the counts, which is exact since no per-row term then
 * depends on anything but the row's outcome. NaN for an expression that reads a column.
 */
export function evaluateOnCounts(expr: CompiledExpression, counts: ConfusionCounts, costs: Costs): number {
  if (expr.columns.length > 0) return Number.NaN;
  const n = counts.tp + counts.fp + counts.tn + counts.fn;
  const y = new Uint8Array(n);
  const pred = new Uint8Array(n);
  y.fill(1, 0, counts.tp + counts.fn);
  pred.fill(1, 0, counts.tp);
  pred.fill(1, counts.tp + counts.fn, counts.tp + counts.fn + counts.fp);
  return expr.evaluate({ y, pred }, costs);
}
