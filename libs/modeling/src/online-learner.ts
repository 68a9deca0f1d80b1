// A model that keeps learning from labelled micro-batches as they arrive (continuous training on a
// stream), starting from the champion's weights, with its Adam state kept between updates and
// checkpointed so a restarted process continues exactly where it stopped.
import { ensureBackend } from './backend.js';
import { denseForward, denseForwardOf, type DenseForward } from './dense-forward.js';
import { ModelingInputError } from './errors.js';
import { encodeModel, type ModelHeader } from './model-format.js';
import { architectureOf } from './model-spec.js';
import { loadNet } from './net.js';
import { tf, type tfl } from './tf.js';

/** How an {@link OnlineLearner} learns. */
export interface OnlineOptions {
  /** Base Adam learning rate, > 0. */
  learningRate: number;
  /** Rows over which the learning rate falls: lr_t = learningRate / √(1 + rowsLearned / decayRows). > 0. */
  decayRows: number;
  /** Largest parameter change of one update, as the L2 norm over all weights, > 0. */
  maxStep: number;
  /** L2 penalty on every kernel, added to the mean loss of a micro-batch. Default 0. */
  l2?: number;
}

/** What one {@link OnlineLearner.update} did. */
export interface OnlineUpdate {
  /** The micro-batch's mean loss (plus the L2 penalty) before the step. */
  loss: number;
  /** The learning rate this update used. */
  learningRate: number;
  /** L2 norm of the parameter change of this update (≤ maxStep). */
  stepNorm: number;
  /** Updates so far, this one included. */
  updates: number;
}

// Layout of a checkpoint: MAGIC | uint32 LE header length | header JSON | float32 weights, then moments.
const MAGIC = Buffer.from('REFITO1\n', 'latin1');
const PREFIX = MAGIC.length + 4;
const P_CLIP = 1e-7;

type CheckpointHeader = {
  architecture: string;
  inputDim: number;
  updates: number;
  rowsLearned: number;
  /** Adam's step count and its running powers β₁ᵗ, β₂ᵗ (float32 values, exact in JSON). */
  iterations: number;
  accBeta1: number;
  accBeta2: number;
  weights: number[][];
  /** Shapes of the first moments then the second moments (empty before the first update). */
  moments: number[][];
};

/** The parts of tfjs's AdamOptimizer this class needs that its typings keep private. */
type AdamInternals = { learningRate: number; accBeta1: tf.Variable; accBeta2: tf.Variable };

function checkOptions(opts: OnlineOptions): Required<OnlineOptions> {
  const o = { learningRate: opts?.learningRate, decayRows: opts?.decayRows, maxStep: opts?.maxStep, l2: opts?.l2 ?? 0 };
  for (const [name, v] of Object.entries(o)) {
    const ok = typeof v === 'number' && Number.isFinite(v) && (name === 'l2' ? v >= 0 : v > 0);
    if (!ok) throw new ModelingInputError(`online learner: option ${name} is ${String(v)}, expected a finite number ${name === 'l2' ? '>= 0' : '> 0'}`);
  }
  return o as Required<OnlineOptions>;
}

const size = (shape: readonly number[]): number => shape.reduce((p, s) => p * s, 1);

/** The values of `tensors`, one after the other, in a fresh buffer. */
function pack(tensors: readonly tf.Tensor[]): Float32Array {
  const out = new Float32Array(tensors.reduce((s, t) => s + t.size, 0));
  let at = 0;
  for (const t of tensors) {
    out.set(t.dataSync() as Float32Array, at);
    at += t.size;
  }
  return out;
}

