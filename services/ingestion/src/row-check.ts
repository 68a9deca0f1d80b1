import type { ColumnSpec } from '@refit/spec';
import { LineHashSet } from './hash-set.js';
import type { BinaryLabel } from './label-rule.js';
import { NUL_SHOWN_AS, printable } from './pg-text.js';
import { Profiler } from './profile.js';
import { RowSample } from './row-sample.js';
import { parseValue, type Value, type ValueProblem } from './validate.js';

/** A row that passed (as its typed JSON line, columns in schema order), or the first problem of one that did not. */
export type CheckResult = { json: string } | { problem: ValueProblem };

/** A typed value as JSON (numbers are finite here, so String() is their JSON form). */
const jsonOf = (v: Value): string => (v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * The problem of a record holding a NUL (U+0000) in a field, or undefined. Postgres can store a
 * NUL in neither text nor jsonb, and no column type means one, so the row is refused rather than
 * silently changed. `raw` is checked first: a CSV field is a slice of it, and JSON writes a NUL
 * `\u0000` (the fields are only scanned then).
 */
function nulProblem(fields: readonly (string | undefined)[], indexes: readonly number[], columns: readonly ColumnSpec[], raw: string): ValueProblem | undefined {
  if (!raw.includes('\u0000') && !raw.includes('\\u0000')) return undefined;
  const problem = (column: string, what: string, value: string): ValueProblem => ({
    column,
    expected: 'text without NUL bytes',
    value: printable(value),
    message: `${what}: holds a NUL byte (\\0) at character ${value.indexOf('\u0000') + 1}, which cannot be stored: remove it (shown as ${NUL_SHOWN_AS}) and re-submit the row`,
  });
  for (let j = 0; j < columns.length; j++) {
    const v = fields[indexes[j]];
    if (v?.includes('\u0000')) return problem(columns[j].name, `column '${columns[j].name}'`, v);
  }
  const k = fields.findIndex((v) => v?.includes('\u0000'));
  return k < 0 ? undefined : problem('', `field ${k + 1} (a column the schema does not declare)`, fields[k] ?? '');
}

/** Accepted rows kept for the champion to score (a uniform sample of a larger batch: its AUC is then within about ±0.02). */
export const SAMPLE_ROWS = 5000;

/** Categories a column allows beyond its declared `values`: the pinned ones, when unseen ones are quarantined. */
export type PinnedCategories = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Checks records of one batch: types, ranges, nullability, allowed categories, unique ids; and
 * profiles every cell on the way (null rates, ranges, quartiles, categories) for the batch-level
 * checks, and keeps a sample of the accepted rows. Exact duplicate records are counted, not
 * quarantined: the snapshot keeps one copy.
 */
export class RowChecker {
  readonly profiler: Profiler;
  /** A uniform sample of the accepted rows (their JSON lines). */
  readonly sample = new RowSample(SAMPLE_ROWS);
  /** Duplicate records seen, with the first example. */
  duplicates = 0;
  duplicateExample: { line: number; of: number } | undefined;
  /** True once the duplicate or unique-id check stopped taking keys (see LineHashSet). */
  checkCapped = false;
  readonly #columns: ColumnSpec[];
  readonly #keys: string[];
  readonly #rows = new LineHashSet();
  readonly #unique: Map<number, LineHashSet>;
  readonly #pinned: Array<ReadonlySet<string> | undefined>;

  /** `label`: a binary label whose positives the profile counts. */
  constructor(columns: ColumnSpec[], pinned: PinnedCategories = new Map(), label?: BinaryLabel) {
    // A category with no declared values but a pinned set, whose unseen values must be quarantined.
    this.#columns = columns;
    this.#keys = columns.map((c, j) => `${j === 0 ? '{' : ','}${JSON.stringify(c.name)}:`);
    this.#pinned = columns.map((c) => (c.type === 'category' && !c.values && c.onUnseen === 'quarantine' ? pinned.get(c.name) : undefined));
    this.profiler = new Profiler(columns, label);
    this.#unique = new Map(columns.flatMap((c, j) => (c.unique ? [[j, new LineHashSet()] as const] : [])));
  }

  /**
   * Checks one record whose fields are in `indexes` order (field `indexes[j]` holds column j).
   * `raw` is the record's text (for duplicate detection), `fieldCount` the fields it should have.
   */
  check(fields: readonly (string | undefined)[], indexes: readonly number[], fieldCount: number, raw: string, line: number): CheckResult {
    if (fields.length !== fieldCount) {
      return { problem: { column: '', expected: `${fieldCount} fields`, value: String(fields.length), message: `expected ${fieldCount} fields as in the header, got ${fields.length}` } };
    }
    const nul = nulProblem(fields, indexes, this.#columns, raw);
    if (nul) return { problem: nul };
    this.profiler.row();
    // The JSON line is built as the values are parsed: JSON.stringify of a row object costs as much as validating it.
    let json = '';
    const values: Value[] = [];
    let problem: ValueProblem | undefined;
    for (let j = 0; j < this.#columns.length; j++) {
      const c = this.#columns[j];
      const text = fields[indexes[j]];
      const parsed = parseValue(c, text);
      if ('problem' in parsed) {
        // Range problems still profile the number: a unit change shows as a shifted distribution.
        const n = c.type === 'number' || c.type === 'integer' ? Number((text ?? '').trim()) : NaN;
        this.profiler.cell(j, text, Number.isFinite(n) && (text ?? '').trim() !== '' ? n : undefined);
        problem ??= parsed.problem;
        values.push(null);
        continue;
      }
      this.profiler.cell(j, text, parsed.value);
      const pinned = this.#pinned[j];
      if (pinned && typeof parsed.value === 'string' && !pinned.has(parsed.value)) {
        problem ??= {
          column: c.name,
          expected: `one of the pinned categories ${[...pinned].join(', ')}`,
          value: parsed.value,
          message: `column '${c.name}': '${parsed.value}' was never seen in the pinned schema (${[...pinned].join(', ')}); add it to schema.columns values or set onUnseen: flag`,
        };
      }
      values.push(parsed.value);
      json += this.#keys[j] + jsonOf(parsed.value);
    }
    if (problem) return { problem };
    for (const [j, set] of this.#unique) {
      const v = String(values[j]);
      const first = set.seen(v, line);
      if (set.full) this.checkCapped = true;
      if (first !== undefined) {
        const name = this.#columns[j].name;
        return { problem: { column: name, expected: 'a unique value', value: v, message: `column '${name}': '${v}' already appeared on line ${first}; it must be unique` } };
      }
    }
    const first = this.#rows.seen(raw, line);
    if (this.#rows.full) this.checkCapped = true;
    if (first !== undefined) {
      this.duplicates++;
      this.duplicateExample ??= { line, of: first };
    }
    json += '}';
    this.sample.offer(json);
    return { json };
  }
}
