// Always-valid tests of "the candidate's mean is worse than the reference's by more than a
// margin", for monitoring that looks again and again (a performance trigger after every window,
// a canary after every tick). See sequentialLook for the method.
import { MlRangeError } from './errors.js';
import { checkStats, EMPTY_MEAN_STATS, mergeMeanStats, sampleVariance, type MeanStats } from './mean-stats.js';
import { normalMixtureBound, normalMixtureLogE } from './normal-mixture.js';
import { assertOption } from './validate.js';

/** Options of the sequential tests. Keep them fixed for the life of a state. */
export interface SequentialTestOptions {
  /** True when a higher mean is better (accuracy, per-row correctness); false for losses (log loss, Brier, cost). */
  higherIsBetter: boolean;
  /** Non-inferiority margin ≥ 0, in the metric's units: the null is "worse by at most `margin`". */
  margin: number;
  /** Level of the test and of each one-sided bound, in (0, 0.5). Default 0.05. */
  alpha?: number;
  /**
   * Standard deviation τ of the normal mixture over the effect, in the metric's units (ρ = 1/τ²
   * in information units). Default: `margin` — the mixture weighs effects of the margin's size,
   * so a worsening of about twice the margin is detected soonest; larger ones are detected
   * sooner, smaller ones later, and validity never depends on it. Required when `margin` is 0.
   */
  tau?: number;
  /**
   * How each side's per-row variance is estimated: `sample` (M2 / (n − 1), default), or
   * `bernoulli` for 0/1 rows — p̃(1 − p̃) with p̃ = (ones + 1) / (n + 2), which adds one success
   * and one failure (Agresti & Caffo 2000) so an all-correct side still has a variance.
   */
  variance?: 'sample' | 'bernoulli';
}

/** Everything a sequential test remembers between looks; plain JSON (no Infinity). */
export interface SequentialState {
  /** Totals of the candidate side (the live model, or the canary) so far. */
  candidate: MeanStats;
  /** Totals of the reference side (warm-up rows, or the champion); empty against a fixed value. */
  reference: MeanStats;
  /** Looks that tested so far (a look that could not test yet is not counted). */
  looks: number;
  /** Always-valid p-value: the smallest 1/E over all looks so far (1 at the start). */
  pValue: number;
  /** Running lower bound of the worsening (the largest lower bound so far); null until the first test. */
  lower: number | null;
  /** Running upper bound of the worsening (the smallest upper bound so far); null until the first test. */
  upper: number | null;
}

/** One look of a sequential test. */
export interface SequentialResult {
  /** The state to keep for the next look. */
  state: SequentialState;
  /** Mean of the candidate side, null before its first row. */
  candidateMean: number | null;
  /** Mean of the reference side, or the fixed reference value; null before its first row. */
  referenceMean: number | null;
  /**
   * How much worse the candidate is, in the metric's units (positive = worse): reference −
   * candidate when higher is better, candidate − reference otherwise. Null until both sides have rows.
   */
  worsening: number | null;
  /** Plug-in standard error of `worsening`. */
  standardError: number | null;
  /**
   * Confidence-sequence bounds of the worsening at one-sided level α each (together a 1 − 2α
   * sequence), intersected over the looks: with probability ≥ 1 − α the true worsening is never
   * below `lower`, whenever one looks.
   */
  lower: number | null;
  upper: number | null;
  /** Always-valid p-value of "worse by at most margin" (running minimum over the looks). */
  pValue: number;
  /** log of this look's e-value (the one-sided mixture at the margin); null when no test was possible. */
  logE: number | null;
  /** pValue ≤ α: the candidate is worse by more than the margin (equivalently, lower > margin). */
  rejected: boolean;
  /** Information 1 / Var(worsening) (0 when no test was possible). */
  information: number;
  /** Why this look could not test yet (too few rows, no spread), when it could not. */
  pending?: string;
}

/** The state before the first look. */
export function createSequentialState(): SequentialState {
  return { candidate: { ...EMPTY_MEAN_STATS }, reference: { ...EMPTY_MEAN_STATS }, looks: 0, pValue: 1, lower: null, upper: null };
}

