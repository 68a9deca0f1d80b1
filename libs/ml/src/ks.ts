// Two-sample Kolmogorov-Smirnov test, matching scipy.stats.ks_2samp (two-sided): same
// statistic, exact p-value by lattice-path counting for small samples, and kstwo.sf(D, round(en))
// for large ones.
import { MlRangeError } from './errors.js';
import { kolmogorovLimitSf, kolmogorovSf } from './special/kolmogorov.js';
import { toSorted } from './sort.js';
import type { SortedSample } from './sort.js';

/** Result of {@link ksTwoSample}. */
export interface KsResult {
  /** sup |F_a - F_b| over the pooled sample, in [0, 1]. */
  statistic: number;
  /** Two-sided p-value. */
  pValue: number;
  /** How the p-value was computed. */
  method: 'exact' | 'asymptotic';
}

/** Options of {@link ksTwoSample}. */
export interface KsOptions {
  /**
   * "auto" (default): exact when max(n_a, n_b) <= 10000 (scipy's rule), else asymptotic.
   * "exact" computes the exact p-value for any size (cost O(n_a x band)).
   */
  method?: 'auto' | 'exact' | 'asymptotic';
}

/** Statistic D = max |F_a(v) - F_b(v)| of two ascending samples. */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 && j < n2) {
    const v = a[i] <= b[j] ? a[i] : b[j];
    while (i < n1 && a[i] === v) i++;
    while (j < n2 && b[j] === v) j++;
    // Same float expression as scipy (searchsorted / n1 - searchsorted / n2) so D matches bitwise.
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) d = diff;
  }
  // Once one sample is exhausted the gap only shrinks toward 0, except at its start.
  if (i < n1 || j < n2) {
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) d = diff;
  }
  return d;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** P(D_{n,n} >= h/n) for equal sizes (Hodges' alternating sum, Horner form as in scipy). */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * P(D >= h/lcm) for unequal sizes: the share of lattice paths (0,0)->(m,n) that leave the band
 * |x·n/g - y·m/g| < h. Entries are kept normalised by C(x+y, y) so nothing overflows.
 */
function probOutsideBand(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  const a = new Float64Array(n + 1);
  for (let x = 0; x <= m; x++) {
    const ymin = Math.max(0, Math.floor((x * ng - h) / mg) + 1);
    const ymax = Math.min(n, Math.ceil((x * ng + h) / mg) - 1);
    if (ymin > ymax) return 1;
    let prev = 0;
    if (x === 0) {
      a[0] = 1;
      prev = 1;
      for (let y = 1; y <= ymax; y++) a[y] = 1;
      continue;
    }
    for (let y = ymin; y <= ymax; y++) {
      const v = (a[y] * x + prev * y) / (x + y);
      a[y] = v;
      prev = v;
    }
  }
  return 1 - a[n];
}

/** Exact two-sided p-value P(D >= d) for sample sizes n1, n2 (no ties assumed, as scipy). */
export function ksExactPValue(n1: number, n2: number, d: number): number {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  if (h === 0) return 1;
  // The lattice computation returns 1 - (share of paths inside), which cannot resolve p below
  // ~1e-16 anyway; when even the limiting distribution puts p below 1e-40 the answer is 0 and
  // the O(n1 x band) walk (up to ~1 s at 10^4 x 10^4) is skipped.
  if (n1 * n2 > 1e6 && kolmogorovLimitSf(Math.sqrt((n1 * n2) / (n1 + n2)) * d) < 1e-40) return 0;
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
  return Math.min(1, Math.max(0, p));
}

/** Asymptotic two-sided p-value: Kolmogorov distribution at n = round(n1·n2 / (n1 + n2)). */
export function ksAsymptoticPValue(n1: number, n2: number, d: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return kolmogorovSf(Math.max(1, roundHalfEven(en)), d);
}

/**
 * Two-sample two-sided Kolmogorov-Smirnov test (scipy `ks_2samp`, alternative="two-sided").
 * Ties between samples are handled in the statistic; the exact p-value assumes continuous data
 * like scipy's.
 * @param a - first sample (e.g. reference), or a {@link SortedSample}.
 * @param b - second sample (e.g. current), or a {@link SortedSample}.
 * @param opts.method - "auto" (default), "exact" or "asymptotic"; see {@link KsOptions}.
 * @throws MlRangeError on an empty sample or NaN/infinite values.
 */
export function ksTwoSample(a: ArrayLike<number> | SortedSample, b: ArrayLike<number> | SortedSample, opts: KsOptions = {}): KsResult {
  const method = opts.method ?? 'auto';
  if (method !== 'auto' && method !== 'exact' && method !== 'asymptotic') {
    throw new MlRangeError(`ksTwoSample: option method is ${String(method)}, expected "auto", "exact" or "asymptotic"`);
  }
  const sa = toSorted(a, 'ksTwoSample', 'a');
  const sb = toSorted(b, 'ksTwoSample', 'b');
  const statistic = ksStatisticSorted(sa, sb);
  const n1 = sa.length;
  const n2 = sb.length;
  const exact = method === 'exact' || (method === 'auto' && Math.max(n1, n2) <= 10000);
  if (exact) return { statistic, pValue: ksExactPValue(n1, n2, statistic), method: 'exact' };
  return { statistic, pValue: ksAsymptoticPValue(n1, n2, statistic), method: 'asymptotic' };
}
