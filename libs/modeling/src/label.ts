import { ModelingInputError } from './errors.js';
import type { LabelSpec, RawRow } from './spec.js';
import { isMissing, show, toCategory, toNumber } from './values.js';

const TRUE_STRINGS = new Set(['1', 'true']);
const FALSE_STRINGS = new Set(['0', 'false']);

function where(line: number | undefined): string {
  return line === undefined ? '' : ` at row ${line}`;
}

// Equality the way a YAML spec author means it: `eq: 1` matches 1 and "1", `eq: "sun"` matches "sun".
function matches(v: string | number | boolean, target: string | number | boolean): boolean | undefined {
  if (typeof target === 'number') {
    const n = toNumber(v);
    return n === undefined ? undefined : n === target;
  }
  if (typeof target === 'boolean') {
    const b = toBool(v);
    return b === undefined ? undefined : b === target;
  }
  return toCategory(v) === target;
}

function toBool(v: string | number | boolean): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : undefined;
  const s = v.trim().toLowerCase();
  return TRUE_STRINGS.has(s) ? true : FALSE_STRINGS.has(s) ? false : undefined;
}

/**
 * The 0/1 label of one row under `label`. `line` is only used in error messages (pass the row
 * index or the source line number).
 * @throws ModelingInputError when the label column is missing, or its value cannot be compared
 *   with the rule (e.g. "abc" against `gt: 0`), or, without `positive`, is not 0/1/true/false.
 */
export function labelOf(row: RawRow, label: LabelSpec, line?: number): 0 | 1 {
  const col = label.column;
  const v = row[col];
  if (isMissing(v)) {
    throw new ModelingInputError(`label column "${col}" is missing${where(line)}`, { row: line, column: col, value: v });
  }
  const bad = (why: string): ModelingInputError =>
    new ModelingInputError(`label column "${col}"${where(line)}: value ${show(v)} ${why}`, { row: line, column: col, value: v });

  const rule = label.positive;
  if (rule === undefined) {
    const b = toBool(v);
    if (b === undefined) throw bad('is not 0/1/true/false (add `positive` to the label spec to derive a label)');
    return b ? 1 : 0;
  }

  const keys = (['gt', 'gte', 'lt', 'eq', 'in'] as const).filter((k) => rule[k] !== undefined);
  if (keys.length === 0) {
    throw new ModelingInputError(`label "${col}": \`positive\` needs one of gt, gte, lt, eq, in`, { column: col });
  }
  let positive = true;
  for (const key of keys) {
    let ok: boolean | undefined;
    if (key === 'gt' || key === 'gte' || key === 'lt') {
      const n = toNumber(v);
      if (n === undefined) throw bad(`is not a number (rule: ${key} ${rule[key]})`);
      const t = rule[key] as number;
      ok = key === 'gt' ? n > t : key === 'gte' ? n >= t : n < t;
    } else if (key === 'eq') {
      ok = matches(v, rule.eq as string | number | boolean);
      if (ok === undefined) throw bad(`cannot be compared with eq ${show(rule.eq)}`);
    } else {
      // A value that is not comparable with one element (e.g. "x" vs 3) simply doesn't match it.
      ok = (rule.in as Array<string | number>).some((t) => matches(v, t) === true);
    }
    positive &&= ok;
  }
  return positive ? 1 : 0;
}

/**
 * The numeric target of one row for a regression head: the label column's raw value.
 * @throws ModelingInputError when the value is missing or not a finite number.
 */
export function targetOf(row: RawRow, label: LabelSpec, line?: number): number {
  const col = label.column;
  const v = row[col];
  if (isMissing(v)) {
    throw new ModelingInputError(`label column "${col}" is missing${where(line)}`, { row: line, column: col, value: v });
  }
  const n = toNumber(v);
  if (n === undefined || !Number.isFinite(n)) {
    throw new ModelingInputError(`label column "${col}"${where(line)}: value ${show(v)} is not a number (a regression head predicts the value itself)`, { row: line, column: col, value: v });
  }
  return n;
}

/**
 * Labels of all rows as a Float32Array (the dtype the trainer feeds to the model): 0/1 under
 * `label` for a binary head (the default), the raw numeric value for a `regression` head. Row
 * numbers in errors are 0-based indexes into `rows`.
 */
export function labelsOf(rows: readonly RawRow[], label: LabelSpec, head: 'binary' | 'regression' = 'binary'): Float32Array {
  const y = new Float32Array(rows.length);
  const of = head === 'regression' ? targetOf : labelOf;
  for (let i = 0; i < rows.length; i++) y[i] = of(rows[i], label, i);
  return y;
}