function resolve(opts: SequentialTestOptions, fn: string): { alpha: number; rho: number; sign: number } {
  if (opts === null || typeof opts !== 'object' || typeof opts.higherIsBetter !== 'boolean') throw new MlRangeError(`${fn}: option higherIsBetter must be true or false`);
  assertOption(opts.margin, (m) => m >= 0 && Number.isFinite(m), fn, 'margin', 'a finite number >= 0');
  const alpha = opts.alpha ?? 0.05;
  assertOption(alpha, (a) => a > 0 && a < 0.5, fn, 'alpha', 'in (0, 0.5)');
  const tau = opts.tau ?? (opts.margin > 0 ? opts.margin : undefined);
  if (tau === undefined) throw new MlRangeError(`${fn}: option tau is required when margin is 0`);
  assertOption(tau, (t) => t > 0 && Number.isFinite(t), fn, 'tau', 'a finite number > 0');
  if (opts.variance !== undefined && opts.variance !== 'sample' && opts.variance !== 'bernoulli') throw new MlRangeError(`${fn}: option variance is ${String(opts.variance)}, expected sample or bernoulli`);
  return { alpha, rho: 1 / (tau * tau), sign: opts.higherIsBetter ? -1 : 1 };
}

/** Per-row variance of one side, or a sentence saying why there is none yet. */
function rowVariance(s: MeanStats, kind: SequentialTestOptions['variance'], side: string): number | string {
  if (s.n < 2) return `fewer than 2 rows on the ${side} side`;
  if (kind === 'bernoulli') {
    if (s.mean < 0 || s.mean > 1) throw new MlRangeError(`sequentialLook: ${side} mean ${s.mean} is not a share of 0/1 rows (variance: bernoulli)`);
    const p = (s.mean * s.n + 1) / (s.n + 2);
    return p * (1 - p);
  }
  return sampleVariance(s) ?? 0;
}

/**
 * One look of the always-valid test at the totals so far.
 *
 * Method. The worsening estimate D = ±(mean_candidate − mean_reference) has variance
 * Var = σ²_c/n_c + σ²_r/n_r (σ²_r = 0 for a fixed reference value), with plug-in per-row
 * variances. With information I = 1/Var, S = (D − margin)·I is, at the null's boundary and with
 * nested samples (either side may grow, or stop growing, as a warm-up reference does), a
 * Gaussian process with independent increments in I — Brownian motion in information time
 * (the canonical joint distribution, Jennison & Turnbull 2000, ch. 11). The one-sided normal
 * mixture of Howard, Ramdas, McAuliffe & Sekhon (2021) over S with ρ = 1/τ² is then a
 * nonnegative supermartingale under "worsening ≤ margin" (smaller worsenings only lower it), so
 * p = min over looks of 1/E stays valid at any look, and the bounds D ∓ u(I)/I (u: the one-sided
 * boundary at α) form a confidence sequence. This is the mSPRT of Johari, Pekelis & Walsh (2022)
 * made one-sided with a margin. With plug-in variances the guarantee is asymptotic (Waudby-Smith
 * et al. 2024, "Time-uniform central limit theory"); the simulations in sequential-sim.test.ts and
 * bench/sequential.ts measure it at realistic sizes.
 *
 * @param prev - the state after the previous look ({@link createSequentialState} at first).
 * @param totals - all rows so far: the candidate's, and the reference's rows or a fixed value.
 * @param opts - see {@link SequentialTestOptions}; the same at every look.
 */
export function sequentialLook(prev: SequentialState, totals: { candidate: MeanStats; reference: MeanStats | number }, opts: SequentialTestOptions): SequentialResult {
  const { alpha, rho, sign } = resolve(opts, 'sequentialLook');
  checkStats(totals.candidate, 'sequentialLook', 'candidate');
  const fixed = typeof totals.reference === 'number';
  if (fixed) assertOption(totals.reference as number, Number.isFinite, 'sequentialLook', 'reference', 'a finite number');
  else checkStats(totals.reference as MeanStats, 'sequentialLook', 'reference');
  const candidate: MeanStats = { n: totals.candidate.n, mean: totals.candidate.mean, m2: totals.candidate.m2 };
  const reference: MeanStats = fixed ? { n: 0, mean: 0, m2: 0 } : { n: (totals.reference as MeanStats).n, mean: (totals.reference as MeanStats).mean, m2: (totals.reference as MeanStats).m2 };
  const referenceMean = fixed ? (totals.reference as number) : reference.n > 0 ? reference.mean : null;
  const candidateMean = candidate.n > 0 ? candidate.mean : null;
  const worsening = candidateMean !== null && referenceMean !== null ? sign * (candidateMean - referenceMean) : null;
  const state: SequentialState = { candidate, reference, looks: prev.looks, pValue: prev.pValue, lower: prev.lower, upper: prev.upper };
  const look: SequentialResult = { state, candidateMean, referenceMean, worsening, standardError: null, lower: prev.lower, upper: prev.upper, pValue: prev.pValue, logE: null, rejected: prev.pValue <= alpha, information: 0 };

  const vc = rowVariance(candidate, opts.variance, 'candidate');
  if (typeof vc === 'string') return pending(look, vc);
  let variance = vc / candidate.n;
  if (!fixed) {
    const vr = rowVariance(reference, opts.variance, 'reference');
    if (typeof vr === 'string') return pending(look, vr);
    variance += vr / reference.n;
  }
  if (!(variance > 0) || worsening === null) return pending(look, 'no spread in the rows yet (every row has the same value)');
  const information = 1 / variance;
  const logE = normalMixtureLogE((worsening - opts.margin) * information, information, rho, { oneSided: true });
  const half = normalMixtureBound(information, alpha, rho, { oneSided: true }) / information;
  state.looks = prev.looks + 1;
  state.pValue = Math.min(prev.pValue, Math.exp(-logE), 1);
  state.lower = Math.max(prev.lower ?? -Infinity, worsening - half);
  state.upper = Math.min(prev.upper ?? Infinity, worsening + half);
  look.standardError = Math.sqrt(variance);
  look.logE = logE;
  look.information = information;
  look.lower = state.lower;
  look.upper = state.upper;
  look.pValue = state.pValue;
  look.rejected = state.pValue <= alpha;
  return look;
}

