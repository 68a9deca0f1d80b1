import type { ColumnSpec } from '@refit/spec';
import type { BinaryLabel } from './label-rule.js';
import type { Value } from './validate.js';

/** Values kept per numeric column for quantiles (a reservoir sample: memory stays fixed). */
const RESERVOIR = 4096;
/** Distinct categories counted per column; more are summed under `__more__`. */
const MAX_CATEGORIES = 200;

/** What one column of a batch looked like. */
export type ColumnProfile = {
  /** Cells seen (every record with the right field count). */
  count: number;
  /** Empty cells. */
  nulls: number;
  /** Values below the declared min / above the declared max. */
  belowMin: number;
  aboveMax: number;
  /** Numbers: extremes and quartiles of the parsed values (in range or not). */
  min?: number;
  max?: number;
  q1?: number;
  median?: number;
  q3?: number;
  /** Categories: counts per value. */
  categories?: Record<string, number>;
};

/** A binary label's counts under the spec's rule (`rule`, canonical JSON): rows with a label, and positives. */
export type LabelCounts = { column: string; rule: string; n: number; positives: number };

/**
 * A batch's profile: the reference later batches are checked against once pinned. `label` is there
 * for a binary label (profiles pinned before label checks have none).
 */
export type BatchProfile = { rows: number; columns: Record<string, ColumnProfile>; label?: LabelCounts };

type Acc = ColumnProfile & { sample?: number[]; seen: number; cats?: Map<string, number> };

/** Accumulates a {@link BatchProfile} cell by cell with fixed memory. */
export class Profiler {
  readonly #acc: Acc[];
  readonly #columns: readonly ColumnSpec[];
  readonly #label: { index: number; rule: BinaryLabel; counts: LabelCounts } | undefined;
  #rows = 0;
  // A deterministic LCG: the same file gives the same profile.
  #rng = 12345;

  /** `label`: the binary label whose positives are counted (its column must be one of `columns`). */
  constructor(columns: readonly ColumnSpec[], label?: BinaryLabel) {
    this.#columns = columns;
    const index = label ? columns.findIndex((c) => c.name === label.column) : -1;
    this.#label = label && index >= 0 ? { index, rule: label, counts: { column: label.column, rule: label.rule, n: 0, positives: 0 } } : undefined;
    this.#acc = columns.map((c) => ({
      count: 0,
      nulls: 0,
      belowMin: 0,
      aboveMax: 0,
      seen: 0,
      ...(c.type === 'number' || c.type === 'integer' ? { sample: [] } : {}),
      ...(c.type === 'category' || c.type === 'boolean' ? { cats: new Map<string, number>() } : {}),
    }));
  }

  /** Counts one record. */
  row(): void {
    this.#rows++;
  }

  /** Records the raw text of column `j` (empty → null) and its parsed value when it parsed. */
  cell(j: number, raw: string | undefined, value: Value | undefined): void {
    const a = this.#acc[j];
    a.count++;
    if (raw === undefined || raw.length === 0 || (raw.charCodeAt(0) <= 32 && raw.trim() === '')) {
      a.nulls++;
      return;
    }
    if (this.#label?.index === j && value !== undefined) {
      const y = this.#label.rule.of(value);
      if (y !== undefined) {
        this.#label.counts.n++;
        this.#label.counts.positives += y;
      }
    }
    if (typeof value === 'number' && a.sample) {
      const c = this.#columns[j];
      if (c.min !== undefined && value < c.min) a.belowMin++;
      if (c.max !== undefined && value > c.max) a.aboveMax++;
      a.min = a.min === undefined || value < a.min ? value : a.min;
      a.max = a.max === undefined || value > a.max ? value : a.max;
      a.seen++;
      if (a.sample.length < RESERVOIR) a.sample.push(value);
      else {
        this.#rng = (Math.imul(this.#rng, 1103515245) + 12345) >>> 0;
        const k = this.#rng % a.seen;
        if (k < RESERVOIR) a.sample[k] = value;
      }
    } else if (a.cats && value !== undefined && value !== null) {
      const key = String(value);
      const n = a.cats.get(key);
      if (n !== undefined) a.cats.set(key, n + 1);
      else if (a.cats.size < MAX_CATEGORIES) a.cats.set(key, 1);
      else a.cats.set('__more__', (a.cats.get('__more__') ?? 0) + 1);
    }
  }

  /** The profile so far. */
  finish(): BatchProfile {
    const columns: Record<string, ColumnProfile> = {};
    this.#columns.forEach((c, j) => {
      const { sample, cats, seen: _seen, ...p } = this.#acc[j];
      if (sample && sample.length > 0) {
        const s = Float64Array.from(sample).sort();
        const q = (f: number): number => s[Math.min(s.length - 1, Math.floor(f * (s.length - 1) + 0.5))];
        Object.assign(p, { q1: q(0.25), median: q(0.5), q3: q(0.75) });
      }
      if (cats) p.categories = Object.fromEntries([...cats.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
      columns[c.name] = p;
    });
    return { rows: this.#rows, columns, ...(this.#label ? { label: { ...this.#label.counts } } : {}) };
  }
}
