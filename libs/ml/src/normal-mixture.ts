// Normal-mixture uniform boundaries (Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021, §3.2)
// and the mixture SPRT of Johari, Pekelis & Walsh (2022), which is the same martingale.
//
// Notation of Howard et al.: S_t is a sum whose increments are sub-Gaussian given the past with
// variance process V_t ("intrinsic time" v). Mixing exp(λ S − λ² v / 2) over λ ~ N(0, 1/ρ) gives
// the two-sided mixture; over λ ≥ 0 with twice that density, the one-sided one. Both are
// nonnegative supermartingales with initial value 1, so by Ville's inequality they exceed 1/α
// with probability at most α — at any time, however often one looks.
import { normalCdf } from './special/gamma.js';
import { assertOption } from './validate.js';

const HALF_LOG_2PI = 0.9189385332046727;

/** Options shared by the normal-mixture functions. */
export interface NormalMixtureOptions {
  /**
   * One-sided (default): mixes over λ ≥ 0 only and bounds S_t from above. Two-sided: bounds
   * |S_t|.
   */
  oneSided?: boolean;
}

/**
 * log Φ(x), accurate in the far lower tail (an asymptotic series below −30, where Φ underflows
 * towards the smallest doubles).
 */
export function logNormalCdf(x: number): number {
  if (x > -30) return Math.log(normalCdf(x));
  const r = 1 / (x * x);
  // Φ(x) = φ(x)/|x| · (1 − 1/x² + 3/x⁴ − 15/x⁶ + …); the omitted terms are below 1e-14 here.
  return -0.5 * x * x - Math.log(-x) - HALF_LOG_2PI + Math.log1p(-r * (1 - r * (3 - 15 * r)));
}

function checkRho(rho: number, fn: string): void {
  assertOption(rho, (r) => r > 0 && Number.isFinite(r), fn, 'rho', 'a finite number > 0');
}

/**
 * The mixing precision ρ that makes the boundary tightest at intrinsic time `vOpt` for crossing
 * probability `alpha` (Howard et al. 2021; confseq's `best_rho`): ρ = v / (2 log(1/α) +
 * log(1 + 2 log(1/α))), with 2α in place of α for the one-sided mixture.
 * @param vOpt - intrinsic time (variance process) at which the boundary should be tightest, > 0.
 * @param alpha - crossing probability in (0, 1) (one-sided: in (0, 0.5)).
 */
export function normalMixtureBestRho(vOpt: number, alpha: number, opts: NormalMixtureOptions = {}): number {
  const oneSided = opts.oneSided ?? true;
  assertOption(vOpt, (v) => v > 0 && Number.isFinite(v), 'normalMixtureBestRho', 'vOpt', 'a finite number > 0');
  assertOption(alpha, (a) => a > 0 && a < (oneSided ? 0.5 : 1), 'normalMixtureBestRho', 'alpha', oneSided ? 'in (0, 0.5)' : 'in (0, 1)');
  const l = Math.log(1 / (oneSided ? 2 * alpha : alpha));
  return vOpt / (2 * l + Math.log(1 + 2 * l));
}

/**
 * log of the normal-mixture supermartingale at sum `s` and intrinsic time `v` — the log e-value
 * of "no drift" (Howard et al. 2021, §3.2):
 * - two-sided: ½ log(ρ / (v + ρ)) + s² / (2 (v + ρ)) (this is log Λ of the mSPRT);
 * - one-sided: ½ log(4ρ / (v + ρ)) + s² / (2 (v + ρ)) + log Φ(s / √(v + ρ)), increasing in s.
 * @param s - the centred sum S_t (in information units: (estimate − null) × information).
 * @param v - intrinsic time V_t ≥ 0 (in information units: 1 / Var(estimate)).
 * @param rho - mixing precision ρ > 0 (1/τ² for a N(0, τ²) mixture over the effect).
 */
export function normalMixtureLogE(s: number, v: number, rho: number, opts: NormalMixtureOptions = {}): number {
  checkRho(rho, 'normalMixtureLogE');
  assertOption(v, (x) => x >= 0 && Number.isFinite(x), 'normalMixtureLogE', 'v', 'a finite number >= 0');
  assertOption(s, Number.isFinite, 'normalMixtureLogE', 's', 'a finite number');
  const c = v + rho;
  const quad = (s * s) / (2 * c);
  if (!(opts.oneSided ?? true)) return 0.5 * Math.log(rho / c) + quad;
  return 0.5 * Math.log((4 * rho) / c) + quad + logNormalCdf(s / Math.sqrt(c));
}