function pending(look: SequentialResult, why: string): SequentialResult {
  look.pending = why;
  return look;
}

/**
 * One-sample test: is the mean of the candidate's per-row values (correctness, log loss…) worse
 * than a fixed reference value by more than the margin? Adds `rows` to the totals kept in
 * `prev` and looks (see {@link sequentialLook}).
 * @param prev - the previous state, or {@link createSequentialState}().
 * @param rows - the new rows' statistics (may be empty: a look without new data).
 * @param reference - the reference value in the metric's units (e.g. accuracy 0.8).
 */
export function oneSampleSequential(prev: SequentialState, rows: MeanStats, reference: number, opts: SequentialTestOptions): SequentialResult {
  checkStats(rows, 'oneSampleSequential', 'rows');
  return sequentialLook(prev, { candidate: mergeMeanStats(prev.candidate, rows), reference }, opts);
}

/**
 * Two-sample test: is the candidate worse than the reference (a champion, or the model's own
 * warm-up rows) by more than the margin? Adds each side's new rows to the totals in `prev` and
 * looks (see {@link sequentialLook}). Either side may get no rows at a look; a reference that
 * stops growing (a warm-up) is fine.
 * @param prev - the previous state, or {@link createSequentialState}().
 * @param rows - new rows of either side.
 */
export function twoSampleSequential(prev: SequentialState, rows: { candidate?: MeanStats; reference?: MeanStats }, opts: SequentialTestOptions): SequentialResult {
  if (rows.candidate) checkStats(rows.candidate, 'twoSampleSequential', 'rows.candidate');
  if (rows.reference) checkStats(rows.reference, 'twoSampleSequential', 'rows.reference');
  const candidate = rows.candidate ? mergeMeanStats(prev.candidate, rows.candidate) : prev.candidate;
  const reference = rows.reference ? mergeMeanStats(prev.reference, rows.reference) : prev.reference;
  return sequentialLook(prev, { candidate, reference }, opts);
}

/**
 * Half-width of a one-sided always-valid bound for an asymptotically normal estimate with
 * standard error `standardError`: the normal-mixture boundary (one-sided, level `alpha`, mixing
 * standard deviation `tau`) in information time I = 1/se², divided by I. Used in place of
 * z_α·se when the same growing sample is looked at again and again (a rollout step analysed every
 * tick): estimate ± this half-width is a confidence sequence, valid at every look (asymptotically,
 * as {@link sequentialLook}), where estimate ± z_α·se is valid at one look only. It is wider, by
 * about 1.7–2× at typical sizes. 0 for a standard error of 0.
 * @param standardError - the estimate's standard error at this look, ≥ 0.
 * @param alpha - one-sided level in (0, 0.5).
 * @param tau - mixing standard deviation in the estimate's units (> 0): effects of about this size are resolved soonest.
 */
export function alwaysValidHalfWidth(standardError: number, alpha: number, tau: number): number {
  assertOption(standardError, (s) => s >= 0 && Number.isFinite(s), 'alwaysValidHalfWidth', 'standardError', 'a finite number >= 0');
  assertOption(alpha, (a) => a > 0 && a < 0.5, 'alwaysValidHalfWidth', 'alpha', 'in (0, 0.5)');
  assertOption(tau, (t) => t > 0 && Number.isFinite(t), 'alwaysValidHalfWidth', 'tau', 'a finite number > 0');
  if (standardError === 0) return 0;
  const information = 1 / (standardError * standardError);
  return normalMixtureBound(information, alpha, 1 / (tau * tau), { oneSided: true }) / information;
}
