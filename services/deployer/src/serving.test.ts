import { resolveModelSpec, type FittedTransform, type TrainedModel } from '@refit/modeling';
import { asRefitError, isFailedPrecondition } from '@refit/platform';
import { describe, expect, it } from 'vitest';
import { isVariantScoringError, ServingTable, type LoadedModel } from './serving.js';

const transform: FittedTransform = {
  version: 1,
  features: [{ name: 'x', kind: 'standardize', mean: 10, std: 2 }],
  outputNames: ['x'],
  fittedOnRows: 3,
};

/** A fake model: p = sigmoid(w·x) of the one standardized input; counts disposals; can run a hook mid-predict. */
class FakeModel implements TrainedModel {
  disposed = 0;
  readonly inputDim = 1;
  readonly spec = resolveModelSpec({ kind: 'logistic' });
  duringPredict?: () => void;
  constructor(readonly w: number) {}
  predict(X: Float32Array, n: number): Float32Array {
    if (this.disposed > 0) throw new Error('model has been disposed');
    this.duringPredict?.();
    // Still alive after whatever happened during the call.
    if (this.disposed > 0) throw new Error('model disposed while a request was using it');
    return Float32Array.from({ length: n }, (_, i) => 1 / (1 + Math.exp(-this.w * X[i])));
  }
  async serialize(): Promise<Buffer> {
    return Buffer.alloc(0);
  }
  dispose(): void {
    this.disposed++;
  }
}

const loaded = (version: string, model: FakeModel, t: FittedTransform = transform, threshold = 0.5): LoadedModel => ({
  pipeline: 'rain',
  version,
  runId: `run-${version}`,
  model,
  transform: t,
  threshold,
  loadedAt: 1,
});

