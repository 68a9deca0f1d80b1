// Binomial distribution tails, summed term by term in log space (exact up to rounding).
import { logChoose } from './gamma.js';

/**
 * P(X <= k) for X ~ Binomial(n, p) (scipy `binom.cdf`).
 * @param k - integer threshold (values < 0 give 0, >= n give 1).
 */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  // Sum the shorter tail for accuracy.
  const lowerShort = k < n / 2;
  let s = 0;
  if (lowerShort) {
    for (let i = 0; i <= k; i++) s += Math.exp(logChoose(n, i) + i * lp + (n - i) * lq);
    return Math.min(1, s);
  }
  for (let i = k + 1; i <= n; i++) s += Math.exp(logChoose(n, i) + i * lp + (n - i) * lq);
  return Math.max(0, 1 - s);
}
