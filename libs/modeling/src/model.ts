import { ensureBackend } from './backend.js';
import type { EpochLog } from './epoch-log.js';
import { ModelingInputError } from './errors.js';
import { encodeModel } from './model-format.js';
import type { ModelHeader } from './model-format.js';
import { architectureOf, resolveModelSpec } from './model-spec.js';
import type { ResolvedModelSpec } from './model-spec.js';
import { denseForward, denseForwardOf, type DenseForward } from './dense-forward.js';
import { buildNet, loadNet, lossOf, warmStartFrom } from './net.js';
import { linearLoss, newtonFits, newtonRidge, newtonStep } from './newton.js';
import type { LinearParams, LinearProblem } from './newton.js';
import { mulberry32, shuffleInPlace } from './random.js';
import type { ModelSpec } from './spec.js';
import { tf } from './tf.js';
import type { tfl } from './tf.js';
import { TrainingDivergedError } from './training-errors.js';

export type { EpochLog } from './epoch-log.js';

/** A trained (or loaded) model: a binary classifier, or a regressor with a `regression` head. */
export type TrainedModel = {
  /**
   * Probabilities of the positive class (regression head: predicted values) for `n` rows of the row-major matrix `X` (n × inputDim).
   * Synchronous, so concurrent callers never interleave; cheap for 1 row and for thousands.
   * @throws ModelingInputError when `X.length !== n * inputDim`; Error after dispose().
   */
  predict(X: Float32Array, n: number): Float32Array;
  /** The single-buffer artifact (`REFITM1` header + topology/weight-spec JSON + raw weights) for {@link loadModel}. */
  serialize(): Promise<Buffer>;
  /** Frees the weights; idempotent. The model is unusable afterwards. */
  dispose(): void;
  /** Number of input columns (the fitted transform's `outputNames.length`). */
  readonly inputDim: number;
  /** The spec it was trained with, every default filled in. */
  readonly spec: ResolvedModelSpec;
};


/** What {@link trainModel} needs. */
export type TrainInput = {
  /** Row-major training matrix, n × d (output of `applyTransform`). */
  X: Float32Array;
  /** Labels, 0 or 1 (output of `labelsOf`); any finite number for a regression head. */
  y: Float32Array;
  n: number;
  d: number;
  spec: ModelSpec;
  /** Optional held-out rows; their loss is reported per epoch as `valLoss` (never trained on). */
  validation?: { X: Float32Array; y: Float32Array; n: number };
  /** A serialized model to continue from; must have the same architecture and input width. */
  warmStart?: Uint8Array;
  /** Called after every epoch; awaited, so it may report progress or checkpoint. */
  onEpoch?: (e: EpochLog) => void | Promise<void>;
  /** Stops training between epochs (and at tfjs yield points within long epochs). */
  signal?: AbortSignal;
  /**
   * Time budget: a wall-clock instant (ms since the epoch, like `Date.now()`) after which no new
   * epoch starts; the result then says `stopReason: 'budget'`. Default: none.
   */
  deadline?: number;
};

/**
 * Why training ended: all epochs ran, the solver converged (Newton: more passes would not change
 * the weights), early stopping fired, or the time budget ran out.
 */
export type StopReason = 'completed' | 'converged' | 'early-stopped' | 'budget';

/** What {@link trainModel} returns. */
export type TrainResult = {
  model: TrainedModel;
  /** Number of epochs completed (spec epochs unless early stopping or the time budget ended it). */
  epochs: number;
  history: EpochLog[];
  stopReason: StopReason;
  /** 1-based epoch with the lowest monitored loss (validation loss when there is a validation set, else training loss). */
  bestEpoch: number;
  /** That lowest monitored loss; the returned weights are this epoch's when early stopping restores the best. */
  bestLoss: number;
  /** Backend the training ran on (`tensorflow`, `wasm` or `cpu`). */
  backend: string;
  /** Milliseconds spent in tensor computation (excludes onEpoch callbacks). */
  computeMs: number;
  /** How the weights were fitted: full-batch Newton or mini-batch Adam ({@link solverFor}). */
  solver: 'newton' | 'adam';
};