/**
 * An online learner: the champion's network (any Refit model: logistic or MLP, binary or
 * regression head) that learns from each labelled micro-batch by one Adam step, and can be
 * checkpointed, restored, and serialized as a model the registry and the deployer serve unchanged.
 *
 * One update is one Adam step (tfjs's optimizer, whose moments persist between updates) on the
 * micro-batch's mean loss — the model's own: binary cross-entropy (p clipped to [1e-7, 1 − 1e-7])
 * or MSE (MAE for a model trained with MAE) — plus `l2` × Σ kernel². Its learning rate is
 * lr_t = learningRate / √(1 + rowsLearned / decayRows). Its step is bounded: Adam normalises the
 * gradient coordinate by coordinate, so clipping the gradient's norm would not bound the change;
 * instead the change Δ the step made is measured and, when its global L2 norm exceeds `maxStep`,
 * scaled back to `maxStep` (weights = before + Δ · maxStep / ‖Δ‖). Adam's step is linear in the
 * learning rate, so this is the same step taken with this update's learning rate lowered to fit;
 * the moments, which depend on the gradients only, are as if nothing was clipped.
 *
 * Rows weigh equally (a `classWeight` of the champion's spec is not applied online), and dropout
 * layers are active in an update as in training.
 *
 * Not safe to call concurrently with itself (one owner drives it); tensors are freed per update.
 */
export class OnlineLearner {
  readonly #net: tfl.LayersModel;
  readonly #header: ModelHeader;
  readonly #opts: Required<OnlineOptions>;
  readonly #optimizer: tf.AdamOptimizer;
  #forward: DenseForward | null | undefined;
  #updates = 0;
  #rows = 0;
  #disposed = false;

  private constructor(net: tfl.LayersModel, header: ModelHeader, opts: Required<OnlineOptions>) {
    this.#net = net;
    this.#header = header;
    this.#opts = opts;
    this.#optimizer = tf.train.adam(opts.learningRate);
  }

  /**
   * A learner starting from a serialized model (the champion's bytes, as {@link loadModel} reads them).
   * @throws ModelingInputError on a bad artifact or bad options.
   */
  static async fromModel(modelBytes: Uint8Array, opts: OnlineOptions): Promise<OnlineLearner> {
    const o = checkOptions(opts);
    await ensureBackend();
    const { net, header } = await loadNet(modelBytes);
    return new OnlineLearner(net, header, o);
  }

  /**
   * A learner continuing from a {@link checkpoint}: its weights, Adam moments and counters, so the
   * next updates give bit-for-bit what the checkpointed learner would have given (same backend).
   * @param modelBytes - the model it started from (or any model of the same architecture: it gives the topology only).
   * @throws ModelingInputError when the checkpoint is not one, or is of another architecture.
   */
  static async restore(modelBytes: Uint8Array, checkpoint: Uint8Array, opts: OnlineOptions): Promise<OnlineLearner> {
    const learner = await OnlineLearner.fromModel(modelBytes, opts);
    try {
      await learner.#load(checkpoint);
      return learner;
    } catch (err) {
      learner.dispose();
      throw err;
    }
  }

  /** Updates done so far. */
  get updates(): number {
    return this.#updates;
  }

  /** Labelled rows learned from so far. */
  get rowsLearned(): number {
    return this.#rows;
  }

  /** Number of input columns. */
  get inputDim(): number {
    return this.#header.inputDim;
  }

  /** The learning rate the next update will use. */
  learningRate(): number {
    return this.#opts.learningRate / Math.sqrt(1 + this.#rows / this.#opts.decayRows);
  }

  #live(): tfl.LayersModel {
    if (this.#disposed) throw new Error('online learner has been disposed');
    return this.#net;
  }

