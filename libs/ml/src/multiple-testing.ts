// Multiple-testing corrections across columns. Both return adjusted p-values in input order,
// equal to statsmodels `multipletests(method="holm" | "fdr_bh")[1]` and R's `p.adjust`.
import { assertFinite } from './validate.js';
import { MlRangeError } from './errors.js';

function check(p: ArrayLike<number>, fn: string): number[] {
  assertFinite(p, fn, 'pValues', true);
  const order = Array.from({ length: p.length }, (_, i) => i);
  for (let i = 0; i < p.length; i++) {
    if (p[i] < 0 || p[i] > 1) throw new MlRangeError(`${fn}: pValues[${i}] is ${p[i]}, expected a probability in [0, 1]`);
  }
  return order.sort((a, b) => p[a] - p[b] || a - b);
}

/**
 * Holm-Bonferroni step-down adjusted p-values (controls the family-wise error rate):
 * p̃_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)).
 */
export function holm(pValues: ArrayLike<number>): number[] {
  const order = check(pValues, 'holm');
  const m = order.length;
  const out = new Array<number>(m);
  let run = 0;
  order.forEach((idx, i) => {
    run = Math.max(run, Math.min(1, (m - i) * pValues[idx]));
    out[idx] = run;
  });
  return out;
}

/**
 * Benjamini-Hochberg step-up adjusted p-values (controls the false discovery rate):
 * p̃_(i) = min_{j >= i} min(1, m p_(j) / j).
 */
export function benjaminiHochberg(pValues: ArrayLike<number>): number[] {
  const order = check(pValues, 'benjaminiHochberg');
  const m = order.length;
  const out = new Array<number>(m);
  let run = 1;
  for (let i = m - 1; i >= 0; i--) {
    const idx = order[i];
    run = Math.min(run, (m * pValues[idx]) / (i + 1));
    out[idx] = Math.min(1, run);
  }
  return out;
}
