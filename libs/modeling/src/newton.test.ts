import { wageRows, weatherRows } from '@refit/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelingInputError, applyTransform, fitTransform, initBackend, labelsOf, loadModel, resolveModelSpec, solverFor, trainModel } from './index.js';
import type { FeatureSpec, LabelSpec, ModelSpec, RawRow } from './index.js';
import { linearLoss, newtonStep, type LinearParams, type LinearProblem } from './newton.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

type Split = { X: Float32Array; y: Float32Array; n: number; d: number };

/** Deterministic train/validation split by row index (every 4th row validates). */
function splitOf(rows: RawRow[], features: FeatureSpec[], label: LabelSpec): { train: Split; val: Split } {
  const tr = rows.filter((_, i) => i % 4 !== 3);
  const va = rows.filter((_, i) => i % 4 === 3);
  const t = fitTransform(tr, features);
  const a = applyTransform(t, tr);
  const b = applyTransform(t, va);
  return { train: { X: a.X, y: labelsOf(tr, label), n: a.n, d: a.d }, val: { X: b.X, y: labelsOf(va, label), n: b.n, d: b.d } };
}

const weather = splitOf(
  [...weatherRows('Seattle'), ...weatherRows('New York')],
  [
    { name: 'temp_max', type: 'number' },
    { name: 'temp_min', type: 'number' },
    { name: 'wind', type: 'number' },
    { name: 'location', type: 'category' },
    { name: 'date', type: 'date' },
  ],
  { column: 'precipitation', positive: { gt: 0 } },
);

const wages = splitOf(
  wageRows(),
  [
    { name: 'education', type: 'number' },
    { name: 'experience', type: 'number' },
    { name: 'age', type: 'number' },
    { name: 'south', type: 'number' },
    { name: 'union', type: 'number' },
    { name: 'married', type: 'number' },
    { name: 'gender', type: 'category' },
    { name: 'race', type: 'category' },
    { name: 'occupation', type: 'category' },
    { name: 'sector', type: 'category' },
  ],
  { column: 'wage', positive: { gt: 7.78 } },
);

async function fit(data: { train: Split; val: Split }, spec: ModelSpec) {
  const { train, val } = data;
  return trainModel({ ...train, spec, validation: { X: val.X, y: val.y, n: val.n } });
}

