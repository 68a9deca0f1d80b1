import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { LineageSchema, ModelVersionSchema, refitFiles, RegistryService, TrainerService, type ModelVersion } from '@refit/contracts';
import { binaryMetrics, minCostThreshold } from '@refit/ml';
import { applyTransform, currentBackend, encodeMatrix, fitTransform, labelsOf, loadModel, serializeTransform, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, isNotFound, NotFoundError, withTransaction, wireRef, type ArtifactRef, type EventDef, type GrpcServer, type ServiceRuntime } from '@refit/platform';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startStandIn, startTestRuntime, type TestEnv, waitFor, weatherRows } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startTrainerService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const baseSpec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));
const EPOCHS = 8;
const specWith = (model: Partial<PipelineSpec['model']>): PipelineSpec => ({ ...baseSpec, model: { ...baseSpec.model, epochs: EPOCHS, ...model } });

const train = weatherRows('Seattle', '2013-01-01', '2015-01-01');
const validation = weatherRows('Seattle', '2012-01-01', '2013-01-01');
const test = weatherRows('Seattle', '2015-01-01', '2016-01-01');

describe('trainer service', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof TrainerService>>;
  let registry: GrpcServer;
  /** What the stand-in registry answers for GetAlias(champion). */
  let champion: ModelVersion | undefined;
  let lineage: MessageInitShape<typeof LineageSchema>;
  /** The lineage with another training-features artifact. */
  let withTrainFeatures: (ref: ArtifactRef) => MessageInitShape<typeof LineageSchema>;

  async function publishReady(runId: string, spec: PipelineSpec, l: MessageInitShape<typeof LineageSchema>, triggerKind = 'manual'): Promise<void> {
    const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind, triggerReason: 'trainer test' };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.featuresReady, { context, lineage: l }, { runId }));
    rt.relay.kick();
  }

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return stored.map((e) => fromBinary(def.schema, e.data));
  }

  const trainedOf = (runId: string) =>
    waitFor(async () => (await events(EVENTS.modelTrained)).find((e) => e.context?.runId === runId), { timeoutMs: 20_000, what: `model.trained of ${runId}` });

  beforeAll(async () => {
    env = await createTestEnv({ name: 'trainer' });
    // A stand-in for the registry's GetAlias: the registry service itself is tested on its own.
    registry = await startStandIn(
      RegistryService,
      {
      async getAlias({ pipeline }: { pipeline: string }) {
        if (!champion) throw new NotFoundError(`pipeline '${pipeline}' has no champion`);
        return { model: champion };
      },
      },
      { files: refitFiles, name: 'fake-registry' },
    );
    const config = loadConfig({ ...serviceEnv(env.env), REFIT_REGISTRY_ADDR: registry.address, REFIT_PROGRESS_INTERVAL_MS: '0', REFIT_CODE_VERSION: 'test' });
    rt = await startTestRuntime(config, migrations);
    await startTrainerService(rt, config);
    client = createClient(TrainerService, rt.server?.address ?? '');

    // What the feature service would have produced: one transform fitted on the training rows,
    // and the three splits through it.
    const transform = fitTransform(train, baseSpec.features);
    const put = (rows: RawRow[]) => {
      const t = applyTransform(transform, rows);
      return rt.store.putContentAddressed(`pipelines/${baseSpec.name}/features`, encodeMatrix({ ...t, y: labelsOf(rows, baseSpec.label) }), '.bin');
    };
    const transformRef = await rt.store.putContentAddressed(`pipelines/${baseSpec.name}/transforms`, serializeTransform(transform), '.json');
    const [fTrain, fValidation, fTest] = await Promise.all([put(train), put(validation), put(test)]);
    withTrainFeatures = (ref) => ({
      snapshotSha256: 'snap',
      rowsTrain: BigInt(train.length),
      transform: wireRef(transformRef),
      featuresTrain: wireRef(ref),
      featuresValidation: wireRef(fValidation),
      featuresTest: wireRef(fTest),
      featureNames: transform.outputNames,
    });
    lineage = withTrainFeatures(fTrain);
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await registry?.stop(0);
    await env?.cleanup();
  });

  it('trains on features.ready and emits model.trained with backend, epochs, seed and the stored model', async () => {
    await publishReady('r-1', specWith({}), lineage);
    const trained = await trainedOf('r-1');
    const l = trained.lineage;
    expect(trained.context).toMatchObject({ runId: 'r-1', pipeline: 'weather-rain' });
    expect(trained.timing?.stage).toBe('trainer');
    // Upstream lineage is kept.
    expect(l?.transform?.key).toBe(lineage.transform?.key);
    expect(l?.featureNames).toEqual(['temp_max', 'temp_min', 'wind']);
    expect(l?.rowsTrain).toBe(BigInt(train.length));
    // The trainer's own additions.
    expect(l?.backend).toBe(currentBackend());
    expect(['wasm', 'tensorflow', 'cpu']).toContain(l?.backend);
    // A logistic model on 3 features is fitted by Newton, which converges before the epoch cap.
    expect(l?.epochs).toBeGreaterThan(0);
    expect(l?.epochs).toBeLessThan(EPOCHS);
    expect(l?.seed).toBe(42n);
    expect(JSON.parse(l?.trainingConfigJson ?? '{}')).toEqual({
      kind: 'logistic', head: 'binary', loss: 'crossentropy', hidden: [16], activation: 'relu', dropout: 0, epochs: EPOCHS, batchSize: 64,
      learningRate: 0.05, l2: 0, seed: 42, classWeight: 'none', solver: 'newton', earlyStopping: null,
    });
    expect(l?.codeVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(l?.model?.key).toMatch(/^pipelines\/weather-rain\/models\/[0-9a-f]{64}\.refitm$/);

    const bytes = await rt.store.get(l?.model?.key ?? '');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(l?.model?.sha256);
    expect(l?.model?.sizeBytes).toBe(BigInt(bytes.length));

    // The stored model really learned, and the reported validation metrics are its own.
    const model = await loadModel(bytes);
    try {
      const tv = applyTransform(fitTransform(train, baseSpec.features), validation);
      const onValidation = binaryMetrics(labelsOf(validation, baseSpec.label), model.predict(tv.X, tv.n));
      expect(trained.trainMetrics.accuracy).toBeCloseTo(onValidation.accuracy, 10);
      expect(trained.trainMetrics.logLoss).toBeCloseTo(onValidation.logLoss, 6);
      expect(trained.trainMetrics.auc).toBeCloseTo(onValidation.rocAuc ?? Number.NaN, 10);
      const tt = applyTransform(fitTransform(train, baseSpec.features), test);
      const onTest = binaryMetrics(labelsOf(test, baseSpec.label), model.predict(tt.X, tt.n));
      expect(onTest.accuracy).toBeGreaterThan(0.7);
      expect(onTest.rocAuc).toBeGreaterThan(0.75);
    } finally {
      model.dispose();
    }
  });

  it('GetJob returns the finished job; an unknown run is NOT_FOUND', async () => {
    const trained = await trainedOf('r-1');
    const { job } = await client.getJob({ runId: 'r-1' });
    expect(job).toMatchObject({ runId: 'r-1', pipeline: 'weather-rain', backend: trained.lineage?.backend, epochs: trained.lineage?.epochs, seed: 42n });
    expect(job?.model).toEqual(trained.lineage?.model);
    expect(JSON.parse(job?.trainingConfigJson ?? '')).toEqual(JSON.parse(trained.lineage?.trainingConfigJson ?? ''));
    expect(job?.finalLoss).toBeGreaterThan(0);
    expect(job?.finalLoss).toBeLessThan(0.7);
    expect(job?.computeMs).toBeGreaterThan(0n);
    expect(job?.finishedAt).toBeDefined();

    const err = await client.getJob({ runId: 'r-missing' }).catch((e: unknown) => e);
    expect(isNotFound(err) && (err as Error).message).toContain("'r-missing'");
  });

  it('two runs on the same features give byte-identical models; another seed does not', async () => {
    await publishReady('r-2', specWith({}), lineage);
    await publishReady('r-seed', specWith({ seed: 7 }), lineage);
    const [first, second, reseeded] = [await trainedOf('r-1'), await trainedOf('r-2'), await trainedOf('r-seed')];
    expect(second.lineage?.model?.sha256).toBe(first.lineage?.model?.sha256);
    expect(second.lineage?.model?.key).toBe(first.lineage?.model?.key);
    expect(reseeded.lineage?.seed).toBe(7n);
    expect(reseeded.lineage?.model?.sha256).not.toBe(first.lineage?.model?.sha256);
    // Each run still records its own job pointing at the (shared) artifact.
    const [a, b] = await Promise.all([client.getJob({ runId: 'r-1' }), client.getJob({ runId: 'r-2' })]);
    expect(b.job?.model?.sha256).toBe(a.job?.model?.sha256);
  });

  it('fails the run at the trainer stage at once when the training features are not a feature matrix', async () => {
    const junk = await rt.store.putContentAddressed('pipelines/weather-rain/features', Buffer.from('definitely not a matrix'), '.bin');
    await publishReady('r-bad', specWith({}), withTrainFeatures(junk));
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'r-bad'), { timeoutMs: 6000, what: 'run.failed of r-bad' });
    expect(failed.stage).toBe('trainer');
    expect(failed.reason).toContain(junk.key);
    expect(failed.reason).toMatch(/bad magic/);
    expect((await rt.pool.query('select 1 from jobs where run_id = $1', ['r-bad'])).rowCount).toBe(0);
    expect((await events(EVENTS.modelTrained)).some((e) => e.context?.runId === 'r-bad')).toBe(false);
  });

  it('tunes with a search: records every trial, lists them, reports progress and picks the best', async () => {
    const spec = specWith({
      kind: 'mlp',
      epochs: 4,
      earlyStopping: { patience: 2 },
      search: { strategy: 'random', trials: 3, seed: 5, space: { learningRate: { logRange: [0.001, 0.1] }, hidden: { choices: [[4], [8]] } } },
    });
    await publishReady('r-search', spec, lineage);
    const trained = await trainedOf('r-search');
    const { job } = await client.getJob({ runId: 'r-search' });
    expect(job).toMatchObject({ searchStrategy: 'random', trialCount: 3 });
    expect(job?.codeVersion).toMatch(/\+test$/);
    const { trials } = await client.listTrials({ runId: 'r-search' });
    expect(trials.map((t) => t.trial)).toEqual([0, 1, 2]);
    for (const t of trials) {
      expect(t.curve.length).toBe(t.epochs);
      expect(t.score).toBeGreaterThan(0);
      expect(JSON.parse(t.paramsJson)).toHaveProperty('learningRate');
    }
    const best = trials.filter((t) => t.best);
    expect(best).toHaveLength(1);
    expect(best[0].trial).toBe(job?.bestTrial);
    expect(best[0].score).toBe(Math.min(...trials.map((t) => t.score ?? Infinity)));
    // The stored config is the winner's.
    const config = JSON.parse(trained.lineage?.trainingConfigJson ?? '{}') as Record<string, unknown>;
    expect(config).toMatchObject({ kind: 'mlp', ...JSON.parse(best[0].paramsJson) });

    const { progress } = await client.getProgress({ runId: 'r-search' });
    expect(progress).toMatchObject({ runId: 'r-search', trials: 3, done: true });
    const events = (await waitFor(async () => {
      const evs = (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.trainingProgress.name}` }))
        .map((e) => fromBinary(EVENTS.trainingProgress.schema, e.data))
        .filter((e) => e.runId === 'r-search');
      return evs.some((e) => e.done) ? evs : undefined;
    }, { timeoutMs: 5000, what: 'progress events' }));
    expect(new Set(events.map((e) => e.trial))).toEqual(new Set([0, 1, 2]));
    expect(events.at(-1)?.done).toBe(true);
    expect((await client.listTrials({ runId: 'r-1' })).trials).toEqual([]);
  });

  it('warm-starts from the champion when the features match, and refuses when they do not', async () => {
    const first = await trainedOf('r-1');
    champion = create(ModelVersionSchema, { pipeline: 'weather-rain', version: 'v1', lineage: first.lineage });
    await publishReady('r-warm', specWith({ warmStart: 'champion' }), lineage);
    await trainedOf('r-warm');
    const { job } = await client.getJob({ runId: 'r-warm' });
    expect(job?.warmStartModel).toEqual(first.lineage?.model);
    // A continuous run warm-starts from the champion even when the spec does not ask for it.
    await publishReady('r-continuous', specWith({}), lineage, 'continuous');
    await trainedOf('r-continuous');
    expect((await client.getJob({ runId: 'r-continuous' })).job?.warmStartModel).toEqual(first.lineage?.model);

    champion = create(ModelVersionSchema, { pipeline: 'weather-rain', version: 'v1', lineage: create(LineageSchema, { ...first.lineage, $typeName: undefined, featureNames: ['temp_max', 'wind'] }) });
    await publishReady('r-warm-bad', specWith({ warmStart: 'champion' }), lineage);
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'r-warm-bad'), { timeoutMs: 8000, what: 'run.failed of r-warm-bad' });
    expect(failed.reason).toMatch(/warm start: champion v1 was trained on features \[temp_max, wind\], this run has \[temp_max, temp_min, wind\]/);
    champion = undefined;
  });

  it('a cancelled run stops training within an epoch and is never trained afterwards', async () => {
    await publishReady('r-cancel', specWith({ kind: 'mlp', hidden: [64, 64], epochs: 5000, batchSize: 8 }), lineage);
    await waitFor(async () => (await client.getProgress({ runId: 'r-cancel' }).catch(() => undefined))?.progress, { timeoutMs: 10_000, what: 'r-cancel to start training' });
    const cancelledAt = Date.now();
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.runCancelled, { runId: 'r-cancel', pipeline: 'weather-rain', reason: 'test' }, { runId: 'r-cancel' }));
    rt.relay.kick();
    await waitFor(async () => (await client.getProgress({ runId: 'r-cancel' })).progress?.done || undefined, { timeoutMs: 10_000, what: 'r-cancel to stop' });
    expect(Date.now() - cancelledAt).toBeLessThan(5000);
    const { progress } = await client.getProgress({ runId: 'r-cancel' });
    expect(progress?.epoch).toBeLessThan(5000);
    await expect(client.getJob({ runId: 'r-cancel' })).rejects.toSatisfy(isNotFound);

    // features.ready arriving after the cancellation is acknowledged without training.
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.runCancelled, { runId: 'r-late', pipeline: 'weather-rain', reason: 'test' }, { runId: 'r-late' }));
    rt.relay.kick();
    await waitFor(async () => ((await rt.pool.query('select 1 from cancelled_runs where run_id = $1', ['r-late'])).rowCount ?? 0) > 0 || undefined, { timeoutMs: 5000, what: 'r-late cancelled' });
    await publishReady('r-late', specWith({}), lineage);
    await publishReady('r-after', specWith({}), lineage);
    await trainedOf('r-after');
    expect((await events(EVENTS.modelTrained)).some((e) => e.context?.runId === 'r-late')).toBe(false);
    expect((await client.getProgress({ runId: 'r-late' }).catch((e: unknown) => e)) instanceof Error).toBe(true);
  });

  it('stores the threshold that minimizes the cost on the validation split; costlier false negatives lower it', async () => {
    const withCosts = (fn: number): PipelineSpec => ({ ...specWith({}), business: { costs: { fp: 1, fn, tp: 0, tn: 0 }, threshold: { choose: 'minCost' }, metrics: {} } });
    await publishReady('r-cost-sym', withCosts(1), lineage);
    await publishReady('r-cost-fn', withCosts(5), lineage);
    const [plain, sym, fnHeavy] = [await trainedOf('r-1'), await trainedOf('r-cost-sym'), await trainedOf('r-cost-fn')];
    // Without business.threshold nothing is stored: readers use 0.5.
    expect(plain.lineage?.decisionThreshold).toBe(0);
    // Same seed, same model: only the costs differ.
    expect(fnHeavy.lineage?.model?.sha256).toBe(sym.lineage?.model?.sha256);
    const model = await loadModel(await rt.store.get(sym.lineage?.model?.key ?? ''));
    try {
      const tv = applyTransform(fitTransform(train, baseSpec.features), validation);
      const scores = model.predict(tv.X, tv.n);
      const yv = labelsOf(validation, baseSpec.label);
      const expected = (fn: number) => minCostThreshold(yv, scores, { fp: 1, fn, tp: 0, tn: 0 }).threshold;
      expect(sym.lineage?.decisionThreshold).toBeCloseTo(expected(1), 6);
      expect(fnHeavy.lineage?.decisionThreshold).toBeCloseTo(expected(5), 6);
      expect(fnHeavy.lineage?.decisionThreshold).toBeLessThan(sym.lineage?.decisionThreshold ?? 0);
      // The stored threshold does what it claims: no other threshold costs less on the validation split.
      const costAt = (t: number, fn: number) => {
        let c = 0;
        for (let i = 0; i < yv.length; i++) c += yv[i] === 1 ? (scores[i] >= t ? 0 : fn) : scores[i] >= t ? 1 : 0;
        return c;
      };
      const stored = costAt(fnHeavy.lineage?.decisionThreshold ?? 0, 5);
      for (let t = 0.01; t < 1; t += 0.01) expect(stored).toBeLessThanOrEqual(costAt(t, 5));
      expect(stored).toBeLessThan(costAt(0.5, 5));
    } finally {
      model.dispose();
    }
  });
});