describe('ServingTable', () => {
  it('refuses a pipeline that serves nothing with FAILED_PRECONDITION naming it', () => {
    const table = new ServingTable();
    let err: unknown;
    try {
      table.predict('nope', [{ x: 1 }]);
    } catch (e) {
      err = e;
    }
    expect(isFailedPrecondition(err)).toBe(true);
    expect((err as Error).message).toContain("'nope'");
    expect(table.current('nope')).toBeUndefined();
  });

  it('scores raw rows through the serving version’s own transform', () => {
    const table = new ServingTable();
    const m = new FakeModel(1);
    table.swap(loaded('v1', m));
    const out = table.predict('rain', [{ x: 10 }, { x: 12 }, { x: '8' }]);
    expect(out.version).toBe('v1');
    // (x - 10) / 2 → 0, 1, -1.
    expect(Array.from(out.probabilities)).toEqual([0.5, Math.fround(1 / (1 + Math.exp(-1))), Math.fround(1 / (1 + Math.exp(1)))]);
    expect(table.current('rain')?.version).toBe('v1');
  });

  it('a bad feature value is INVALID_ARGUMENT naming row and column, and leaves the model serving', () => {
    const table = new ServingTable();
    table.swap(loaded('v1', new FakeModel(1)));
    let err: unknown;
    try {
      table.predict('rain', [{ x: 1 }, { x: 'warm' }]);
    } catch (e) {
      err = e;
    }
    expect(asRefitError(err)?.kind).toBe('invalid_input');
    expect((err as Error).message).toMatch(/row 1: column "x" is not a number: "warm"/);
    expect(table.predict('rain', [{ x: 10 }]).probabilities[0]).toBe(0.5);
  });

  it('a swap with nothing in flight disposes the old model at once, and only once', () => {
    const table = new ServingTable();
    const old = new FakeModel(1);
    const next = new FakeModel(-1);
    table.swap(loaded('v1', old));
    table.predict('rain', [{ x: 12 }]);
    table.swap(loaded('v2', next));
    expect(old.disposed).toBe(1);
    expect(next.disposed).toBe(0);
    const out = table.predict('rain', [{ x: 12 }]);
    expect(out.version).toBe('v2');
    expect(out.probabilities[0]).toBeCloseTo(1 / (1 + Math.exp(1)), 6);
    expect(old.disposed).toBe(1);
  });

  it('a swap during a request keeps the old model alive until that request finishes', () => {
    const table = new ServingTable();
    const old = new FakeModel(1);
    const next = new FakeModel(-1);
    table.swap(loaded('v1', old));
    let inner: { version: string; probabilities: Float32Array } | undefined;
    old.duringPredict = () => {
      old.duringPredict = undefined;
      table.swap(loaded('v2', next));
      expect(old.disposed).toBe(0);
      // A request that starts after the swap already gets the new version.
      inner = table.predict('rain', [{ x: 12 }]);
    };
    const out = table.predict('rain', [{ x: 12 }]);
    // The request that started on v1 finished on v1 …
    expect(out.version).toBe('v1');
    expect(out.probabilities[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(inner?.version).toBe('v2');
    // … and only then was v1 disposed, exactly once.
    expect(old.disposed).toBe(1);
    expect(next.disposed).toBe(0);
  });

  it('a request that fails still releases the old model after a swap', () => {
    const table = new ServingTable();
    const old = new FakeModel(1);
    table.swap(loaded('v1', old));
    old.duringPredict = () => {
      table.swap(loaded('v2', new FakeModel(1)));
      throw new Error('boom');
    };
    expect(() => table.predict('rain', [{ x: 1 }])).toThrow('boom');
    expect(old.disposed).toBe(1);
  });

  it('keeps pipelines apart and clear() disposes every model', () => {
    const table = new ServingTable();
    const a = new FakeModel(1);
    const b = new FakeModel(1);
    table.swap(loaded('v1', a));
    table.swap({ ...loaded('v7', b), pipeline: 'other' });
    expect(table.predict('other', [{ x: 10 }]).version).toBe('v7');
    expect(table.predict('rain', [{ x: 10 }]).version).toBe('v1');
    table.clear();
    expect([a.disposed, b.disposed]).toEqual([1, 1]);
    expect(table.current('rain')).toBeUndefined();
  });

  it('a canary row carries the champion\'s score of it too, for divergence', () => {
    const table = new ServingTable();
    table.swap(loaded('v1', new FakeModel(1)));
    table.setCandidate(loaded('v2', new FakeModel(-1)), { strategy: 'canary', weight: 100 });
    const r = table.predictRouted('rain', [{ x: 12 }, { x: 8 }], ['a', 'b']);
    expect(r.rows.map((x) => x.variant)).toEqual(['canary', 'canary']);
    expect(r.rows[0].probability).toBeCloseTo(1 / (1 + Math.exp(1)), 6);
    expect(r.rows[0].championProbability).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(r.rows[1].championProbability).toBeCloseTo(1 / (1 + Math.exp(1)), 6);
  });

  it('a failure is attributed to the variant that failed: canary fails the request, shadow only reports, champion second opinion is dropped', () => {
    const table = new ServingTable();
    const champion = new FakeModel(1);
    const candidate = new FakeModel(-1);
    table.swap(loaded('v1', champion));
    table.setCandidate(loaded('v2', candidate), { strategy: 'canary', weight: 100 });
    candidate.duringPredict = () => {
      throw new Error('boom');
    };
    let err: unknown;
    try {
      table.predictRouted('rain', [{ x: 1 }, { x: 2 }], ['a', 'b']);
    } catch (e) {
      err = e;
    }
    expect(isVariantScoringError(err) && err.failure).toEqual({ version: 'v2', variant: 'canary', rows: 2 });
    expect(((err as Error).cause as Error).message).toBe('boom');

    table.route('rain', { strategy: 'shadow' });
    const shadow = table.predictRouted('rain', [{ x: 1 }], ['c']);
    expect(shadow.rows[0].variant).toBe('champion');
    expect(shadow.failures).toEqual([{ version: 'v2', variant: 'shadow', rows: 1 }]);

    candidate.duringPredict = undefined;
    table.route('rain', { strategy: 'canary', weight: 100 });
    champion.duringPredict = () => {
      throw new Error('champion down');
    };
    const canary = table.predictRouted('rain', [{ x: 1 }], ['d']);
    expect(canary.rows[0]).toMatchObject({ variant: 'canary', version: 'v2' });
    // No second opinion: the row is not paired, so the champion's threshold is not claimed either.
    expect(canary.rows[0].championProbability).toBeUndefined();
    expect(canary.rows[0].championThreshold).toBeUndefined();
  });

  it('times each answering variant on its own rows, so a slow candidate shows in its own latency', () => {
    const table = new ServingTable();
    const slow = new FakeModel(-1);
    slow.duringPredict = () => {
      const until = performance.now() + 30;
      while (performance.now() < until) {
        // Busy: a model that takes 30 ms per call.
      }
    };
    table.swap(loaded('v1', new FakeModel(1)));
    table.setCandidate(loaded('v2', slow), { strategy: 'canary', weight: 50 });
    const ids = Array.from({ length: 40 }, (_, i) => `p-${i}`);
    const r = table.predictRouted('rain', ids.map(() => ({ x: 10 })), ids);
    const n = r.rows.filter((x) => x.variant === 'canary').length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(40);
    expect(r.scoringMsPerRow.canary).toBeGreaterThanOrEqual(30 / n);
    expect(r.scoringMsPerRow.champion).toBeLessThan(r.scoringMsPerRow.canary ?? 0);
  });

  it('each answered row carries the decision threshold of the version that answered it', () => {
    const table = new ServingTable();
    table.swap(loaded('v1', new FakeModel(1), transform, 0.3));
    table.setCandidate(loaded('v2', new FakeModel(1), transform, 0.7), { strategy: 'canary', weight: 50 });
    const ids = Array.from({ length: 200 }, (_, i) => `id-${i}`);
    const r = table.predictRouted('rain', ids.map(() => ({ x: 1 })), ids);
    expect(new Set(r.rows.map((x) => `${x.version}@${x.threshold}`))).toEqual(new Set(['v1@0.3', 'v2@0.7']));
    // A candidate's row also carries the champion's threshold next to its background score (paired evidence).
    expect(new Set(r.rows.filter((x) => x.variant === 'canary').map((x) => x.championThreshold))).toEqual(new Set([0.3]));
    table.setCandidate(loaded('v3', new FakeModel(1), transform, 0.6), { strategy: 'shadow' });
    expect(table.predictRouted('rain', [{ x: 1 }], ['x']).shadow?.threshold).toBe(0.6);
  });

  it('answers a row without a feature its spec imputes, saying so per row; refuses one it does not impute', () => {
    const imputing: FittedTransform = { version: 2, features: [{ name: 'x', kind: 'standardize', mean: 10, std: 2, fill: 10, imputed: true }], outputNames: ['x'], fittedOnRows: 3 };
    const table = new ServingTable();
    table.swap(loaded('v1', new FakeModel(1), imputing));
    const r = table.predictRouted('rain', [{ x: 12 }, {}, { x: null }], ['a', 'b', 'c']);
    expect(r.rows.map((x) => x.imputed)).toEqual([undefined, ['x'], ['x']]);
    // The fill is the declared one: the standardized input is 0, so p = 0.5.
    expect(r.rows[1].probability).toBeCloseTo(0.5, 6);
    table.swap(loaded('v2', new FakeModel(1)));
    let err: unknown;
    try {
      table.predictRouted('rain', [{}], ['d']);
    } catch (e) {
      err = e;
    }
    expect(isVariantScoringError(err) && asRefitError(err.cause)?.message).toMatch(/feature "x" is missing in the row: model v2 was trained with it/);
  });
});