  #checkX(X: Float32Array, n: number, fn: string): void {
    const d = this.#header.inputDim;
    if (!Number.isInteger(n) || n < 0 || X.length !== n * d) throw new ModelingInputError(`${fn}: X has ${X.length} values, expected n (${n}) × inputDim (${d}) = ${n * d}`);
  }

  /**
   * Predictions for `n` rows of `X` (n × inputDim): the same numbers `TrainedModel.predict` gives
   * for these weights (small dense nets are scored in JavaScript, larger ones by tfjs).
   */
  predict(X: Float32Array, n: number): Float32Array {
    const net = this.#live();
    this.#checkX(X, n, 'predict');
    if (n === 0) return new Float32Array(0);
    if (this.#forward === undefined) this.#forward = denseForwardOf(net) ?? null;
    if (this.#forward) return denseForward(this.#forward, X, n);
    return tf.tidy(() => Float32Array.from((net.predictOnBatch(tf.tensor2d(X, [n, this.#header.inputDim])) as tf.Tensor).dataSync()));
  }

  #variables(): tf.Variable[] {
    return this.#net.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** The micro-batch's mean loss plus the L2 penalty, as a scalar tensor (inside a gradient tape). */
  #objective(xs: tf.Tensor2D, ys: tf.Tensor2D): tf.Scalar {
    const out = this.#net.apply(xs, { training: true }) as tf.Tensor;
    const spec = this.#header.spec;
    let loss: tf.Scalar;
    if (spec.loss === 'crossentropy') {
      const p = tf.clipByValue(out, P_CLIP, 1 - P_CLIP);
      loss = tf.neg(tf.mean(tf.add(tf.mul(ys, tf.log(p)), tf.mul(tf.sub(1, ys), tf.log(tf.sub(1, p)))))) as tf.Scalar;
    } else loss = (spec.loss === 'mae' ? tf.mean(tf.abs(tf.sub(out, ys))) : tf.mean(tf.square(tf.sub(out, ys)))) as tf.Scalar;
    if (this.#opts.l2 === 0) return loss;
    const kernels = this.#net.trainableWeights.filter((w) => w.originalName.includes('/kernel')).map((w) => tf.sum(tf.square(w.read())));
    return tf.add(loss, tf.mul(this.#opts.l2, tf.addN(kernels)));
  }

  /**
   * Learns from one labelled micro-batch by one bounded Adam step (see the class comment).
   * @param X - n × inputDim rows (the frozen transform's output).
   * @param y - n labels: 0..1 for a binary head, finite numbers for a regression head.
   * @throws ModelingInputError on shapes that do not fit, non-finite values or labels outside 0..1.
   */
  update(X: Float32Array, y: Float32Array, n: number): OnlineUpdate {
    this.#live();
    this.#checkX(X, n, 'update');
    if (n < 1) throw new ModelingInputError('update: a micro-batch needs at least one row');
    if (y.length !== n) throw new ModelingInputError(`update: y has ${y.length} labels, expected ${n}`);
    const binary = this.#header.spec.head === 'binary';
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(y[i]) || (binary && (y[i] < 0 || y[i] > 1))) throw new ModelingInputError(`update: label at row ${i} is ${y[i]}, expected ${binary ? '0..1' : 'a finite number'}`, { row: i, value: y[i] });
    }
    for (let k = 0; k < X.length; k++) {
      if (!Number.isFinite(X[k])) throw new ModelingInputError(`update: X row ${Math.floor(k / this.inputDim)} column ${k % this.inputDim} is ${X[k]}`, { row: Math.floor(k / this.inputDim), value: X[k] });
    }
    const learningRate = this.learningRate();
    const { maxStep } = this.#opts;
    const vars = this.#variables();
    const adam = this.#optimizer as unknown as AdamInternals;
    const [loss, stepNorm] = tf.tidy(() => {
      const xs = tf.tensor2d(X, [n, this.inputDim]);
      const ys = tf.tensor2d(y, [n, 1]);
      const { value, grads } = tf.variableGrads(() => this.#objective(xs, ys), vars);
      const before = vars.map((v) => tf.clone(v));
      adam.learningRate = learningRate;
      this.#optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
      const deltas = vars.map((v, i) => tf.sub(v, before[i]));
      const [lossValue, norm] = tf.stack([value, tf.sqrt(tf.addN(deltas.map((d) => tf.sum(tf.square(d)))))]).dataSync();
      if (!(norm <= maxStep)) {
        // A hair under maxStep, so float32 rounding of the scaled weights cannot push it over.
        const scale = (maxStep / norm) * (1 - 1e-5);
        vars.forEach((v, i) => v.assign(tf.add(before[i], tf.mul(deltas[i], scale))));
        return [lossValue, norm * scale];
      }
      return [lossValue, norm];
    });
    this.#forward = undefined;
    this.#updates++;
    this.#rows += n;
    return { loss, learningRate, stepNorm, updates: this.#updates };
  }

  /**
   * Everything needed to continue exactly: weights, Adam's moments, step count and running β
   * powers, and the counters. {@link OnlineLearner.restore} reads it.
   */
  async checkpoint(): Promise<Uint8Array> {
    this.#live();
    const named = await this.#optimizer.getWeights();
    const [iter, ...moments] = named;
    const iterations = (await iter.tensor.data())[0];
    iter.tensor.dispose();
    const adam = this.#optimizer as unknown as AdamInternals;
    const weights = this.#net.getWeights();
    const header: CheckpointHeader = {
      architecture: architectureOf(this.#header.spec),
      inputDim: this.inputDim,
      updates: this.#updates,
      rowsLearned: this.#rows,
      iterations,
      accBeta1: adam.accBeta1.dataSync()[0],
      accBeta2: adam.accBeta2.dataSync()[0],
      weights: weights.map((w) => w.shape),
      moments: moments.map((m) => m.tensor.shape),
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length, 0);
    return Buffer.concat([MAGIC, len, json, new Uint8Array(pack([...weights, ...moments.map((m) => m.tensor)]).buffer)]);
  }

  async #load(bytes: Uint8Array): Promise<void> {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const bad = (what: string): ModelingInputError => new ModelingInputError(`bad online checkpoint: ${what}`);
    if (b.length < PREFIX || !b.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('missing REFITO1 header');
    const len = b.readUInt32LE(MAGIC.length);
    if (PREFIX + len > b.length) throw bad('truncated header');
    let h: CheckpointHeader;
    try {
      h = JSON.parse(b.subarray(PREFIX, PREFIX + len).toString('utf8')) as CheckpointHeader;
    } catch (err) {
      throw new ModelingInputError('bad online checkpoint: header is not JSON', {}, { cause: err });
    }
    if (!Array.isArray(h?.weights) || !Array.isArray(h.moments) || h.moments.length % 2 !== 0) throw bad('header does not describe weights and Adam moments');
    const arch = architectureOf(this.#header.spec);
    const shapes = this.#net.getWeights().map((w) => w.shape);
    if (h.architecture !== arch || h.inputDim !== this.inputDim || JSON.stringify(h.weights) !== JSON.stringify(shapes)) {
      throw bad(`it is of a ${h.architecture} with ${h.inputDim} inputs, the model is a ${arch} with ${this.inputDim} inputs`);
    }
    const all = [...h.weights, ...h.moments];
    const floats = all.reduce((s, shape) => s + size(shape), 0);
    if (b.length - PREFIX - len !== 4 * floats) throw bad(`${b.length - PREFIX - len} bytes of values, the header describes ${4 * floats}`);
    const values = new Float32Array(new Uint8Array(b.subarray(PREFIX + len)).buffer);
    let at = 0;
    const tensors = all.map((shape) => {
      const t = tf.tensor(values.subarray(at, at + size(shape)), shape);
      at += size(shape);
      return t;
    });
    const iter = tf.scalar(h.iterations, 'int32');
    try {
      this.#net.setWeights(tensors.slice(0, h.weights.length));
      const vars = this.#variables();
      const moments = tensors.slice(h.weights.length);
      const half = moments.length / 2;
      await this.#optimizer.setWeights([{ name: 'iter', tensor: iter }, ...moments.map((m, i) => ({ name: `${vars[i % half].name}/${i < half ? 'm' : 'v'}`, tensor: m }))]);
      // setWeights recomputes β powers as pow(β, t + 1); the running products a learner that never
      // stopped has differ in the last bits, so the saved ones are put back.
      const adam = this.#optimizer as unknown as AdamInternals;
      tf.tidy(() => {
        adam.accBeta1.assign(tf.scalar(h.accBeta1));
        adam.accBeta2.assign(tf.scalar(h.accBeta2));
      });
    } finally {
      tf.dispose([...tensors, iter]);
    }
    this.#updates = h.updates;
    this.#rows = h.rowsLearned;
    this.#forward = undefined;
  }

  /** The current weights as a model artifact, exactly the format `loadModel` reads (the champion's spec and topology). */
  async serializeModel(): Promise<Buffer> {
    const net = this.#live();
    const weights = net.getWeights();
    const header: ModelHeader = { ...this.#header, weightSpecs: net.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[], dtype: 'float32' as const })) };
    return encodeModel(header, pack(weights).buffer as ArrayBuffer);
  }

  /** Frees the weights and Adam's state; idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#optimizer.dispose();
    this.#net.dispose();
  }
}
