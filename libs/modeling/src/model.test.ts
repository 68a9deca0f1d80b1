import { beforeAll, describe, expect, it } from 'vitest';
import { ModelingInputError, TrainingDivergedError, currentBackend, initBackend, loadModel, resolveModelSpec, trainModel } from './index.js';
import { tf } from './tf.js';

// A small, deterministic, linearly separable-ish problem: y = [x0 + 0.5·x1 − x2 > 0].
function synthetic(n: number, d = 4): { X: Float32Array; y: Float32Array; n: number; d: number } {
  const X = new Float32Array(n * d);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) X[i * d + j] = Math.sin((i + 1) * (j + 3) * 12.9898) * 2;
    y[i] = X[i * d] + 0.5 * X[i * d + 1] - X[i * d + 2] > 0 ? 1 : 0;
  }
  return { X, y, n, d };
}

const data = synthetic(600);

beforeAll(async () => {
  expect(await initBackend({ prefer: 'wasm' })).toEqual({ backend: 'wasm' });
});

describe('initBackend', () => {
  it('is idempotent and reports the active backend', async () => {
    const first = initBackend({ prefer: 'wasm' });
    expect(initBackend({ prefer: 'wasm' })).toBe(first);
    expect(await initBackend()).toEqual({ backend: 'wasm' });
    expect(currentBackend()).toBe('wasm');
  });
});

