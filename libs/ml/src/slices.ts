// Per-slice metrics for any categorical column.
import { binaryMetrics } from './binary-metrics.js';
import type { BinaryMetrics } from './binary-metrics.js';
import { MlRangeError } from './errors.js';
import { assertArrayLike, assertInt, assertSameLength } from './validate.js';

/** Metrics of one slice. */
export interface SliceMetrics {
  /** The slice value. */
  slice: string | number;
  n: number;
  /** True when n < minSize: reported, but too small to trust. */
  belowMinSize: boolean;
  metrics: BinaryMetrics;
}

/** Groups row indices by the value of a categorical column (first-seen order). */
export function groupRows(column: ArrayLike<string | number>, fn: string, name: string): Map<string | number, number[]> {
  assertArrayLike(column, fn, name);
  const groups = new Map<string | number, number[]>();
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (typeof v === 'number' ? Number.isNaN(v) : typeof v !== 'string') {
      throw new MlRangeError(`${fn}: ${name}[${i}] is ${typeof v === 'number' ? 'NaN' : String(v)}, expected a string or number`);
    }
    let g = groups.get(v);
    if (!g) groups.set(v, (g = []));
    g.push(i);
  }
  return groups;
}

/**
 * {@link binaryMetrics} for every value of a categorical column. Small slices are kept and
 * flagged (`belowMinSize`), never dropped.
 * @param opts.threshold - decision threshold, default 0.5; opts.minSize - default 30.
 */
export function sliceMetrics(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  column: ArrayLike<string | number>,
  opts: { threshold?: number; minSize?: number } = {},
): SliceMetrics[] {
  const minSize = opts.minSize ?? 30;
  assertInt(minSize, 1, 'sliceMetrics', 'minSize');
  assertSameLength(yTrue, column, 'sliceMetrics', 'yTrue', 'column');
  assertSameLength(yTrue, yProb, 'sliceMetrics', 'yTrue', 'yProb');
  // Validate everything up front so an error names the global row index.
  binaryMetrics(yTrue, yProb, { threshold: opts.threshold });
  const out: SliceMetrics[] = [];
  for (const [slice, rows] of groupRows(column, 'sliceMetrics', 'column')) {
    const y = Float64Array.from(rows, (i) => yTrue[i]);
    const p = Float64Array.from(rows, (i) => yProb[i]);
    out.push({ slice, n: rows.length, belowMinSize: rows.length < minSize, metrics: binaryMetrics(y, p, { threshold: opts.threshold }) });
  }
  return out;
}
