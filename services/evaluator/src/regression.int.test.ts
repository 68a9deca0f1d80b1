import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryService, Verdict } from '@refit/contracts';
import { mae, r2, rmse } from '@refit/ml';
import { applyTransform, decodeMatrix, encodeMatrix, fitTransform, initBackend, labelsOf, loadModel, serializeTransform, type RawRow } from '@refit/modeling';
import {
  createClient,
  EVENTS,
  withTransaction,
  wireRef,
  type EventDef,
  type ServiceRuntime,
} from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, wageRows, type ServiceProcess, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startEvaluatorService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '../../..');
const spec = parseSpec(readFileSync(join(root, 'examples/wage-regression.yaml'), 'utf8'));

// The 1985 CPS wages, typed the way ingestion writes them; every fifth row pair is test, as in the unit tests.
const rows = wageRows();
const test = rows.filter((_, i) => i % 5 < 2);
const validation = rows.filter((_, i) => i % 5 === 2);
const train = rows.filter((_, i) => i % 5 > 2);
const jsonl = (rs: RawRow[]): Buffer => Buffer.from(`${rs.map((r) => JSON.stringify(r)).join('\n')}\n`);

describe('a numeric target from the feature service through the trainer and the evaluator (feature, trainer and registry as processes)', () => {
  let env: TestEnv;
  let registry: ServiceProcess;
  let trainer: ServiceProcess;
  let feature: ServiceProcess;
  let rt: ServiceRuntime;
  let registryClient: ReturnType<typeof createClient<typeof RegistryService>>;
  let lineage: Parameters<typeof rt.publish<typeof EVENTS.featuresReady.schema>>[2]['lineage'];
  let yTest: Float32Array;
  let XTest: Float32Array;

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return stored.map((e) => fromBinary(def.schema, e.data));
  }
  const eventOf = <S extends DescMessage>(def: EventDef<S>, runId: string, pick: (e: MessageShape<S>) => string | undefined) =>
    waitFor(async () => (await events(def)).find((e) => pick(e) === runId), { timeoutMs: 60_000, what: `${def.name} of ${runId}` });

  // `seed`: the model's seed (another one gives other weights: a real candidate, not the champion again).
  const contextOf = (runId: string, seed = spec.model.seed) => ({
    runId,
    pipeline: spec.name,
    specVersion: 1,
    specJson: JSON.stringify({ ...spec, model: { ...spec.model, seed } }),
    triggerKind: 'manual',
    triggerReason: 'regression test',
  });

  /** Publishes features.ready (what the feature service emits) and follows the run to the registry. */
  async function run(runId: string, seed?: number) {
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.featuresReady, { context: contextOf(runId, seed), lineage }, { runId }));
    rt.relay.kick();
    return followed(runId);
  }

  async function followed(runId: string) {
    const trained = await eventOf(EVENTS.modelTrained, runId, (e) => e.context?.runId);
    const evaluated = await eventOf(EVENTS.modelEvaluated, runId, (e) => e.context?.runId);
    const registered = await eventOf(EVENTS.modelRegistered, runId, (e) => e.context?.runId);
    return { trained, evaluated, registered };
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'evaluator-regression' });
    registry = await startServiceProcess('registry', env.env);
    trainer = await startServiceProcess('trainer', { ...env.env, REFIT_REGISTRY_ADDR: registry.address });
    feature = await startServiceProcess('feature', env.env);
    const config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registry.address }));
    rt = await startTestRuntime(config, join(here, 'migrations'));
    await startEvaluatorService(rt, config);
    registryClient = createClient(RegistryService, registry.address);
    await initBackend({ prefer: config.tfBackend });

    // What the feature service produces for a regression head: the raw wage as the label.
    const transform = fitTransform(train, spec.features);
    const put = (rs: RawRow[]) => {
      const t = applyTransform(transform, rs);
      return rt.store.putContentAddressed(`pipelines/${spec.name}/features`, encodeMatrix({ ...t, y: labelsOf(rs, spec.label, spec.model.head) }), '.bin');
    };
    const [transformRef, fTrain, fValidation, fTest, rawTest] = await Promise.all([
      rt.store.putContentAddressed(`pipelines/${spec.name}/transforms`, serializeTransform(transform), '.json'),
      put(train),
      put(validation),
      put(test),
      rt.store.putContentAddressed(`pipelines/${spec.name}/snapshots`, jsonl(test), '.jsonl'),
    ]);
    lineage = {
      snapshotSha256: 'wages',
      rowsTrain: BigInt(train.length),
      rowsTest: BigInt(test.length),
      rawTest: wireRef(rawTest),
      transform: wireRef(transformRef),
      featuresTrain: wireRef(fTrain),
      featuresValidation: wireRef(fValidation),
      featuresTest: wireRef(fTest),
      featureNames: transform.outputNames,
    };
    yTest = labelsOf(test, spec.label, 'regression');
    XTest = applyTransform(transform, test).X;
  }, 120_000);
  afterAll(async () => {
    registryClient?.close();
    await rt?.close();
    await feature?.stop();
    await trainer?.stop();
    await registry?.stop();
    await env?.cleanup();
  });

  it('trains on the wage itself, reports RMSE/MAE, and is judged on mae, rmse and r2 against its floors', async () => {
    const { trained, evaluated, registered } = await run('w-1');
    expect(Object.keys(trained.trainMetrics).sort()).toEqual(['mae', 'rmse']);
    // Far better than predicting a constant: the wages spread over 1–45 $/h.
    expect(trained.trainMetrics.rmse).toBeLessThan(6);

    // The evaluator's numbers are the stored model's predictions on the test rows.
    const model = await loadModel(await rt.store.get(trained.lineage?.model?.key ?? ''));
    const pred = model.predict(XTest, test.length);
    model.dispose();
    expect(evaluated.candidateMetrics.rmse).toBeCloseTo(rmse(yTest, pred), 9);
    expect(evaluated.candidateMetrics.mae).toBeCloseTo(mae(yTest, pred), 9);
    expect(evaluated.candidateMetrics.r2).toBeCloseTo(r2(yTest, pred), 9);
    expect(evaluated.candidateMetrics.accuracy).toBeUndefined();

    const f4 = (x: number) => x.toFixed(4);
    expect(evaluated.verdict).toBe(Verdict.PASS);
    expect(evaluated.reasons).toEqual([
      `pass: rmse ${f4(rmse(yTest, pred))} is within the ceiling 5.0000`,
      `pass: mae ${f4(mae(yTest, pred))} is within the ceiling 3.8000`,
      `pass: r2 ${f4(r2(yTest, pred))} meets the floor 0.1500`,
      'pass: no champion yet: the candidate is judged on its floors alone',
    ]);
    expect(registered).toMatchObject({ version: 'v1', promoted: true });
  });

  it('compares the next candidate with the champion on the same rows (paired bootstrap, lower is better)', async () => {
    // Another seed: other weights (an identical model would never be promoted, see below).
    const { evaluated, registered } = await run('w-2', spec.model.seed + 1);
    expect(evaluated.championVersion).toBe('v1');
    expect(evaluated.championMetrics.rmse).not.toBe(evaluated.candidateMetrics.rmse);
    const comparisons = evaluated.reasons.slice(-2);
    // Lower is better: the gain is champion − candidate; measured here, this seed is worse by 0.15 RMSE.
    const gain = evaluated.championMetrics.rmse - evaluated.candidateMetrics.rmse;
    expect(comparisons[0]).toMatch(new RegExp(`^(pass|INCONCLUSIVE|FAIL): rmse \\d\\.\\d{4} vs champion v1's \\d\\.\\d{4} on the same 214 test rows \\(gain ${gain >= 0 ? '\\+' : '-'}${Math.abs(gain).toFixed(4).replace('.', '\\.')}, 95% CI .*margin 0\\.2500 \\(paired bootstrap`));
    expect(comparisons[1]).toMatch(/^(pass|INCONCLUSIVE|FAIL): mae .*margin 0\.2000 \(paired bootstrap/);
    expect(registered.promoted).toBe(evaluated.verdict === Verdict.PASS);
  });

  it('from dataset.prepared: the feature service writes the raw wage as the label, and the run is judged the same way', async () => {
    const [rawTrain, rawValidation, rawTest] = await Promise.all(
      [train, validation, test].map((rs) => rt.store.putContentAddressed(`pipelines/${spec.name}/snapshots`, jsonl(rs), '.jsonl')),
    );
    const prepared = { snapshotSha256: 'wages', rowsTrain: BigInt(train.length), rowsTest: BigInt(test.length), rawTrain: wireRef(rawTrain), rawValidation: wireRef(rawValidation), rawTest: wireRef(rawTest) };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.datasetPrepared, { context: contextOf('w-3'), lineage: prepared }, { runId: 'w-3' }));
    rt.relay.kick();
    const { trained, evaluated, registered } = await followed('w-3');
    const features = decodeMatrix(await rt.store.get(trained.lineage?.featuresTrain?.key ?? ''));
    expect(Array.from(features.y)).toEqual(Array.from(labelsOf(train, spec.label, 'regression')));
    expect(Math.max(...features.y)).toBeGreaterThan(20);
    // The same transform, features and seed as w-1, through the real trainer: champion v1's own
    // model bytes, which are never promoted again.
    expect(evaluated.candidateMetrics).toEqual(evaluated.championMetrics);
    expect(evaluated.verdict).toBe(Verdict.INCONCLUSIVE);
    expect(evaluated.reasons.at(-1)).toMatch(/^INCONCLUSIVE: the candidate is champion v1 itself \(the same model bytes/);
    expect(registered).toMatchObject({ version: 'v3', promoted: false });
  });
});
