import { weatherRows } from '@refit/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyTransform, fitTransform, gridOf, initBackend, labelsOf, sampleSpace, searchModel, trainModel, TrainingDivergedError } from './index.js';
import type { FeatureSpec, LabelSpec, RawRow, SearchSpec, TrialRecord } from './index.js';
import { tf } from './tf.js';

// The Seattle weather task of shared/DATA.md: rain from temperatures and wind.
const rows: RawRow[] = weatherRows('Seattle');
const features: FeatureSpec[] = [
  { name: 'temp_max', type: 'number' },
  { name: 'temp_min', type: 'number' },
  { name: 'wind', type: 'number' },
];
const label: LabelSpec = { column: 'precipitation', positive: { gt: 0 } };
const between = (from: string, to: string) => rows.filter((r) => String(r.date) >= from && String(r.date) < to);
const train = between('2012-01-01', '2014-01-01');
const validation = between('2014-01-01', '2015-01-01');
const transform = fitTransform(train, features);
const matrix = (rs: RawRow[]) => ({ ...applyTransform(transform, rs), y: labelsOf(rs, label) });
const tr = matrix(train);
const va = matrix(validation);
const input = { X: tr.X, y: tr.y, n: tr.n, d: tr.d, validation: { X: va.X, y: va.y, n: va.n } };

const space: SearchSpec['space'] = {
  kind: { choices: ['logistic', 'mlp'] },
  hidden: { choices: [[8], [16, 8]] },
  learningRate: { logRange: [0.001, 0.1] },
};

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('search spaces', () => {
  it('samples reproducibly within the declared domains', () => {
    const a = sampleSpace(space, 30, 5);
    expect(sampleSpace(space, 30, 5)).toEqual(a);
    expect(sampleSpace(space, 30, 6)).not.toEqual(a);
    for (const p of a) {
      expect(['logistic', 'mlp']).toContain(p.kind);
      expect(p.learningRate).toBeGreaterThanOrEqual(0.001);
      expect(p.learningRate).toBeLessThanOrEqual(0.1);
    }
    // Log-uniform: about as many draws below 0.01 as above.
    const below = a.filter((p) => (p.learningRate ?? 0) < 0.01).length;
    expect(below).toBeGreaterThan(8);
    expect(below).toBeLessThan(22);
  });

  it('grids choices × evenly spaced range points', () => {
    const g = gridOf({ learningRate: { logRange: [0.001, 0.1] }, batchSize: { range: [16, 64], integer: true }, activation: { choices: ['relu', 'tanh'] } }, 3);
    expect(g).toHaveLength(18);
    expect([...new Set(g.map((p) => p.learningRate))]).toEqual([0.001, 0.01, 0.1]);
    expect([...new Set(g.map((p) => p.batchSize))]).toEqual([16, 40, 64]);
  });

  it('names the bad field', () => {
    expect(() => sampleSpace({ learningRate: { logRange: [0, 1] } }, 1, 1)).toThrow(/space.learningRate.logRange bounds must be > 0/);
    expect(() => sampleSpace({ seed: { choices: [1] } } as never, 1, 1)).toThrow(/space.seed: not a tunable field/);
  });
});

