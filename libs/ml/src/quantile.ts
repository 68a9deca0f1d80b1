// Quantiles with numpy's default ("linear", type 7) definition, replicating numpy's floating
// point steps so bin edges agree with `np.quantile` bit for bit.

/**
 * The q-quantile of an ascending, non-empty Float64Array (numpy `quantile`, method="linear").
 * @param sorted - ascending finite values.
 * @param q - probability in [0, 1].
 */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  // numpy's "linear" method: virtual index (n - 1) * q.
  const virtual = (n - 1) * q;
  if (virtual <= 0) return sorted[0];
  if (virtual >= n - 1) return sorted[n - 1];
  const lo = Math.floor(virtual);
  const t = virtual - lo;
  const a = sorted[lo];
  const b = sorted[lo + 1];
  const diff = b - a;
  // numpy's _lerp: interpolate from the nearer end for accuracy.
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}