describe('Newton (IRLS) for linear models', () => {
  it.each([
    ['Seattle + New York weather', weather],
    ['1985 wages', wages],
  ])('on %s: validation loss no worse than 50 epochs of mini-batch Adam, in fewer passes', async (_name, data) => {
    const adam = await fit(data, { kind: 'logistic', solver: 'adam' });
    const newton = await fit(data, { kind: 'logistic' });
    expect(adam.solver).toBe('adam');
    expect(newton.solver).toBe('newton');
    expect(newton.stopReason).toBe('converged');
    expect(newton.epochs).toBeLessThan(20);
    const [a, b] = [adam.history.at(-1)!.valLoss!, newton.history.at(-1)!.valLoss!];
    console.info(`${_name}: validation log loss adam ${a.toFixed(4)} (${adam.epochs} epochs, ${adam.computeMs.toFixed(0)} ms), newton ${b.toFixed(4)} (${newton.epochs} passes, ${newton.computeMs.toFixed(0)} ms)`);
    expect(b).toBeLessThanOrEqual(a + 0.002);
    // The net holds what was reported: its predictions give the last validation loss.
    const p = newton.model.predict(data.val.X, data.val.n);
    let ll = 0;
    for (let i = 0; i < data.val.n; i++) {
      const q = Math.min(Math.max(p[i], 1e-7), 1 - 1e-7);
      ll -= data.val.y[i] * Math.log(q) + (1 - data.val.y[i]) * Math.log(1 - q);
    }
    expect(ll / data.val.n).toBeCloseTo(b, 4);
    [adam, newton].forEach((r) => r.model.dispose());
  });

  it('reaches a stationary point of the penalised loss (finite-difference gradient ≈ 0)', () => {
    const { X, y, n, d } = wages.train;
    const prob: LinearProblem = { X, y, n, d, head: 'binary', l2: 0.001 };
    let params: LinearParams = { w: new Float64Array(d), b: 0 };
    let converged = false;
    for (let i = 0; i < 50 && !converged; i++) ({ params, converged } = newtonStep(prob, params));
    expect(converged).toBe(true);
    const h = 1e-5;
    for (let j = 0; j <= d; j++) {
      const bump = (s: number) => {
        const w = Float64Array.from(params.w);
        if (j < d) w[j] += s * h;
        return linearLoss(prob, { w, b: j === d ? params.b + s * h : params.b });
      };
      expect(Math.abs((bump(1) - bump(-1)) / (2 * h))).toBeLessThan(1e-6);
    }
  });

  it('solves least squares in one pass (a regression head with MSE equals the normal equations)', async () => {
    const { X, n, d } = weather.train;
    const target = Float32Array.from({ length: n }, (_, i) => 2 * X[i * d] - 0.5 * X[i * d + 1] + 3 + Math.sin(i) * 0.1);
    const r = await trainModel({ X, y: target, n, d, spec: { kind: 'logistic', head: 'regression', l2: 0 } });
    expect(r.solver).toBe('newton');
    expect(r.stopReason).toBe('converged');
    expect(r.epochs).toBe(2); // the solving pass, then one that finds nothing left to do
    const p = r.model.predict(X, n);
    let mse = 0;
    for (let i = 0; i < n; i++) mse += (p[i] - target[i]) ** 2 / n;
    expect(mse).toBeLessThan(0.011);
    r.model.dispose();
  });

  it('keeps weights finite on separable data, and is bit-identical run after run', async () => {
    // y = [x0 > 0]: perfectly separable, whose unpenalised optimum is at infinity.
    const n = 400;
    const d = 2;
    const X = Float32Array.from({ length: n * d }, (_, k) => Math.sin((k + 1) * 7.77));
    const y = Float32Array.from({ length: n }, (_, i) => (X[i * d] > 0 ? 1 : 0));
    const a = await trainModel({ X, y, n, d, spec: { kind: 'logistic' } });
    const b = await trainModel({ X, y, n, d, spec: { kind: 'logistic' } });
    expect(a.stopReason).toBe('converged');
    expect((await a.model.serialize()).equals(await b.model.serialize())).toBe(true);
    expect(a.history).toEqual(b.history);
    const p = a.model.predict(X, n);
    expect(Math.max(...p)).toBeLessThan(1 - 1e-6);
    expect(Math.min(...p)).toBeGreaterThan(1e-6);
    const loaded = await loadModel(await a.model.serialize());
    expect(loaded.spec.solver).toBe('auto');
    expect(loaded.predict(X, n)).toEqual(p);
    [a.model, b.model, loaded].forEach((m) => m.dispose());
  });

  it('warm-starts from a model and converges from there, with class weights and early stopping', async () => {
    const { train, val } = weather;
    const cold = await fit(weather, { kind: 'logistic', classWeight: 'balanced' });
    const warm = await trainModel({ ...train, spec: { kind: 'logistic', classWeight: 'balanced', earlyStopping: { patience: 2 } }, validation: { X: val.X, y: val.y, n: val.n }, warmStart: await cold.model.serialize() });
    expect(warm.epochs).toBeLessThanOrEqual(2);
    expect(warm.history[0].loss).toBeCloseTo(cold.history.at(-1)!.loss, 5);
    [cold.model, warm.model].forEach((m) => m.dispose());
  });

  it('is chosen where it pays, and refused where it does not apply', () => {
    const logistic = resolveModelSpec({ kind: 'logistic' });
    expect(solverFor(logistic, 10_000, 30)).toBe('newton');
    expect(solverFor(logistic, 100_000, 300)).toBe('adam');
    expect(solverFor(resolveModelSpec({ kind: 'logistic', solver: 'newton' }), 100_000, 300)).toBe('newton');
    expect(solverFor(resolveModelSpec({ kind: 'mlp' }), 100, 3)).toBe('adam');
    expect(solverFor(resolveModelSpec({ kind: 'logistic', head: 'regression', loss: 'mae' }), 100, 3)).toBe('adam');
    expect(() => solverFor(resolveModelSpec({ kind: 'mlp', solver: 'newton' }), 100, 3)).toThrow(ModelingInputError);
    expect(() => solverFor(resolveModelSpec({ kind: 'mlp', solver: 'newton' }), 100, 3)).toThrow(/solver newton fits a logistic model.*use solver adam or auto/);
    expect(() => resolveModelSpec({ kind: 'logistic', solver: 'sgd' as 'adam' })).toThrow(/solver must be auto, newton or adam, got sgd/);
  });
});