describe('searchModel on Seattle weather', () => {
  const base = { kind: 'logistic' as const, epochs: 20, earlyStopping: { patience: 3 } };

  it('the tuned model beats the untuned default on the validation split, and every trial is recorded', async () => {
    // The space tunes the learning rate, so the trials run Adam (Newton has none to tune): the
    // default to beat is Adam's.
    const untuned = await trainModel({ ...input, spec: { kind: 'logistic', epochs: 20, solver: 'adam' } });
    const defaultLoss = untuned.history.at(-1)?.valLoss ?? Infinity;
    untuned.model.dispose();
    const seen: TrialRecord[] = [];
    let progress = 0;
    const s = await searchModel({ ...input, spec: base, search: { strategy: 'random', trials: 6, space, seed: 3 }, onTrial: (t) => void seen.push(t), onProgress: () => void progress++ });
    expect(s.trials).toHaveLength(6);
    expect(seen).toEqual(s.trials);
    expect(progress).toBe(s.trials.reduce((a, t) => a + t.epochs, 0));
    expect(s.best.score).toBe(Math.min(...s.trials.map((t) => t.score ?? Infinity)));
    expect(s.best.score).toBeLessThan(defaultLoss);
    for (const t of s.trials) {
      expect(t.curve).toHaveLength(t.epochs);
      expect(t.ms).toBeGreaterThan(0);
    }
    expect(s.spec).toMatchObject(s.best.params);
    expect(s.spec.solver).toBe('adam');
    console.info(`search: best val loss ${s.best.score?.toFixed(4)} (${JSON.stringify(s.best.params)}) vs default ${defaultLoss.toFixed(4)}`);
    s.model.dispose();
  });

  it('two searches with the same seed give identical weights; refit on train+validation too', async () => {
    const search: SearchSpec = { strategy: 'random', trials: 3, space, seed: 11, refit: 'train+validation' };
    const a = await searchModel({ ...input, spec: base, search });
    const b = await searchModel({ ...input, spec: base, search });
    expect((await a.model.serialize()).equals(await b.model.serialize())).toBe(true);
    expect(a.trials.map((t) => t.score)).toEqual(b.trials.map((t) => t.score));
    expect(a.refitHistory).toHaveLength(a.best.bestEpoch);
    expect(a.spec.earlyStopping).toBeNull();
    [a, b].forEach((r) => r.model.dispose());
  });

  it('successive halving trains survivors longer and keeps the best of the last rung', async () => {
    const s = await searchModel({ ...input, spec: { kind: 'mlp', epochs: 18 }, search: { strategy: 'halving', trials: 9, eta: 3, space: { learningRate: { logRange: [0.001, 0.1] } } } });
    const rungs = [0, 1, 2].map((r) => s.trials.filter((t) => t.rung === r));
    expect(rungs.map((r) => r.length)).toEqual([9, 3, 1]);
    expect(rungs.map((r) => r[0].epochs)).toEqual([2, 6, 18]);
    // Survivors are the best of the rung below.
    const best3 = [...rungs[0]].sort((x, y) => (x.score ?? 9) - (y.score ?? 9)).slice(0, 3).map((t) => t.params.learningRate);
    expect(rungs[1].map((t) => t.params.learningRate).sort()).toEqual(best3.sort());
    expect(s.best).toBe(rungs[2][0]);
    s.model.dispose();
  });

  it('a warm-started run converges in fewer epochs than a cold one', async () => {
    const previous = matrix(between('2012-01-01', '2013-01-01'));
    const next = matrix(between('2013-01-01', '2014-01-01'));
    const spec = { kind: 'mlp' as const, epochs: 60, learningRate: 0.01, earlyStopping: { patience: 3 } };
    const champion = await trainModel({ ...previous, spec: { ...spec, earlyStopping: null, epochs: 30 } });
    const args = { X: next.X, y: next.y, n: next.n, d: next.d, validation: input.validation, spec };
    const cold = await trainModel(args);
    const warm = await trainModel({ ...args, warmStart: await champion.model.serialize() });
    expect(warm.stopReason).toBe('early-stopped');
    expect(warm.epochs).toBeLessThan(cold.epochs);
    expect(warm.bestLoss).toBeLessThan(cold.bestLoss + 0.01);
    [champion, cold, warm].forEach((r) => r.model.dispose());
  });

  it('a diverging learning rate is caught: the trial is recorded as diverged and never chosen', async () => {
    await expect(trainModel({ ...input, spec: { kind: 'mlp', epochs: 5, learningRate: 1e6 } })).rejects.toThrow(TrainingDivergedError);
    const s = await searchModel({ ...input, spec: { kind: 'mlp', epochs: 4 }, search: { strategy: 'grid', space: { learningRate: { choices: [1e6, 0.01] } } } });
    expect(s.trials.map((t) => t.status)).toEqual(['diverged', 'completed']);
    expect(s.trials[0].score).toBeNull();
    expect(s.trials[0].error).toMatch(/diverged/);
    expect(s.best.trial).toBe(1);
    s.model.dispose();
    await expect(
      searchModel({ ...input, spec: { kind: 'mlp', epochs: 2 }, search: { strategy: 'grid', space: { learningRate: { choices: [1e6] } } } }),
    ).rejects.toThrow(/no trial produced a usable model \(1 of 1 diverged\)/);
  });

  it('holds no tensors after 20 trials beyond the returned model, and none once it is disposed', async () => {
    const before = tf.memory().numTensors;
    const s = await searchModel({ ...input, spec: { kind: 'mlp', epochs: 2, earlyStopping: { patience: 1 } }, search: { strategy: 'random', trials: 20, space: { ...space, dropout: { range: [0, 0.3] }, l2: { logRange: [1e-5, 1e-2] } } } });
    expect(s.trials).toHaveLength(20);
    const held = s.model.spec.kind === 'mlp' ? 2 * (s.model.spec.hidden.length + 1) : 2;
    expect(tf.memory().numTensors).toBe(before + held);
    s.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('returns to its starting tensor count after 100 trials (tiny data, 1–2 epochs each)', async () => {
    const tiny = matrix(train.slice(0, 48));
    const tinyVal = matrix(validation.slice(0, 24));
    const before = tf.memory();
    const s = await searchModel({
      X: tiny.X,
      y: tiny.y,
      n: tiny.n,
      d: tiny.d,
      validation: { X: tinyVal.X, y: tinyVal.y, n: tinyVal.n },
      spec: { kind: 'mlp', epochs: 2, batchSize: 16, earlyStopping: { patience: 1 } },
      search: { strategy: 'random', trials: 100, space: { ...space, epochs: { choices: [1, 2] }, dropout: { range: [0, 0.3] }, l2: { logRange: [1e-5, 1e-2] } } },
    });
    expect(s.trials).toHaveLength(100);
    expect(new Set(s.trials.map((t) => t.epochs))).toEqual(new Set([1, 2]));
    s.model.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it('stops starting trials when the time budget is spent', async () => {
    const s = await searchModel({ ...input, spec: { kind: 'mlp', epochs: 50 }, search: { strategy: 'random', trials: 50, space }, deadline: Date.now() + 300 });
    expect(s.budgetExhausted).toBe(true);
    expect(s.trials.length).toBeLessThan(50);
    s.model.dispose();
  });
});
