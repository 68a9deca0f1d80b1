import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrainerService, type LineageSchema } from '@refit/contracts';
import { binaryMetrics } from '@refit/ml';
import { applyTransform, currentBackend, encodeMatrix, fitTransform, labelsOf, loadModel, serializeTransform, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, isNotFound, withTransaction, wireRef, type ArtifactRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startTrainerService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const baseSpec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));
const EPOCHS = 8;
const specWith = (model: Partial<PipelineSpec['model']>): PipelineSpec => ({ ...baseSpec, model: { ...baseSpec.model, epochs: EPOCHS, ...model } });

/** Rows of vega-datasets' weather.csv, typed the way ingestion writes them (numbers as numbers). */
function weatherRows(location: string, from: string, to: string): RawRow[] {
  const csv = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data', 'weather.csv');
  const [header, ...lines] = readFileSync(csv, 'utf8').trim().split('\n');
  const names = header.split(',');
  const numeric = new Set(['precipitation', 'temp_max', 'temp_min', 'wind']);
  return lines
    .map((line) => {
      const cells = line.split(',');
      return Object.fromEntries(names.map((n, i) => [n, numeric.has(n) ? Number(cells[i]) : cells[i] === '' ? null : cells[i]])) as RawRow;
    })
    .filter((r) => r.location === location && String(r.date) >= from && String(r.date) < to);
}

const train = weatherRows('Seattle', '2013-01-01', '2015-01-01');
const validation = weatherRows('Seattle', '2012-01-01', '2013-01-01');
const test = weatherRows('Seattle', '2015-01-01', '2016-01-01');

describe('trainer service', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof TrainerService>>;
  let lineage: MessageInitShape<typeof LineageSchema>;
  /** The lineage with another training-features artifact. */
  let withTrainFeatures: (ref: ArtifactRef) => MessageInitShape<typeof LineageSchema>;

  async function publishReady(runId: string, spec: PipelineSpec, l: MessageInitShape<typeof LineageSchema>): Promise<void> {
    const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'trainer test' };
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
    rt = await startTestRuntime(loadConfig(serviceEnv(env.env)), migrations);
    await startTrainerService(rt, loadConfig(serviceEnv(env.env)));
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
    expect(l?.epochs).toBe(EPOCHS);
    expect(l?.seed).toBe(42n);
    expect(JSON.parse(l?.trainingConfigJson ?? '{}')).toEqual({ kind: 'logistic', hidden: [16], activation: 'relu', epochs: EPOCHS, batchSize: 64, learningRate: 0.05, l2: 0, seed: 42 });
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
    expect(job).toMatchObject({ runId: 'r-1', pipeline: 'weather-rain', backend: trained.lineage?.backend, epochs: EPOCHS, seed: 42n });
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
});