function freezeSpec(spec: ResolvedModelSpec): ResolvedModelSpec {
  Object.freeze(spec.hidden);
  return Object.freeze(spec);
}

class RefitModel implements TrainedModel {
  #net: tfl.LayersModel | undefined;
  /** The JavaScript scorer of a small dense model, built on first use; null: tfjs scores it. */
  #forward: DenseForward | null | undefined;
  readonly inputDim: number;
  readonly spec: ResolvedModelSpec;

  constructor(net: tfl.LayersModel, spec: ResolvedModelSpec, inputDim: number) {
    this.#net = net;
    this.spec = freezeSpec(spec);
    this.inputDim = inputDim;
  }

  #live(): tfl.LayersModel {
    if (this.#net === undefined) throw new Error('model has been disposed');
    return this.#net;
  }

  predict(X: Float32Array, n: number): Float32Array {
    const net = this.#live();
    const d = this.inputDim;
    if (!Number.isInteger(n) || n < 0 || X.length !== n * d) {
      throw new ModelingInputError(`predict: X has ${X.length} values, expected n (${n}) × inputDim (${d}) = ${n * d}`);
    }
    if (n === 0) return new Float32Array(0);
    if (this.#forward === undefined) this.#forward = denseForwardOf(net) ?? null;
    if (this.#forward) return denseForward(this.#forward, X, n);
    return tf.tidy(() => {
      // predictOnBatch runs all rows in one pass; predict() would split into batches of 32.
      const out = net.predictOnBatch(tf.tensor2d(X, [n, d])) as tf.Tensor;
      // Copy: on some backends dataSync hands back the tensor's own storage.
      return Float32Array.from(out.dataSync());
    });
  }

  async serialize(): Promise<Buffer> {
    const net = this.#live();
    let saved: tf.io.ModelArtifacts | undefined;
    await net.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (saved?.modelTopology == null || saved.weightSpecs == null || saved.weightData == null) {
      throw new Error('tfjs did not produce model artifacts');
    }
    const header: ModelHeader = {
      spec: this.spec,
      inputDim: this.inputDim,
      modelTopology: saved.modelTopology as Record<string, unknown>,
      weightSpecs: saved.weightSpecs.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' as const })),
      generatedBy: saved.generatedBy,
    };
    return encodeModel(header, tf.io.CompositeArrayBuffer.join(saved.weightData));
  }

  dispose(): void {
    this.#net?.dispose();
    this.#net = undefined;
  }
}

/**
 * Loads a model written by `TrainedModel.serialize()`. Initialises the default backend if
 * `initBackend` was not called.
 * @throws ModelingInputError when the bytes are not a valid Refit model artifact.
 */
export async function loadModel(buf: Uint8Array): Promise<TrainedModel> {
  const { net, header } = await loadNet(buf);
  return new RefitModel(net, header.spec, header.inputDim);
}

function checkInput(input: TrainInput, head: ResolvedModelSpec['head']): void {
  const { X, y, n, d } = input;
  if (!Number.isInteger(n) || n < 1) throw new ModelingInputError(`train: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(d) || d < 1) throw new ModelingInputError(`train: d must be a positive integer, got ${d}`);
  const labelOk = head === 'binary' ? (v: number) => v >= 0 && v <= 1 : (v: number) => Number.isFinite(v);
  const expected = head === 'binary' ? 'expected 0..1' : 'expected a finite number';
  const checkSet = (what: string, Xs: Float32Array, ys: Float32Array, rows: number): void => {
    if (Xs.length !== rows * d) throw new ModelingInputError(`train: ${what} X has ${Xs.length} values, expected ${rows} × ${d}`);
    if (ys.length !== rows) throw new ModelingInputError(`train: ${what} y has ${ys.length} labels, expected ${rows}`);
    for (let k = 0; k < Xs.length; k++) {
      if (!Number.isFinite(Xs[k])) {
        const row = Math.floor(k / d);
        throw new ModelingInputError(`train: ${what} X row ${row} column ${k % d} is ${Xs[k]}`, { row, value: Xs[k] });
      }
    }
    for (let i = 0; i < rows; i++) {
      if (!labelOk(ys[i])) throw new ModelingInputError(`train: ${what} label at row ${i} is ${ys[i]}, ${expected}`, { row: i, value: ys[i] });
    }
  };
  checkSet('training', X, y, n);
  if (input.validation) {
    const v = input.validation;
    if (!Number.isInteger(v.n) || v.n < 1) throw new ModelingInputError(`train: validation n must be a positive integer, got ${v.n}`);
    checkSet('validation', v.X, v.y, v.n);
  }
}

/** tfjs's class-weight map ({0: w0, 1: w1}) for a binary spec, or undefined when unweighted. */
function classWeightsOf(spec: ResolvedModelSpec, y: Float32Array): Record<number, number> | undefined {
  const cw = spec.classWeight;
  if (cw === 'none') return undefined;
  if (typeof cw === 'object') return { 0: cw.negative, 1: cw.positive };
  let pos = 0;
  for (const v of y) pos += v >= 0.5 ? 1 : 0;
  const neg = y.length - pos;
  // A class that is absent gets weight 1: there is nothing to rebalance against.
  return { 0: neg > 0 ? y.length / (2 * neg) : 1, 1: pos > 0 ? y.length / (2 * pos) : 1 };
}

/** A training loss this many times the loss of a trivial predictor means training diverged. */
export const DIVERGENCE_FACTOR = 3;

/**
 * The loss of the worse of two trivial predictors (the label mean, and a zero output — what an
 * untrained net gives), under the spec's loss. Cross-entropy clips probabilities, so an exploding
 * binary model saturates at a finite loss instead of NaN: this bound catches it.
 */
function trivialLoss(spec: ResolvedModelSpec, y: Float32Array): number {
  const n = y.length;
  const mean = y.reduce((a, v) => a + v, 0) / n;
  if (spec.loss === 'crossentropy') {
    const p = Math.min(Math.max(mean, 1e-7), 1 - 1e-7);
    return Math.max(Math.LN2, -(mean * Math.log(p) + (1 - mean) * Math.log(1 - p)));
  }
  let atMean = 0;
  let atZero = 0;
  for (const v of y) {
    atMean += spec.loss === 'mse' ? (v - mean) ** 2 : Math.abs(v - mean);
    atZero += spec.loss === 'mse' ? v * v : Math.abs(v);
  }
  return Math.max(atMean, atZero) / n;
}

/** The L2 penalty of the net's current kernels (what tfjs adds to the loss). */
function l2Penalty(net: tfl.LayersModel, l2: number): number {
  if (l2 === 0) return 0;
  return tf.tidy(() => {
    const kernels = net.trainableWeights.filter((w) => w.originalName.includes('/kernel')).map((w) => tf.sum(tf.square(w.read())));
    return l2 * tf.addN(kernels).dataSync()[0];
  });
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('training aborted', 'AbortError');
}

// Yield to the event loop so timers, I/O and abort requests are handled between epochs.
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Keeps the best epoch's weights (cheap: clones share storage until the optimizer replaces it). */
class BestWeights {
  #saved: tf.Tensor[] | undefined;
  keep(net: tfl.LayersModel): void {
    this.dispose();
    this.#saved = net.getWeights().map((w) => w.clone());
  }
  restore(net: tfl.LayersModel): void {
    if (this.#saved) net.setWeights(this.#saved);
  }
  dispose(): void {
    this.#saved?.forEach((t) => t.dispose());
    this.#saved = undefined;
  }
}

/** One pass of a solver: the epoch's losses, and whether more passes would change nothing. */
type Pass = { loss: number; valLoss?: number; converged?: boolean };

/** What the epoch loop needs from a solver. */
type Solver = {
  /** Runs one epoch (Adam: one shuffled pass of mini-batches; Newton: one full-batch iteration). */
  pass(epoch: number): Promise<Pass>;
  /** Remembers the current weights as the best so far. */
  keepBest(): void;
  /** Puts the remembered best weights back. */
  restoreBest(): void;
};

type Loop = Omit<TrainResult, 'model' | 'backend' | 'solver'>;

/**
 * The epoch loop both solvers share: abort and time budget between epochs, the history, the
 * divergence check, `onEpoch`, best-epoch tracking and early stopping with patience.
 */
async function runEpochs(input: TrainInput, spec: ResolvedModelSpec, divergedAbove: number, solver: Solver): Promise<Loop> {
  const { signal } = input;
  const es = spec.earlyStopping;
  const history: EpochLog[] = [];
  let computeMs = 0;
  let stopReason: StopReason = 'completed';
  let bestEpoch = 0;
  let bestLoss = Number.POSITIVE_INFINITY;
  let patienceRef = Number.POSITIVE_INFINITY;
  let lastImprovement = 0;
  for (let epoch = 1; epoch <= spec.epochs; epoch++) {
    await tick();
    if (signal?.aborted) throw abortError(signal);
    if (input.deadline !== undefined && epoch > 1 && Date.now() >= input.deadline) {
      stopReason = 'budget';
      break;
    }
    const started = performance.now();
    const pass = await solver.pass(epoch);
    computeMs += performance.now() - started;
    if (signal?.aborted) throw abortError(signal);
    const entry: EpochLog = { epoch, loss: pass.loss };
    if (pass.valLoss !== undefined) entry.valLoss = pass.valLoss;
    history.push(entry);
    if (!Number.isFinite(entry.loss) || (entry.valLoss !== undefined && !Number.isFinite(entry.valLoss)) || entry.loss > divergedAbove) {
      throw new TrainingDivergedError(epoch, history, spec.learningRate, divergedAbove);
    }
    await input.onEpoch?.(entry);
    const monitored = entry.valLoss ?? entry.loss;
    if (monitored < bestLoss) {
      bestLoss = monitored;
      bestEpoch = epoch;
      if (es?.restoreBest) solver.keepBest();
    }
    // Patience counts from the last improvement of at least minDelta (Keras's rule).
    if (monitored < patienceRef - (es?.minDelta ?? 0)) {
      patienceRef = monitored;
      lastImprovement = epoch;
    }
    if (pass.converged && epoch < spec.epochs) {
      stopReason = 'converged';
      break;
    }
    if (es && epoch - lastImprovement >= es.patience && epoch < spec.epochs) {
      stopReason = 'early-stopped';
      break;
    }
  }
  if (es?.restoreBest && bestEpoch < history.length) solver.restoreBest();
  return { epochs: history.length, history, computeMs, stopReason, bestEpoch, bestLoss };
}

/**
 * The solver a spec gets for data of n rows × d columns: `newton` for a linear model (logistic,
 * or a regression head with MSE) whose full-batch pass is cheap ({@link newtonFits}) when the spec
 * says `auto`; `adam` otherwise.
 * @throws ModelingInputError when the spec asks for newton where it does not apply.
 */
export function solverFor(spec: ResolvedModelSpec, n: number, d: number): 'newton' | 'adam' {
  const linear = spec.kind === 'logistic' && spec.loss !== 'mae';
  if (spec.solver === 'newton') {
    if (!linear) throw new ModelingInputError(`model spec: solver newton fits a logistic model with cross-entropy or MSE, not ${architectureOf(spec)} with ${spec.loss}; use solver adam or auto`);
    return 'newton';
  }
  if (spec.solver === 'adam') return 'adam';
  return linear && newtonFits(n, d) ? 'newton' : 'adam';
}

/** Mini-batch Adam through tfjs: the net's own fit, one shuffled epoch at a time. */
function adamSolver(input: TrainInput, spec: ResolvedModelSpec, net: tfl.LayersModel, val: [tf.Tensor, tf.Tensor] | undefined, best: BestWeights): Solver {
  const { n, d, signal } = input;
  const classWeight = spec.head === 'binary' ? classWeightsOf(spec, input.y) : undefined;
  const next = mulberry32(spec.seed);
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const xb = new Float32Array(n * d);
  const yb = new Float32Array(n);
  return {
    async pass() {
      shuffleInPlace(order, next);
      for (let i = 0; i < n; i++) {
        const src = order[i];
        xb.set(input.X.subarray(src * d, src * d + d), i * d);
        yb[i] = input.y[src];
      }
      const xs = tf.tensor2d(xb, [n, d]);
      const ys = tf.tensor2d(yb, [n, 1]);
      try {
        const h = await net.fit(xs, ys, {
          epochs: 1,
          batchSize: spec.batchSize,
          shuffle: false,
          verbose: 0,
          validationData: val,
          ...(classWeight ? { classWeight } : {}),
          // Checked at tfjs's periodic yield points, so a long epoch can be interrupted too.
          callbacks: {
            onYield: () => {
              if (signal?.aborted) net.stopTraining = true;
            },
          },
        });
        const logs = h.history;
        return { loss: Number(logs.loss[0]), ...(logs.val_loss ? { valLoss: Number(logs.val_loss[0]) } : {}) };
      } finally {
        xs.dispose();
        ys.dispose();
      }
    },
    keepBest: () => best.keep(net),
    restoreBest: () => best.restore(net),
  };
}

/** The net's kernel and bias as Float64 parameters (a linear net has exactly one layer). */
function linearParamsOf(net: tfl.LayersModel): LinearParams {
  const [kernel, bias] = net.getWeights();
  return { w: Float64Array.from(kernel.dataSync()), b: bias.dataSync()[0] };
}

/**
 * Full-batch Newton ({@link newtonStep}): one iteration per epoch, converged when the Newton
 * decrement vanishes. The weights live in Float64 between iterations and reach the net (as
 * float32, like every tfjs weight) after each one, so the net always holds the reported state.
 */
function newtonSolver(input: TrainInput, spec: ResolvedModelSpec, net: tfl.LayersModel): Solver {
  const cw = spec.head === 'binary' ? classWeightsOf(spec, input.y) : undefined;
  const rowWeights = cw ? Float64Array.from(input.y, (v) => (v >= 0.5 ? cw[1] : cw[0])) : undefined;
  // Fitted with at least a ridge of 1/(2n) (scikit-learn's default C = 1): the exact optimum of
  // an unpenalised logistic loss is at infinity on separable data (or a category whose rows all
  // share a label), and serving probabilities of exactly 0 or 1 is worse than Adam's finite epochs.
  const prob: LinearProblem = { X: input.X, y: input.y, n: input.n, d: input.d, head: spec.head, l2: spec.head === 'binary' ? Math.max(spec.l2, newtonRidge(input.n)) : spec.l2, rowWeights };
  // Reported losses are the spec's objective, comparable with Adam's: its own l2, and (like tfjs)
  // an unweighted validation loss (classWeight applies to training batches only).
  const report: LinearProblem = { ...prob, l2: spec.l2 };
  const v = input.validation;
  const valProb: LinearProblem | undefined = v ? { X: v.X, y: v.y, n: v.n, d: input.d, head: spec.head, l2: spec.l2 } : undefined;
  let params = linearParamsOf(net);
  let loss = linearLoss(prob, params);
  let best = params;
  const setNet = (p: LinearParams): void => {
    const weights = [tf.tensor2d(Float32Array.from(p.w), [input.d, 1]), tf.tensor1d([p.b])];
    net.setWeights(weights);
    weights.forEach((w) => w.dispose());
  };
  return {
    async pass() {
      const step = newtonStep(prob, params, loss);
      params = step.params;
      loss = step.loss;
      setNet(params);
      return { loss: prob.l2 === report.l2 ? loss : linearLoss(report, params), ...(valProb ? { valLoss: linearLoss(valProb, params) } : {}), converged: step.converged };
    },
    keepBest: () => {
      best = params;
    },
    restoreBest: () => {
      params = best;
      setNet(params);
    },
  };
}

/**
 * Trains a logistic regression (one output unit) or an MLP (hidden Dense layers, optional dropout)
 * with a binary head (sigmoid, cross-entropy, optional class weights) or a regression head (linear
 * output, MSE or MAE). Linear models on data whose full-batch pass is cheap are fitted by damped
 * Newton (IRLS) in Float64 — a handful of passes to the exact optimum of the same objective —
 * everything else by mini-batch Adam (see {@link solverFor}). Optional early stopping on the
 * validation loss with patience, restoring the best epoch's weights; an optional time budget
 * (`deadline`). Reproducible: Newton is deterministic arithmetic; Adam has seeded initialisers,
 * dropout and a seeded per-epoch shuffle (fit itself never shuffles), so the same inputs, spec and
 * backend give bit-identical weights (a time budget that fires is the exception).
 * Initialises the default backend if `initBackend` was not called. All tensors it creates are
 * disposed per epoch and on every exit path; only the returned model holds memory until its `dispose()`.
 * @throws TrainingDivergedError when a loss becomes NaN or infinite, or the training loss exceeds
 *   {@link DIVERGENCE_FACTOR}× that of a trivial predictor; ModelingInputError on
 *   inconsistent shapes, non-finite features, labels outside 0..1 (binary head), a bad spec or an
 *   incompatible warm start; the signal's reason (an AbortError by default) when aborted.
 */
export async function trainModel(input: TrainInput): Promise<TrainResult> {
  const spec = resolveModelSpec(input.spec);
  checkInput(input, spec.head);
  const { d, signal } = input;
  const solverName = solverFor(spec, input.n, d);
  const backend = await ensureBackend();
  if (signal?.aborted) throw abortError(signal);

  const net = buildNet(spec, d);
  const optimizer = solverName === 'adam' ? tf.train.adam(spec.learningRate) : undefined;
  const val =
    input.validation && solverName === 'adam'
      ? ([tf.tensor2d(input.validation.X.slice(), [input.validation.n, d]), tf.tensor2d(input.validation.y.slice(), [input.validation.n, 1])] as [tf.Tensor, tf.Tensor])
      : undefined;
  const best = new BestWeights();
  let trained = false;
  try {
    if (input.warmStart) await warmStartFrom(net, input.warmStart, spec, d);
    if (optimizer) net.compile({ optimizer, loss: lossOf(spec) });
    // The reported loss includes the L2 penalty, so the starting weights' penalty is allowed on top.
    const divergedAbove = DIVERGENCE_FACTOR * (trivialLoss(spec, input.y) + l2Penalty(net, spec.l2));
    const solver = solverName === 'adam' ? adamSolver(input, spec, net, val, best) : newtonSolver(input, spec, net);
    const loop = await runEpochs(input, spec, divergedAbove, solver);
    trained = true;
    return { model: new RefitModel(net, spec, d), backend, solver: solverName, ...loop };
  } finally {
    // The trained model is inference-only, so Adam's moment estimates can go now.
    optimizer?.dispose();
    best.dispose();
    val?.forEach((t) => t.dispose());
    if (!trained) net.dispose();
  }
}