/**
 * The normal-mixture uniform boundary u(v): P(∃t: S_t ≥ u(V_t)) ≤ α (one-sided), or
 * P(∃t: |S_t| ≥ u(V_t)) ≤ α (two-sided). Two-sided in closed form, √((v + ρ)(log(1 + v/ρ) +
 * 2 log(1/α))); one-sided the root of {@link normalMixtureLogE} = log(1/α), found by safeguarded
 * Newton steps from the two-sided boundary at 2α (which lies just below it; ~4 steps).
 * @param v - intrinsic time ≥ 0.
 * @param alpha - crossing probability in (0, 1).
 * @param rho - mixing precision ρ > 0.
 */
export function normalMixtureBound(v: number, alpha: number, rho: number, opts: NormalMixtureOptions = {}): number {
  checkRho(rho, 'normalMixtureBound');
  assertOption(v, (x) => x >= 0 && Number.isFinite(x), 'normalMixtureBound', 'v', 'a finite number >= 0');
  assertOption(alpha, (a) => a > 0 && a < 1, 'normalMixtureBound', 'alpha', 'in (0, 1)');
  const c = v + rho;
  const logThreshold = Math.log(1 / alpha);
  if (!(opts.oneSided ?? true)) return Math.sqrt(c * (Math.log(1 + v / rho) + 2 * logThreshold));
  const sqrtC = Math.sqrt(c);
  const offset = 0.5 * Math.log((4 * rho) / c) - logThreshold;
  // f(s) = log E − log(1/α) is increasing with f(0) < 0. Newton from the two-sided boundary at
  // 2α (just below the root), kept inside the bracket [lo, hi] that the iterates establish.
  let lo = 0;
  let hi = Infinity;
  let s = Math.sqrt(c * Math.max(Math.log(1 + v / rho) + 2 * Math.log(1 / (2 * alpha)), 0));
  for (let i = 0; i < 200; i++) {
    const x = s / sqrtC;
    const logPhi = logNormalCdf(x);
    const fs = offset + (s * s) / (2 * c) + logPhi;
    if (fs === 0) return s;
    if (fs < 0) lo = s;
    else hi = s;
    const slope = s / c + Math.exp(-0.5 * x * x - HALF_LOG_2PI - logPhi) / sqrtC;
    let next = s - fs / slope;
    if (!(next > lo && next < hi)) next = hi === Infinity ? 2 * s + sqrtC : (lo + hi) / 2;
    // Newton converges quadratically: once a step is this small, the error left is far below it.
    if (Math.abs(next - s) <= 1e-12 * Math.max(1, s)) return next;
    s = next;
  }
  return s;
}

/** Inputs of {@link msprt}, in the parameterization of Johari, Pekelis & Walsh (2022). */
export interface MsprtInput {
  /** Observations (pairs, in the two-sample case) so far, ≥ 1. */
  n: number;
  /** The running estimate of the effect (mean, or difference of means). */
  estimate: number;
  /** The null value θ₀. */
  theta0: number;
  /** Variance V of one observation (two-sample with equal sizes: σ²_A + σ²_B), > 0. */
  variance: number;
  /** Mixing standard deviation τ > 0 of the effect under the alternative, in the estimate's units. */
  tau: number;
}

/**
 * The mixture sequential probability ratio test (mSPRT) of Johari, Pekelis & Walsh (2022),
 * "Always valid inference": Λₙ = √(V / (V + nτ²)) · exp(n²τ² (θ̂ₙ − θ₀)² / (2V (V + nτ²))), the
 * two-sided normal mixture with information v = n/V, s = (θ̂ₙ − θ₀)·v and ρ = 1/τ². Reject θ₀
 * when Λₙ ≥ 1/α; the always-valid p-value of a sequence of looks is the running minimum of
 * 1/Λ (capped at 1).
 * @returns log Λₙ and 1/Λₙ capped at 1 (this look's p-value; take the running minimum).
 */
export function msprt(input: MsprtInput): { logLikelihoodRatio: number; pValue: number } {
  const { n, estimate, theta0, variance, tau } = input;
  assertOption(n, (x) => x >= 1 && Number.isFinite(x), 'msprt', 'n', 'a finite number >= 1');
  assertOption(variance, (x) => x > 0 && Number.isFinite(x), 'msprt', 'variance', 'a finite number > 0');
  assertOption(tau, (x) => x > 0 && Number.isFinite(x), 'msprt', 'tau', 'a finite number > 0');
  assertOption(estimate, Number.isFinite, 'msprt', 'estimate', 'a finite number');
  assertOption(theta0, Number.isFinite, 'msprt', 'theta0', 'a finite number');
  const v = n / variance;
  const logLikelihoodRatio = normalMixtureLogE((estimate - theta0) * v, v, 1 / (tau * tau), { oneSided: false });
  return { logLikelihoodRatio, pValue: Math.min(1, Math.exp(-logLikelihoodRatio)) };
}
