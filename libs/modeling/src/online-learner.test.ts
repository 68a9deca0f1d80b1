import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, loadModel, OnlineLearner, trainModel, type ModelSpec, type OnlineOptions } from './index.js';
import { decodeModel } from './model-format.js';
import { mulberry32 } from './random.js';
import { tf } from './tf.js';

const D = 10;

/** `n` rows of D features in [-2, 2]; label 1 with probability sigmoid(w·x + b). */
function draw(seed: number, n: number, w: number[], b = 0): { X: Float32Array; y: Float32Array; n: number } {
  const next = mulberry32(seed);
  const X = new Float32Array(n * D);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z = b;
    for (let j = 0; j < D; j++) {
      X[i * D + j] = 4 * next() - 2;
      z += w[j] * X[i * D + j];
    }
    y[i] = next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { X, y, n };
}

const before = [1.5, -1, 0.5, 0, 0, 0, 0, 0, 0, 0];
const after = [-0.5, 1, 0, 1.5, 0, 0, 0, 0, 0, 0];
const opts: OnlineOptions = { learningRate: 0.05, decayRows: 2000, maxStep: 1 };

async function champion(spec: ModelSpec): Promise<Uint8Array> {
  const data = draw(1, 800, before);
  const r = await trainModel({ ...data, d: D, spec });
  const bytes = await r.model.serialize();
  r.model.dispose();
  return bytes;
}

function batch(data: { X: Float32Array; y: Float32Array }, from: number, rows: number): [Float32Array, Float32Array, number] {
  return [data.X.subarray(from * D, (from + rows) * D), data.y.subarray(from, from + rows), rows];
}

function logLoss(p: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i], 1e-7), 1 - 1e-7);
    s -= y[i] * Math.log(q) + (1 - y[i]) * Math.log(1 - q);
  }
  return s / y.length;
}

