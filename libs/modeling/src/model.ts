import { ensureBackend } from './backend.js';
import { ModelingInputError } from './errors.js';
import { decodeModel, encodeModel } from './model-format.js';
import type { ModelHeader } from './model-format.js';
import { resolveModelSpec } from './model-spec.js';
import type { ResolvedModelSpec } from './model-spec.js';
import { mulberry32, shuffleInPlace } from './random.js';
import type { ModelSpec } from './spec.js';
import { tf, tfl } from './tf.js';

/** A trained (or loaded) binary classifier. */
export type TrainedModel = {
  /**
   * Probabilities of the positive class for `n` rows of the row-major matrix `X` (n × inputDim).
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
  readonly spec: ModelSpec;
};

/** One epoch's training record. `epoch` is 1-based; losses are mean binary cross-entropy (+ L2 penalty). */
export type EpochLog = { epoch: number; loss: number; valLoss?: number };

/** What {@link trainModel} needs. */
export type TrainInput = {
  /** Row-major training matrix, n × d (output of `applyTransform`). */
  X: Float32Array;
  /** Labels, 0 or 1 (output of `labelsOf`). */
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
};

/** What {@link trainModel} returns. */
export type TrainResult = {
  model: TrainedModel;
  /** Number of epochs completed (= spec epochs unless training was aborted, which throws instead). */
  epochs: number;
  history: EpochLog[];
  /** Backend the training ran on (`tensorflow`, `wasm` or `cpu`). */
  backend: string;
  /** Milliseconds spent in tensor computation (excludes onEpoch callbacks). */
  computeMs: number;
};

function freezeSpec(spec: ResolvedModelSpec): ResolvedModelSpec {
  Object.freeze(spec.hidden);
  return Object.freeze(spec);
}

class RefitModel implements TrainedModel {
  #net: tfl.LayersModel | undefined;
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

// Fixed layer and model names: tfjs otherwise numbers them from a process-wide counter
// (dense_Dense3…), which would make two identical trainings serialize to different bytes.
function buildNet(spec: ResolvedModelSpec, d: number): tfl.Sequential {
  const net = tfl.sequential({ name: 'refit' });
  const units = spec.kind === 'mlp' ? [...spec.hidden, 1] : [1];
  units.forEach((u, i) => {
    const last = i === units.length - 1;
    net.add(
      tfl.layers.dense({
        name: last ? 'output' : `hidden_${i}`,
        units: u,
        activation: last ? 'sigmoid' : spec.activation,
        // A distinct seed per layer so equally-shaped layers don't start identical.
        kernelInitializer: tfl.initializers.glorotUniform({ seed: spec.seed + i }),
        biasInitializer: 'zeros',
        ...(spec.l2 > 0 ? { kernelRegularizer: tfl.regularizers.l2({ l2: spec.l2 }) } : {}),
        ...(i === 0 ? { inputShape: [d] } : {}),
      }),
    );
  });
  return net;
}

async function loadNet(buf: Uint8Array): Promise<{ net: tfl.LayersModel; header: ModelHeader }> {
  const { header, weightData } = decodeModel(buf);
  await ensureBackend();
  let net: tfl.LayersModel;
  try {
    net = await tfl.loadLayersModel(
      tf.io.fromMemory({ modelTopology: header.modelTopology, weightSpecs: header.weightSpecs, weightData }),
    );
  } catch (err) {
    throw new ModelingInputError(`bad model artifact: tfjs could not load it (${(err as Error).message})`, {}, { cause: err });
  }
  const shape = net.inputs[0]?.shape;
  if (net.inputs.length !== 1 || shape?.length !== 2 || shape[1] !== header.inputDim) {
    net.dispose();
    throw new ModelingInputError(`bad model artifact: topology input shape [${String(shape)}] does not match inputDim ${header.inputDim}`);
  }
  return { net, header };
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

function checkInput(input: TrainInput): void {
  const { X, y, n, d } = input;
  if (!Number.isInteger(n) || n < 1) throw new ModelingInputError(`train: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(d) || d < 1) throw new ModelingInputError(`train: d must be a positive integer, got ${d}`);
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
      if (!(ys[i] >= 0 && ys[i] <= 1)) throw new ModelingInputError(`train: ${what} label at row ${i} is ${ys[i]}, expected 0..1`, { row: i, value: ys[i] });
    }
  };
  checkSet('training', X, y, n);
  if (input.validation) {
    const v = input.validation;
    if (!Number.isInteger(v.n) || v.n < 1) throw new ModelingInputError(`train: validation n must be a positive integer, got ${v.n}`);
    checkSet('validation', v.X, v.y, v.n);
  }
}

async function warmStartFrom(net: tfl.LayersModel, buf: Uint8Array, spec: ResolvedModelSpec, d: number): Promise<void> {
  const { net: prev, header } = await loadNet(buf);
  try {
    const p = header.spec;
    const arch = (s: ResolvedModelSpec): string =>
      s.kind === 'mlp' ? `mlp [${s.hidden.join(', ')}] ${s.activation}` : 'logistic';
    if (arch(p) !== arch(spec) || header.inputDim !== d) {
      throw new ModelingInputError(
        `warm start: the previous model is ${arch(p)} with ${header.inputDim} inputs, this training is ${arch(spec)} with ${d} inputs`,
      );
    }
    // setWeights shares the previous tensors' storage by reference count, so disposing prev is safe.
    net.setWeights(prev.getWeights());
  } finally {
    prev.dispose();
  }
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('training aborted', 'AbortError');
}

// Yield to the event loop so timers, I/O and abort requests are handled between epochs.
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains a logistic regression (one sigmoid unit) or an MLP (hidden Dense layers + sigmoid output)
 * with binary cross-entropy and Adam. Reproducible: seeded initialisers and a seeded per-epoch
 * shuffle (fit itself never shuffles), so the same inputs, spec and backend give bit-identical
 * weights. Initialises the default backend if `initBackend` was not called. All tensors it creates
 * are disposed; only the returned model holds memory until its `dispose()`.
 * @throws ModelingInputError on inconsistent shapes, non-finite features, labels outside 0..1, a
 *   bad spec or an incompatible warm start; the signal's reason (an AbortError by default) when aborted.
 */
export async function trainModel(input: TrainInput): Promise<TrainResult> {
  const spec = resolveModelSpec(input.spec);
  checkInput(input);
  const { n, d, signal } = input;
  const backend = await ensureBackend();
  if (signal?.aborted) throw abortError(signal);

  const net = buildNet(spec, d);
  const optimizer = tf.train.adam(spec.learningRate);
  const val = input.validation
    ? ([tf.tensor2d(input.validation.X.slice(), [input.validation.n, d]), tf.tensor2d(input.validation.y.slice(), [input.validation.n, 1])] as [tf.Tensor, tf.Tensor])
    : undefined;
  let trained = false;
  try {
    if (input.warmStart) await warmStartFrom(net, input.warmStart, spec, d);
    net.compile({ optimizer, loss: 'binaryCrossentropy' });

    const next = mulberry32(spec.seed);
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    const history: EpochLog[] = [];
    let computeMs = 0;
    for (let epoch = 1; epoch <= spec.epochs; epoch++) {
      await tick();
      if (signal?.aborted) throw abortError(signal);
      const started = performance.now();
      shuffleInPlace(order, next);
      const xb = new Float32Array(n * d);
      const yb = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const src = order[i];
        xb.set(input.X.subarray(src * d, src * d + d), i * d);
        yb[i] = input.y[src];
      }
      const xs = tf.tensor2d(xb, [n, d]);
      const ys = tf.tensor2d(yb, [n, 1]);
      let logs: Record<string, Array<number | tf.Tensor>>;
      try {
        const h = await net.fit(xs, ys, {
          epochs: 1,
          batchSize: spec.batchSize,
          shuffle: false,
          verbose: 0,
          validationData: val,
          // Checked at tfjs's periodic yield points, so a long epoch can be interrupted too.
          callbacks: {
            onYield: () => {
              if (signal?.aborted) net.stopTraining = true;
            },
          },
        });
        logs = h.history;
      } finally {
        xs.dispose();
        ys.dispose();
      }
      computeMs += performance.now() - started;
      if (signal?.aborted) throw abortError(signal);
      const entry: EpochLog = { epoch, loss: Number(logs.loss[0]) };
      if (logs.val_loss) entry.valLoss = Number(logs.val_loss[0]);
      history.push(entry);
      await input.onEpoch?.(entry);
    }
    trained = true;
    return { model: new RefitModel(net, spec, d), epochs: history.length, history, backend, computeMs };
  } finally {
    // The trained model is inference-only, so Adam's moment estimates can go now.
    optimizer.dispose();
    val?.forEach((t) => t.dispose());
    if (!trained) net.dispose();
  }
}
