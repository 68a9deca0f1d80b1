/**
 * Full-batch Newton fitting of a linear model: logistic regression (cross-entropy, IRLS) or a
 * linear regression (mean squared error, which Newton solves in one step). On the data Refit
 * usually retrains on (thousands of rows, tens of columns) this costs what the arithmetic costs —
 * a few milliseconds per pass — where mini-batch Adam pays tfjs's fixed cost per batch for 50
 * epochs. Plain Float64 JavaScript: deterministic, so the same inputs give bit-identical weights on
 * every backend.
 *
 * The objective is tfjs's, so either solver reports comparable losses:
 *   L(w, b) = (1/n) Σ sᵢ ℓ(yᵢ, xᵢ·w + b) + l2 · ‖w‖²
 * with sᵢ the class weight of row i (1 when unweighted) and no penalty on the bias.
 */

/** The probability clip tfjs applies in binary cross-entropy (its epsilon). */
const EPS = 1e-7;
/** Armijo constant of the backtracking line search. */
const ARMIJO = 1e-4;
/** Halvings of the Newton step before the search gives up on a direction. */
const MAX_HALVINGS = 40;
/** The Newton decrement (gᵀH⁻¹g / 2) below which the fit has converged. */
const DECREMENT_TOL = 1e-12;

/** A linear model's parameters: `w` (d kernel weights) and the bias. */
export type LinearParams = { w: Float64Array; b: number };

/** What {@link newtonStep} and {@link linearLoss} need. */
export type LinearProblem = {
  /** Row-major n × d. */
  X: Float32Array;
  y: Float32Array;
  n: number;
  d: number;
  /** `binary`: sigmoid output and cross-entropy; `regression`: identity output and mean squared error. */
  head: 'binary' | 'regression';
  l2: number;
  /** Per-row loss weights (class weights), or undefined for 1 each. */
  rowWeights?: Float64Array;
};

/** The outcome of one Newton iteration. */
export type NewtonStep = {
  params: LinearParams;
  /** The objective at `params`. */
  loss: number;
  /** True when the Newton decrement is negligible (or no step lowers the loss): more passes change nothing. */
  converged: boolean;
};

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function margin(X: Float32Array, i: number, d: number, p: LinearParams): number {
  let z = p.b;
  const o = i * d;
  for (let j = 0; j < d; j++) z += X[o + j] * p.w[j];
  return z;
}

function rowLoss(head: LinearProblem['head'], y: number, z: number): number {
  if (head === 'regression') return (z - y) ** 2;
  const p = Math.min(Math.max(sigmoid(z), EPS), 1 - EPS);
  return -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
}

function penalty(p: LinearParams, l2: number): number {
  if (l2 === 0) return 0;
  let s = 0;
  for (const v of p.w) s += v * v;
  return l2 * s;
}

/** The objective (mean weighted loss plus the L2 penalty) of `params` on the problem's rows. */
export function linearLoss(prob: LinearProblem, params: LinearParams): number {
  const { X, y, n, d, head, rowWeights } = prob;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (rowWeights ? rowWeights[i] : 1) * rowLoss(head, y[i], margin(X, i, d, params));
  return sum / n + penalty(params, prob.l2);
}

/**
 * Solves H x = g in place for a symmetric positive-definite H (k × k, row-major) by Cholesky;
 * a matrix that is not numerically positive definite gets a growing ridge until it is.
 */
