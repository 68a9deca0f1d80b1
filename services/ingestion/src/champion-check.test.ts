import { create } from '@bufbuild/protobuf';
import { GetAliasResponseSchema, type GetAliasResponse } from '@refit/contracts';
import { applyTransform, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { NotFoundError, UnavailableError } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { weatherRows } from '@refit/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createChampionCheck, type ChampionCheckDeps } from './champion-check.js';

const spec = parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: rain
schema:
  columns:
    - { name: precipitation, type: number, min: 0 }
    - { name: temp_max, type: number }
    - { name: temp_min, type: number }
    - { name: wind, type: number }
label: { column: precipitation, positive: { gt: 0 } }
features: [{ name: temp_max, type: number }, { name: temp_min, type: number }, { name: wind, type: number }]
model: { kind: logistic, epochs: 30, learningRate: 0.05, seed: 42 }
`);
const train = weatherRows('Seattle', '2012-01-01', '2014-01-01') as RawRow[];
const april = weatherRows('Seattle', '2014-04-01', '2014-05-01') as RawRow[];
const never = new Promise<never>(() => undefined);
const champion = (metrics: Record<string, number> = { auc: 0.8 }): GetAliasResponse =>
  create(GetAliasResponseSchema, { model: { version: 'v2', metrics, lineage: { model: { key: 'm.refitm' }, transform: { key: 't.json' } } } });

describe('the champion check', () => {
  const objects = new Map<string, Buffer>();
  const deps = (over: Partial<ChampionCheckDeps>): ChampionCheckDeps => ({
    registry: { getAlias: () => Promise.resolve(champion()) },
    registryAddress: 'registry:50056',
    store: { get: (key: string) => Promise.resolve(objects.get(key) ?? Buffer.alloc(0)) },
    tfBackend: 'auto',
    timeoutMs: 5000,
    ...over,
  });

  beforeAll(async () => {
    await initBackend({ prefer: 'auto' });
    const transform = fitTransform(train, spec.features);
    const t = applyTransform(transform, train);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const result = await trainModel({ X: t.X, y: labelsOf(train, spec.label), n: t.n, d: t.d, spec: { ...spec.model, solver: 'adam' } });
    objects.set('m.refitm', Buffer.from(await result.model.serialize()));
    objects.set('t.json', Buffer.from(serializeTransform(transform)));
    result.model.dispose();
  });

  it("scores the labelled rows with the champion's own transform and model, labels under the spec's rule", async () => {
    const rows = [...april, { ...april[0], precipitation: null }];
    const out = await createChampionCheck(deps({}))(spec, rows);
    expect(out).toMatchObject({ kind: 'scored', version: 'v2', evaluatedAuc: 0.8 });
    if (out.kind !== 'scored') return;
    expect(Array.from(out.y)).toEqual(Array.from(labelsOf(april, spec.label)));
    expect(out.scores).toHaveLength(april.length);
    expect(Array.from(out.scores).every((p) => p > 0 && p < 1)).toBe(true);
    const noAuc = await createChampionCheck(deps({ registry: { getAlias: () => Promise.resolve(champion({ accuracy: 0.7 })) } }))(spec, april);
    expect(noAuc).toMatchObject({ kind: 'scored', evaluatedAuc: undefined });
  });

  it('finds no champion when the registry has none, and is not asked for a regression head', async () => {
    expect(await createChampionCheck(deps({ registry: { getAlias: () => Promise.reject(new NotFoundError('no champion')) } }))(spec, april)).toEqual({ kind: 'none' });
    let asked = false;
    const registry = { getAlias: () => ((asked = true), never) };
    expect(await createChampionCheck(deps({ registry }))({ ...spec, model: { ...spec.model, head: 'regression' } }, april)).toEqual({ kind: 'none' });
    expect(asked).toBe(false);
  });

  it('is skipped, saying why, when the registry is down or silent, or the artifacts do not come', async () => {
    const down = await createChampionCheck(deps({ registry: { getAlias: () => Promise.reject(new UnavailableError('connect ECONNREFUSED 10.0.0.9:50056')) } }))(spec, april);
    expect(down).toEqual({ kind: 'skipped', reason: 'the registry at registry:50056 could not be asked for the champion (connect ECONNREFUSED 10.0.0.9:50056)' });
    const silent = await createChampionCheck(deps({ registry: { getAlias: () => never }, timeoutMs: 50 }))(spec, april);
    expect(silent).toEqual({ kind: 'skipped', reason: 'the registry at registry:50056 could not be asked for the champion (no answer within 50 ms)' });
    const stuck = await createChampionCheck(deps({ store: { get: () => never }, timeoutMs: 50 }))(spec, april);
    expect(stuck).toEqual({ kind: 'skipped', reason: 'champion v2 could not score the batch (no answer within 50 ms)' });
    const cancelled = new AbortController();
    cancelled.abort();
    expect(await createChampionCheck(deps({}))(spec, april, cancelled.signal)).toEqual({ kind: 'skipped', reason: 'the registry at registry:50056 could not be asked for the champion (the push was cancelled)' });
  });
});
