import { weatherRows } from '@refit/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyTransform, fitTransform, initBackend, labelsOf, loadModel, parseTransform, serializeTransform, trainModel } from './index.js';
import type { FeatureSpec, LabelSpec, RawRow } from './index.js';

const rows: RawRow[] = weatherRows('Seattle');
const train = rows.filter((r) => String(r.date) < '2015-01-01');
const test = rows.filter((r) => String(r.date) >= '2015-01-01');
const features: FeatureSpec[] = [
  { name: 'temp_max', type: 'number' },
  { name: 'temp_min', type: 'number' },
  { name: 'wind', type: 'number' },
];
const label: LabelSpec = { column: 'precipitation', positive: { gt: 0 } };

function accuracy(p: Float32Array, y: Float32Array): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) ok += (p[i] > 0.5 ? 1 : 0) === y[i] ? 1 : 0;
  return ok / y.length;
}

describe('Seattle weather: will it rain?', () => {
  // Fit on 2012–2014 only; 2015 plays the part of unseen serving traffic.
  const transform = parseTransform(serializeTransform(fitTransform(train, features)));
  const tr = applyTransform(transform, train);
  const te = applyTransform(transform, test);
  const yTrain = labelsOf(train, label);
  const yTest = labelsOf(test, label);
  const positives = yTest.reduce((s, v) => s + v, 0);
  const baseline = Math.max(positives, yTest.length - positives) / yTest.length;

  beforeAll(async () => {
    await initBackend({ prefer: 'wasm' });
  });

  it('has the expected shape', () => {
    expect(rows.length).toBe(1461);
    expect([tr.n, te.n, tr.d]).toEqual([1096, 365, 3]);
    expect(transform.fittedOnRows).toBe(1096);
    expect(baseline).toBeGreaterThan(0.5);
    expect(baseline).toBeLessThan(0.65);
  });

  it('logistic regression beats the majority-class baseline on 2015', async () => {
    const r = await trainModel({ X: tr.X, y: yTrain, n: tr.n, d: tr.d, spec: { kind: 'logistic', epochs: 15 }, validation: { X: te.X, y: yTest, n: te.n } });
    const acc = accuracy(r.model.predict(te.X, te.n), yTest);
    console.info(
      `logistic: acc ${acc.toFixed(3)} vs baseline ${baseline.toFixed(3)}; ${r.backend} ${Math.round((tr.n * r.epochs) / (r.computeMs / 1000))} samples/s`,
    );
    expect(r.backend).toBe('wasm');
    expect(acc).toBeGreaterThan(baseline + 0.1);
    // Serving path: artifact bytes in, same probabilities out.
    const served = await loadModel(await r.model.serialize());
    expect(served.predict(te.X, te.n)).toEqual(r.model.predict(te.X, te.n));
    const one = applyTransform(transform, [{ temp_max: '8.3', temp_min: 4.4, wind: 5.1 }]);
    expect(served.predict(one.X, 1)[0]).toBeCloseTo(r.model.predict(one.X, 1)[0], 7);
    served.dispose();
    r.model.dispose();
  });

  it('an MLP trains too', async () => {
    const r = await trainModel({ X: tr.X, y: yTrain, n: tr.n, d: tr.d, spec: { kind: 'mlp', hidden: [16, 8], epochs: 15 } });
    const acc = accuracy(r.model.predict(te.X, te.n), yTest);
    console.info(`mlp: acc ${acc.toFixed(3)}; ${r.backend} ${Math.round((tr.n * r.epochs) / (r.computeMs / 1000))} samples/s`);
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0].loss);
    expect(acc).toBeGreaterThan(baseline + 0.05);
    r.model.dispose();
  });
});