const weightsOf = (bytes: Uint8Array): Float32Array => new Float32Array(decodeModel(bytes).weightData);

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('OnlineLearner', () => {
  for (const spec of [{ kind: 'logistic', epochs: 20 }, { kind: 'mlp', hidden: [16], epochs: 20 }] satisfies ModelSpec[]) {
    it(`${spec.kind}: restored from a checkpoint, it continues bit for bit as if it had not stopped`, async () => {
      const bytes = await champion(spec);
      const stream = draw(2, 64 * 10, after);
      const probe = draw(3, 50, after);
      const a = await OnlineLearner.fromModel(bytes, opts);
      // A checkpoint before any update restores too.
      const fresh = await OnlineLearner.restore(bytes, await a.checkpoint(), opts);
      expect(fresh.predict(probe.X, probe.n)).toEqual(a.predict(probe.X, probe.n));
      fresh.dispose();
      for (let k = 0; k < 5; k++) a.update(...batch(stream, k * 64, 64));
      const saved = await a.checkpoint();
      const b = await OnlineLearner.restore(bytes, saved, opts);
      expect([b.updates, b.rowsLearned, b.learningRate()]).toEqual([a.updates, a.rowsLearned, a.learningRate()]);
      for (let k = 5; k < 8; k++) {
        const ua = a.update(...batch(stream, k * 64, 64));
        const ub = b.update(...batch(stream, k * 64, 64));
        expect(ub).toEqual(ua);
      }
      expect(b.predict(probe.X, probe.n)).toEqual(a.predict(probe.X, probe.n));
      expect(await b.checkpoint()).toEqual(await a.checkpoint());
      a.dispose();
      b.dispose();
    });
  }

  it('never changes the weights by more than maxStep in one update', async () => {
    const bytes = await champion({ kind: 'mlp', hidden: [16], epochs: 20 });
    const stream = draw(4, 32 * 20, after);
    const learner = await OnlineLearner.fromModel(bytes, { learningRate: 0.5, decayRows: 2000, maxStep: 0.05 });
    let prev = weightsOf(await learner.serializeModel());
    let clipped = 0;
    for (let k = 0; k < 20; k++) {
      const u = learner.update(...batch(stream, k * 32, 32));
      const now = weightsOf(await learner.serializeModel());
      const change = Math.sqrt(now.reduce((s, v, i) => s + (v - prev[i]) ** 2, 0));
      expect(u.stepNorm).toBeLessThanOrEqual(0.05);
      expect(change).toBeLessThanOrEqual(0.05 * (1 + 1e-4));
      expect(change).toBeCloseTo(u.stepNorm, 5);
      if (u.stepNorm > 0.049) clipped++;
      prev = now;
    }
    // With a learning rate of 0.5 every step of Adam is far larger than 0.05: each one was bounded.
    expect(clipped).toBe(20);
    learner.dispose();
  });

  it('learns a shifted distribution: its loss on the new one falls; the schedule decays', async () => {
    const bytes = await champion({ kind: 'logistic', epochs: 20 });
    const stream = draw(5, 128 * 40, after);
    const test = draw(6, 2000, after);
    const learner = await OnlineLearner.fromModel(bytes, opts);
    const start = logLoss(learner.predict(test.X, test.n), test.y);
    const lrs: number[] = [];
    for (let k = 0; k < 40; k++) lrs.push(learner.update(...batch(stream, k * 128, 128)).learningRate);
    const end = logLoss(learner.predict(test.X, test.n), test.y);
    console.info(`shifted distribution: log loss ${start.toFixed(4)} -> ${end.toFixed(4)} after 40 updates of 128 rows`);
    expect(end).toBeLessThan(start - 0.2);
    expect(lrs[0]).toBe(0.05);
    expect(lrs[39]).toBeCloseTo(0.05 / Math.sqrt(1 + (39 * 128) / 2000), 12);
    learner.dispose();
  });

  it('serializes a model that loadModel serves with the same predictions, and frees its tensors', async () => {
    const bytes = await champion({ kind: 'mlp', hidden: [8], epochs: 10 });
    const stream = draw(7, 64 * 5, after);
    const learner = await OnlineLearner.fromModel(bytes, { ...opts, l2: 0.001 });
    learner.update(...batch(stream, 0, 64));
    const tensors = tf.memory().numTensors;
    for (let k = 1; k < 5; k++) learner.update(...batch(stream, k * 64, 64));
    await learner.checkpoint();
    expect(tf.memory().numTensors).toBe(tensors);
    const served = await loadModel(await learner.serializeModel());
    expect(served.predict(stream.X, stream.n)).toEqual(learner.predict(stream.X, stream.n));
    served.dispose();
    learner.dispose();
    expect(() => learner.predict(stream.X, stream.n)).toThrow(/disposed/);
  });

  it('refuses bad options, batches and checkpoints, naming them', async () => {
    const bytes = await champion({ kind: 'logistic', epochs: 5 });
    await expect(OnlineLearner.fromModel(bytes, { ...opts, maxStep: 0 })).rejects.toThrow(/option maxStep is 0/);
    const learner = await OnlineLearner.fromModel(bytes, opts);
    expect(() => learner.update(new Float32Array(D), new Float32Array([2]), 1)).toThrow(/label at row 0 is 2/);
    expect(() => learner.update(new Float32Array(D - 1), new Float32Array([1]), 1)).toThrow(/X has 9 values/);
    const other = await champion({ kind: 'mlp', hidden: [4], epochs: 5 });
    const mlp = await OnlineLearner.fromModel(other, opts);
    await expect(OnlineLearner.restore(bytes, await mlp.checkpoint(), opts)).rejects.toThrow(/bad online checkpoint: it is of a mlp \[4\] relu/);
    await expect(OnlineLearner.restore(bytes, new Uint8Array(3), opts)).rejects.toThrow(/bad online checkpoint/);
    learner.dispose();
    mlp.dispose();
  });

  it('throughput: labelled rows learned per second (measured, not asserted)', async () => {
    for (const spec of [{ kind: 'logistic', epochs: 5 }, { kind: 'mlp', hidden: [16], epochs: 5 }] satisfies ModelSpec[]) {
      for (const rows of [64, 256]) {
        const bytes = await champion(spec);
        const stream = draw(8, rows * 50, after);
        const learner = await OnlineLearner.fromModel(bytes, opts);
        learner.update(...batch(stream, 0, rows));
        const t0 = performance.now();
        for (let k = 1; k < 50; k++) {
          // What a stream does per micro-batch: score the rows (prequential), then learn from them.
          learner.predict(...(batch(stream, k * rows, rows).filter((_, i) => i !== 1) as [Float32Array, number]));
          learner.update(...batch(stream, k * rows, rows));
        }
        const seconds = (performance.now() - t0) / 1000;
        console.info(`online ${spec.kind}${spec.kind === 'mlp' ? ' [16]' : ''}, ${D} features, micro-batch ${rows}: ${Math.round((49 * rows) / seconds)} rows/s (${((seconds / 49) * 1000).toFixed(2)} ms per update, ${tf.getBackend()})`);
        learner.dispose();
      }
    }
  });
});
