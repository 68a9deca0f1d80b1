import { create, fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EvaluatorService, LineageSchema, type Lineage } from '@refit/contracts';
import { binaryMetrics } from '@refit/ml';
import { applyTransform, encodeMatrix, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, withTransaction, wireRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, weatherRows, type ServiceProcess, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startEvaluatorService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const spec = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));
const jsonl = (rows: RawRow[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);

// The candidate is tested on Seattle 2015. The champion trained on 2014 and on the first half of
// 2015 and early-stopped on the third quarter: judged on all of 2015 it would look better than it is.
const test = weatherRows('Seattle', '2015-01-01', '2016-01-01') as RawRow[];
const championTrain = weatherRows('Seattle', '2014-01-01', '2015-07-01') as RawRow[];
const championValidation = weatherRows('Seattle', '2015-07-01', '2015-10-01') as RawRow[];
const clean = test.filter((r) => String(r.date) >= '2015-10-01');

describe('the champion is never judged on rows it trained or early-stopped on', () => {
  let env: TestEnv;
  let registry: ServiceProcess;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof EvaluatorService>>;

  async function stored(train: RawRow[], validation: RawRow[], seed: number): Promise<{ lineage: Lineage; scoreOn: (rows: RawRow[]) => Float32Array }> {
    const transform = fitTransform(train, spec.features);
    const tr = applyTransform(transform, train);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const result = await trainModel({ X: tr.X, y: labelsOf(train, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam', epochs: 10, seed } });
    const te = applyTransform(transform, test);
    const [model, transformRef, featuresTest, rawTest, rawTrain, rawValidation] = await Promise.all([
      rt.store.putContentAddressed('pipelines/weather-rain/models', await result.model.serialize(), '.refitm'),
      rt.store.putContentAddressed('pipelines/weather-rain/transforms', serializeTransform(transform), '.json'),
      rt.store.putContentAddressed('pipelines/weather-rain/features', encodeMatrix({ ...te, y: labelsOf(test, spec.label) }), '.bin'),
      rt.store.putContentAddressed('pipelines/weather-rain/snapshots', jsonl(test), '.jsonl'),
      rt.store.putContentAddressed('pipelines/weather-rain/snapshots', jsonl(train), '.jsonl'),
      rt.store.putContentAddressed('pipelines/weather-rain/snapshots', jsonl(validation), '.jsonl'),
    ]);
    const m = result.model;
    return {
      lineage: create(LineageSchema, {
        rawTest: wireRef(rawTest),
        rawTrain: wireRef(rawTrain),
        rawValidation: wireRef(rawValidation),
        transform: wireRef(transformRef),
        featuresTest: wireRef(featuresTest),
        featureNames: transform.outputNames,
        model: wireRef(model),
        seed: BigInt(seed),
      }),
      scoreOn: (rows) => {
        const t = applyTransform(transform, rows);
        return m.predict(t.X, t.n);
      },
    };
  }

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    return (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` })).map((e) => fromBinary(def.schema, e.data));
  }

  async function evaluate(runId: string, lineage: Lineage) {
    const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'leakage test' };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelTrained, { context, lineage }, { runId }));
    rt.relay.kick();
    await waitFor(async () => (await events(EVENTS.modelRegistered)).find((e) => e.context?.runId === runId), { what: `model.registered of ${runId}` });
    return waitFor(async () => (await events(EVENTS.modelEvaluated)).find((e) => e.context?.runId === runId), { what: `model.evaluated of ${runId}` });
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'evaluator-leakage' });
    registry = await startServiceProcess('registry', env.env);
    const config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registry.address }));
    rt = await startTestRuntime(config, join(here, 'migrations'));
    await startEvaluatorService(rt, config);
    client = createClient(EvaluatorService, rt.server?.address ?? '');
    await initBackend({ prefer: config.tfBackend });
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await registry?.stop();
    await env?.cleanup();
  });

  it('compares on the test rows neither model saw, says how many were left out and why, and scores the champion on exactly those', async () => {
    const champion = await stored(championTrain, championValidation, 42);
    expect((await evaluate('l-1', champion.lineage)).verdict).toBeDefined();
    const candidate = await stored(weatherRows('Seattle', '2013-01-01', '2015-01-01') as RawRow[], [], 7);

    const evaluated = await evaluate('l-2', candidate.lineage);
    const leftOut = test.length - clean.length;
    expect(evaluated.championVersion).toBe('v1');
    expect(evaluated.reasons.at(-1)).toBe(`note: evaluated on ${clean.length} of ${test.length} test rows: champion v1 trained or early-stopped on ${leftOut} of the ${test.length} test rows, so they were left out`);
    // Every comparison counts only the clean rows…
    for (const r of evaluated.reasons.filter((x) => x.includes("vs champion v1's"))) expect(r).toContain(`on the same ${clean.length} test rows`);
    // …and both models' numbers are theirs on exactly those rows.
    const y = labelsOf(clean, spec.label);
    expect(evaluated.championMetrics.auc).toBeCloseTo(binaryMetrics(y, champion.scoreOn(clean)).rocAuc ?? Number.NaN, 6);
    expect(evaluated.candidateMetrics.auc).toBeCloseTo(binaryMetrics(y, candidate.scoreOn(clean)).rocAuc ?? Number.NaN, 6);
    // Not its numbers on all of 2015, which include rows it trained on.
    expect(evaluated.championMetrics.auc).not.toBeCloseTo(binaryMetrics(labelsOf(test, spec.label), champion.scoreOn(test)).rocAuc ?? 0, 6);

    const { report } = await client.getReport({ runId: 'l-2' });
    const json = JSON.parse(report?.reportJson ?? '{}') as { curves: { rows: number; candidate: { calibration: { count: number[] } }; champion?: { calibration: { count: number[] } } } };
    expect(json).toMatchObject({ rowsTest: clean.length, leftOut: { rows: leftOut, of: test.length } });
    // The curves are drawn on the same clean rows, for both models.
    expect(json.curves.rows).toBe(clean.length);
    const total = (count: number[] = []) => count.reduce((a, b) => a + b, 0);
    expect(total(json.curves.candidate.calibration.count)).toBe(clean.length);
    expect(total(json.curves.champion?.calibration.count)).toBe(clean.length);
  });
});