describe('resolveModelSpec', () => {
  it('fills the documented defaults', () => {
    expect(resolveModelSpec({ kind: 'logistic' })).toEqual({
      kind: 'logistic', head: 'binary', loss: 'crossentropy', hidden: [16], activation: 'relu', dropout: 0, epochs: 50, batchSize: 64,
      learningRate: 0.05, l2: 0, seed: 42, classWeight: 'none', solver: 'auto', earlyStopping: null,
    });
    expect(resolveModelSpec({ kind: 'logistic', head: 'regression' }).loss).toBe('mse');
    expect(() => resolveModelSpec({ kind: 'logistic', head: 'regression', loss: 'crossentropy' })).toThrow(/loss crossentropy does not fit a regression head/);
    expect(() => resolveModelSpec({ kind: 'mlp', dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    expect(() => resolveModelSpec({ kind: 'mlp', earlyStopping: { patience: 0 } })).toThrow(/earlyStopping.patience/);
    expect(resolveModelSpec({ kind: 'mlp' }).learningRate).toBe(0.01);
    expect(() => resolveModelSpec({ kind: 'mlp', hidden: [8, 0] })).toThrow(/hidden sizes/);
    expect(() => resolveModelSpec({ kind: 'logistic', epochs: 0 })).toThrow(ModelingInputError);
  });
});

describe('trainModel', () => {
  it('learns, reports history and predicts probabilities', async () => {
    const epochs: number[] = [];
    const r = await trainModel({
      ...data,
      spec: { kind: 'logistic', epochs: 8 },
      validation: { X: data.X.subarray(0, 100 * data.d), y: data.y.subarray(0, 100), n: 100 },
      onEpoch: async (e) => {
        epochs.push(e.epoch);
      },
    });
    expect(r.epochs).toBe(8);
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(r.backend).toBe('wasm');
    expect(r.computeMs).toBeGreaterThan(0);
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0].loss);
    expect(r.history[0].valLoss).toBeTypeOf('number');
    expect(r.model.inputDim).toBe(4);
    expect(r.model.spec).toMatchObject({ kind: 'logistic', epochs: 8, learningRate: 0.05, seed: 42 });
    const p = r.model.predict(data.X, data.n);
    expect(p).toBeInstanceOf(Float32Array);
    expect(p.length).toBe(data.n);
    let correct = 0;
    for (let i = 0; i < data.n; i++) correct += (p[i] > 0.5 ? 1 : 0) === data.y[i] ? 1 : 0;
    expect(correct / data.n).toBeGreaterThan(0.9);
    expect(r.model.predict(new Float32Array(0), 0).length).toBe(0);
    expect(() => r.model.predict(data.X, 3)).toThrow(/expected n \(3\) × inputDim \(4\)/);
    r.model.dispose();
    r.model.dispose();
    expect(() => r.model.predict(data.X, data.n)).toThrow(/disposed/);
  });

  it('is bit-identical for the same inputs and seed, and differs for another seed', async () => {
    const spec = { kind: 'mlp' as const, hidden: [8, 4], epochs: 3, l2: 0.001 };
    const a = await trainModel({ ...data, spec });
    const b = await trainModel({ ...data, spec });
    const c = await trainModel({ ...data, spec: { ...spec, seed: 7 } });
    const [sa, sb, sc] = await Promise.all([a.model.serialize(), b.model.serialize(), c.model.serialize()]);
    expect(sa.equals(sb)).toBe(true);
    expect(sa.equals(sc)).toBe(false);
    expect(a.history).toEqual(b.history);
    [a, b, c].forEach((r) => r.model.dispose());
  });

  it('serializes to one buffer that loads back with identical predictions', async () => {
    const r = await trainModel({ ...data, spec: { kind: 'mlp', hidden: [6], activation: 'tanh', epochs: 2 } });
    const buf = await r.model.serialize();
    expect(buf.subarray(0, 8).toString('latin1')).toBe('REFITM1\n');
    const loaded = await loadModel(new Uint8Array(buf));
    expect(loaded.inputDim).toBe(4);
    expect(loaded.spec).toEqual(r.model.spec);
    expect(loaded.predict(data.X, data.n)).toEqual(r.model.predict(data.X, data.n));
    // Two copies of the same artifact coexist (tfjs variable names must not clash).
    const again = await loadModel(buf);
    expect(Array.from(again.predict(data.X.subarray(0, 4), 1))).toEqual(Array.from(loaded.predict(data.X.subarray(0, 4), 1)));
    expect((await loaded.serialize()).equals(buf)).toBe(true);
    [r.model, loaded, again].forEach((m) => m.dispose());
  });

  it('rejects a bad model artifact with a clear error', async () => {
    await expect(loadModel(Buffer.from('hello world, not a model'))).rejects.toThrow(/bad model artifact: not a Refit model/);
    const r = await trainModel({ ...data, spec: { kind: 'logistic', epochs: 1 } });
    const buf = await r.model.serialize();
    r.model.dispose();
    await expect(loadModel(buf.subarray(0, buf.length - 4))).rejects.toThrow(/weights are 16 bytes, the header describes 20/);
    await expect(loadModel(buf.subarray(0, 20))).rejects.toThrow(/truncated header/);
    const bad = Buffer.from(buf);
    bad.write('{', 12, 'latin1');
    bad.write('X', 13, 'latin1');
    await expect(loadModel(bad)).rejects.toThrow(ModelingInputError);
  });

  it('warm-starts from a serialized model: its first epoch starts from the saved weights', async () => {
    const spec = { kind: 'logistic' as const, epochs: 4, learningRate: 0.02 };
    const cold = await trainModel({ ...data, spec });
    const warm = await trainModel({ ...data, spec: { ...spec, epochs: 1 }, warmStart: await cold.model.serialize() });
    expect(warm.history[0].loss).toBeLessThan(cold.history[0].loss);
    expect(warm.history[0].loss).toBeLessThan(cold.history.at(-1)!.loss);
    // Architecture or width mismatch is refused rather than silently cold-started.
    const other = synthetic(50, 3);
    await expect(trainModel({ ...other, spec, warmStart: await cold.model.serialize() })).rejects.toThrow(
      /warm start: the previous model is logistic with 4 inputs, this training is logistic with 3 inputs/,
    );
    await expect(trainModel({ ...data, spec: { kind: 'mlp', epochs: 1 }, warmStart: await cold.model.serialize() })).rejects.toThrow(/warm start/);
    cold.model.dispose();
    warm.model.dispose();
  });

  it('stops between epochs when the signal aborts', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const run = trainModel({
      ...data,
      spec: { kind: 'logistic', epochs: 50 },
      signal: ac.signal,
      onEpoch: (e) => {
        seen.push(e.epoch);
        if (e.epoch === 2) ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([1, 2]);
    const pre = new AbortController();
    pre.abort(new Error('deploy cancelled'));
    await expect(trainModel({ ...data, spec: { kind: 'logistic' }, signal: pre.signal })).rejects.toThrow('deploy cancelled');
  });

  it('honours an abort fired from a timer while training runs', async () => {
    const big = synthetic(5000);
    const started = performance.now();
    await expect(
      trainModel({ ...big, spec: { kind: 'mlp', hidden: [32, 32], epochs: 1000 }, signal: AbortSignal.timeout(200) }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('stops early on the validation loss and restores the best epoch', async () => {
    // A tiny, noisy training set and a big MLP: the validation loss turns up after a while.
    const small = synthetic(60);
    const noisy = small.y.map((v, i) => (i % 4 === 0 ? 1 - v : v));
    const validation = { X: data.X.subarray(0, 300 * data.d), y: data.y.subarray(0, 300), n: 300 };
    const r = await trainModel({
      ...small,
      y: noisy,
      validation,
      spec: { kind: 'mlp', hidden: [64, 64], epochs: 300, batchSize: 8, learningRate: 0.02, earlyStopping: { patience: 4 } },
    });
    expect(r.stopReason).toBe('early-stopped');
    expect(r.epochs).toBe(r.bestEpoch + 4);
    const lowest = Math.min(...r.history.map((e) => e.valLoss ?? Infinity));
    expect(r.bestLoss).toBe(lowest);
    expect(r.history[r.bestEpoch - 1].valLoss).toBe(lowest);
    // The returned weights are the best epoch's, not the last one's.
    const p = r.model.predict(validation.X, validation.n);
    let ll = 0;
    for (let i = 0; i < validation.n; i++) {
      const q = Math.min(Math.max(p[i], 1e-7), 1 - 1e-7);
      ll -= validation.y[i] * Math.log(q) + (1 - validation.y[i]) * Math.log(1 - q);
    }
    expect(ll / validation.n).toBeCloseTo(lowest, 4);
    r.model.dispose();
  });

  it('stops at the time budget', async () => {
    const r = await trainModel({ ...data, spec: { kind: 'mlp', epochs: 10_000 }, deadline: Date.now() + 150 });
    expect(r.stopReason).toBe('budget');
    expect(r.epochs).toBeGreaterThanOrEqual(1);
    expect(r.epochs).toBeLessThan(10_000);
    r.model.dispose();
  });

  it('catches a diverging learning rate, for a binary and a regression head', async () => {
    await expect(trainModel({ ...data, spec: { kind: 'mlp', epochs: 5, learningRate: 1e4 } })).rejects.toThrow(TrainingDivergedError);
    const target = Float32Array.from({ length: data.n }, (_, i) => 3 * data.X[i * data.d] - data.X[i * data.d + 1] + 10);
    const err = await trainModel({ ...data, y: target, spec: { kind: 'mlp', head: 'regression', epochs: 20, learningRate: 1e6 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as TrainingDivergedError).message).toMatch(/training diverged at epoch \d+: .*learning rate 1000000 is probably too high/);
    expect((err as TrainingDivergedError).history.length).toBe((err as TrainingDivergedError).epoch);
  });

  it('fits a regression head with MSE or MAE', async () => {
    const target = Float32Array.from({ length: data.n }, (_, i) => 3 * data.X[i * data.d] - data.X[i * data.d + 1] + 10);
    for (const loss of ['mse', 'mae'] as const) {
      const r = await trainModel({ ...data, y: target, spec: { kind: 'logistic', head: 'regression', loss, epochs: 60, learningRate: 0.1 } });
      const p = r.model.predict(data.X, data.n);
      let mae = 0;
      for (let i = 0; i < data.n; i++) mae += Math.abs(p[i] - target[i]) / data.n;
      expect(mae).toBeLessThan(0.5);
      expect(r.model.spec).toMatchObject({ head: 'regression', loss });
      const loaded = await loadModel(await r.model.serialize());
      expect(loaded.predict(data.X.subarray(0, 12), 3)).toEqual(r.model.predict(data.X.subarray(0, 12), 3));
      [r.model, loaded].forEach((m) => m.dispose());
    }
  });

  it('weighs classes: balanced weights raise the recall of a rare positive class', async () => {
    const rare = data.y.map((v, i) => (v === 1 && i % 5 !== 0 ? 0 : v));
    const recall = async (classWeight: 'none' | 'balanced'): Promise<number> => {
      const r = await trainModel({ ...data, y: rare, spec: { kind: 'logistic', epochs: 10, classWeight } });
      const p = r.model.predict(data.X, data.n);
      r.model.dispose();
      let tp = 0;
      let pos = 0;
      for (let i = 0; i < data.n; i++) if (rare[i] === 1) [pos, tp] = [pos + 1, tp + (p[i] > 0.5 ? 1 : 0)];
      return tp / pos;
    };
    expect(await recall('balanced')).toBeGreaterThan((await recall('none')) + 0.2);
  });

  it('dropout stays reproducible', async () => {
    const spec = { kind: 'mlp' as const, hidden: [16, 8], dropout: 0.3, epochs: 3 };
    const [a, b] = [await trainModel({ ...data, spec }), await trainModel({ ...data, spec })];
    expect((await a.model.serialize()).equals(await b.model.serialize())).toBe(true);
    [a, b].forEach((r) => r.model.dispose());
  });

  it('validates its inputs', async () => {
    const spec = { kind: 'logistic' as const, epochs: 1 };
    await expect(trainModel({ ...data, n: 10, spec })).rejects.toThrow(/training X has 2400 values, expected 10 × 4/);
    const y = data.y.slice();
    y[5] = 2;
    await expect(trainModel({ ...data, y, spec })).rejects.toThrow(/label at row 5 is 2/);
    const X = data.X.slice();
    X[4 * 7 + 1] = Number.NaN;
    await expect(trainModel({ ...data, X, spec })).rejects.toThrow(/training X row 7 column 1 is NaN/);
  });

  it('leaks no tensors across train, predict, serialize, load, abort and dispose', async () => {
    const before = tf.memory().numTensors;
    const r = await trainModel({
      ...data,
      spec: { kind: 'mlp', epochs: 2, l2: 0.01 },
      validation: { X: data.X, y: data.y, n: data.n },
    });
    r.model.predict(data.X, data.n);
    r.model.predict(data.X.subarray(0, 4), 1);
    const buf = await r.model.serialize();
    const loaded = await loadModel(buf);
    loaded.predict(data.X, data.n);
    const warm = await trainModel({ ...data, spec: { kind: 'mlp', epochs: 1, l2: 0.01 }, warmStart: buf });
    const ac = new AbortController();
    await expect(
      trainModel({ ...data, spec: { kind: 'mlp', epochs: 5 }, signal: ac.signal, onEpoch: () => ac.abort() }),
    ).rejects.toThrow();
    await expect(trainModel({ ...synthetic(10, 3), spec: { kind: 'mlp' }, warmStart: buf })).rejects.toThrow();
    r.model.dispose();
    loaded.dispose();
    warm.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