function solveSpd(H: Float64Array, g: Float64Array, k: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < k; i++) trace += H[i * k + i];
  let ridge = 0;
  for (let attempt = 0; attempt < 30; attempt++) {
    const L = new Float64Array(k * k);
    let ok = true;
    for (let i = 0; i < k && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let s = H[i * k + j] + (i === j ? ridge : 0);
        for (let m = 0; m < j; m++) s -= L[i * k + m] * L[j * k + m];
        if (i === j) {
          if (!(s > 0) || !Number.isFinite(s)) {
            ok = false;
            break;
          }
          L[i * k + i] = Math.sqrt(s);
        } else {
          L[i * k + j] = s / L[j * k + j];
        }
      }
    }
    if (ok) {
      const x = Float64Array.from(g);
      for (let i = 0; i < k; i++) {
        let s = x[i];
        for (let m = 0; m < i; m++) s -= L[i * k + m] * x[m];
        x[i] = s / L[i * k + i];
      }
      for (let i = k - 1; i >= 0; i--) {
        let s = x[i];
        for (let m = i + 1; m < k; m++) s -= L[m * k + i] * x[m];
        x[i] = s / L[i * k + i];
      }
      return x;
    }
    ridge = ridge === 0 ? Math.max(1e-12, (1e-10 * trace) / k) : ridge * 10;
  }
  // Unreachable for finite inputs: a ridge of 10^19 × the mean diagonal is positive definite.
  throw new Error('newton: the Hessian could not be factorised');
}

/**
 * One damped Newton iteration from `params`: gradient and Hessian of the objective over all rows,
 * the Newton direction, and a backtracking line search that never raises the objective.
 */
export function newtonStep(prob: LinearProblem, params: LinearParams, loss = linearLoss(prob, params)): NewtonStep {
  const { X, y, n, d, head, l2, rowWeights } = prob;
  const k = d + 1;
  const g = new Float64Array(k);
  const H = new Float64Array(k * k);
  const xi = new Float64Array(k);
  xi[d] = 1;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) xi[j] = X[o + j];
    const z = margin(X, i, d, params);
    const s = rowWeights ? rowWeights[i] : 1;
    let r: number;
    let c: number;
    if (head === 'binary') {
      const p = sigmoid(z);
      r = s * (p - y[i]);
      c = s * p * (1 - p);
    } else {
      r = 2 * s * (z - y[i]);
      c = 2 * s;
    }
    for (let a = 0; a < k; a++) {
      const xa = xi[a];
      g[a] += r * xa;
      const ca = c * xa;
      // Lower triangle only; mirrored below.
      for (let b2 = 0; b2 <= a; b2++) H[a * k + b2] += ca * xi[b2];
    }
  }
  for (let a = 0; a < k; a++) {
    g[a] /= n;
    for (let b2 = 0; b2 <= a; b2++) {
      H[a * k + b2] /= n;
      H[b2 * k + a] = H[a * k + b2];
    }
  }
  for (let j = 0; j < d; j++) {
    g[j] += 2 * l2 * params.w[j];
    H[j * k + j] += 2 * l2;
  }
  const dir = solveSpd(H, g, k);
  let slope = 0;
  for (let a = 0; a < k; a++) slope += g[a] * dir[a];
  if (!(slope / 2 > DECREMENT_TOL)) return { params, loss, converged: true };
  let t = 1;
  for (let h = 0; h < MAX_HALVINGS; h++, t /= 2) {
    const next: LinearParams = { w: new Float64Array(d), b: params.b - t * dir[d] };
    for (let j = 0; j < d; j++) next.w[j] = params.w[j] - t * dir[j];
    const nextLoss = linearLoss(prob, next);
    if (nextLoss <= loss - ARMIJO * t * slope) return { params: next, loss: nextLoss, converged: false };
  }
  // No step along the Newton direction lowers the objective measurably: at the optimum to
  // within floating-point precision.
  return { params, loss, converged: true };
}

/** Rough multiply-adds of one Newton pass (the Hessian dominates): what {@link newtonFits} bounds. */
export function newtonCost(n: number, d: number): number {
  return n * (d + 1) * (d + 2);
}

/**
 * Whether Newton is the cheaper solver for a problem of this size: its pass costs n·d² against
 * Adam's n·d per epoch but with a fixed cost per mini-batch that dominates below a few hundred
 * columns. Above ~2·10⁸ multiply-adds a pass (10,000 rows × 140 columns) Adam's batches win.
 */
export function newtonFits(n: number, d: number): boolean {
  return d <= 512 && newtonCost(n, d) <= 2e8;
}

/**
 * The smallest L2 Newton fits a logistic model with (per mean loss): 1/(2n), scikit-learn's
 * default C = 1. It keeps weights finite on separable data and is negligible otherwise.
 */
export function newtonRidge(n: number): number {
  return 1 / (2 * n);
}
