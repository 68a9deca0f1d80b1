import { normalSf } from '@refit/ml';

/** Result of {@link aucAgainstCoin}. */
export type CoinTest = {
  /** The scores' ROC AUC on the labels (ties count 1/2). */
  auc: number;
  /** One-sided p-value of scores ranking the labels this badly if they were unrelated to them (a coin). */
  pBelow: number;
};

/**
 * The Mann–Whitney rank-sum test of scores against a coin: under "the scores know nothing of the
 * labels" its null distribution is exact (normal approximation with the tie correction), so unlike
 * an interval whose variance is estimated from the same few rows it holds its level on a month of
 * data. Labels are 0/1 with both present.
 */
export function aucAgainstCoin(y: ArrayLike<number>, scores: ArrayLike<number>): CoinTest {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let ties = 0;
  let n1 = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[order[k]] === 1) {
        n1++;
        rankSum += rank;
      }
    }
    const t = j - i + 1;
    ties += t * t * t - t;
    i = j + 1;
  }
  const n0 = n - n1;
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const variance = ((n1 * n0) / 12) * (n + 1 - ties / (n * (n - 1)));
  const z = variance > 0 ? (u - (n1 * n0) / 2) / Math.sqrt(variance) : 0;
  return { auc: u / (n1 * n0), pBelow: variance > 0 ? 1 - normalSf(z) : 1 };
}
