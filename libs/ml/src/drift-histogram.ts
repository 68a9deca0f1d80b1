// The two distributions a drift verdict compared, for drawing: on the bins PSI uses, so what the
// chart shows is what the number measured.
import type { DriftColumn } from './column-drift.js';
import { psi, psiCategorical } from './psi.js';

/** Result of {@link driftHistogram}: shares of each sample per bin (numeric) or category. */
export interface DriftHistogram {
  /**
   * Numeric columns: the interior cut points of {@link psi}'s reference-decile bins, ascending and
   * distinct; bins are right-closed, (-∞, edges[0]], …, (edges[last], +∞), so there are
   * edges.length + 1 of them. Empty for a categorical column.
   */
  edges: number[];
  /** Categorical columns: every category of either sample, the reference's first (first-seen order). Empty for a numeric column. */
  categories: string[];
  /** Share of the reference in each bin (sums to 1 up to rounding). */
  reference: number[];
  /** Share of the current sample in each bin (sums to 1 up to rounding). */
  current: number[];
  /** PSI over these bins (epsilon 1e-4 for empty ones), as {@link psi} / {@link psiCategorical}. */
  psi: number;
}

/**
 * The histograms of a drift column's reference and current samples: reference-decile bins
 * (10, fewer after merging tied deciles) for a numeric column, one bin per category for a
 * categorical one (type as {@link columnDrift} infers it). Null when either sample is empty.
 * @throws MlRangeError on NaN/infinite numbers or null categories.
 */
export function driftHistogram(column: DriftColumn): DriftHistogram | null {
  if (column.reference.length === 0 || column.current.length === 0) return null;
  const type = column.type ?? (typeof column.reference[0] === 'string' ? 'categorical' : 'numeric');
  if (type === 'numeric') {
    const r = psi(column.reference as ArrayLike<number>, column.current as ArrayLike<number>);
    return { edges: r.edges, categories: [], reference: r.referenceShares, current: r.currentShares, psi: r.value };
  }
  const r = psiCategorical(column.reference as ArrayLike<string | number>, column.current as ArrayLike<string | number>);
  return { edges: [], categories: r.categories.map(String), reference: r.referenceShares, current: r.currentShares, psi: r.value };
}
