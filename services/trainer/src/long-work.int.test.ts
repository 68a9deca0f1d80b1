import { fromBinary } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LineageSchema } from '@refit/contracts';
import { applyTransform, encodeMatrix, fitTransform, labelsOf, serializeTransform, type RawRow } from '@refit/modeling';
import { createArtifactStore, createPool, EVENTS, withTransaction, wireRef, type PgPool, type ServiceRuntime } from '@refit/platform';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { createTestEnv, transactionsHeldThrough, readEvents, serviceEnv, startTestRuntime, waitFor, weatherRows, type TestEnv } from '@refit/testing';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type TrainerConfig } from './config.js';
import { startTrainerService } from './service.js';
import { getProgress } from './store.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const baseSpec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));
/**
 * A training that runs until its time budget ends it: long enough to stop a trainer in the middle
 * of it, and still finite for the trainer that takes it over.
 */
const BUDGET_S = 15;
const longSpec: PipelineSpec = { ...baseSpec, model: { ...baseSpec.model, kind: 'mlp', hidden: [32], epochs: 10_000, batchSize: 8, budget: { seconds: BUDGET_S } } };
/** How long a consumer's stop may let a transaction in flight finish (the runtime's CONSUMER_STOP_WAIT_MS). */
const CONSUMER_STOP_WAIT_MS = 5000;

const train = weatherRows('Seattle', '2013-01-01', '2015-01-01');
const validation = weatherRows('Seattle', '2012-01-01', '2013-01-01');
const test = weatherRows('Seattle', '2015-01-01', '2016-01-01');

describe('trainer: training outside transactions, handed back on stop', () => {
  let env: TestEnv;
  let config: Readonly<TrainerConfig>;
  /** A pool of the trainer's schema that is not the trainer's (another application_name). */
  let observer: PgPool;
  let lineage: MessageInitShape<typeof LineageSchema>;

  async function startTrainer(): Promise<ServiceRuntime> {
    const rt = await startTestRuntime(config, migrations);
    await startTrainerService(rt, config);
    return rt;
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'trainer-long-work' });
    // One progress report per training (its first epoch): a later report is the trainer that took it over.
    config = loadConfig({ ...serviceEnv(env.env), REFIT_PROGRESS_INTERVAL_MS: '3600000', REFIT_ACK_WAIT_MS: '60000', REFIT_CODE_VERSION: 'test' });
    observer = createPool({ url: env.pgUrl, schema: env.schema('trainer'), applicationName: 'refit-test-observer' });
    const store = createArtifactStore(env.s3);
    const transform = fitTransform(train, baseSpec.features);
    const put = (rows: RawRow[]) => {
      const t = applyTransform(transform, rows);
      return store.putContentAddressed(`pipelines/${baseSpec.name}/features`, encodeMatrix({ ...t, y: labelsOf(rows, baseSpec.label) }), '.bin');
    };
    const transformRef = await store.putContentAddressed(`pipelines/${baseSpec.name}/transforms`, serializeTransform(transform), '.json');
    const [fTrain, fValidation, fTest] = await Promise.all([put(train), put(validation), put(test)]);
    lineage = {
      snapshotSha256: 'snap',
      rowsTrain: BigInt(train.length),
      transform: wireRef(transformRef),
      featuresTrain: wireRef(fTrain),
      featuresValidation: wireRef(fValidation),
      featuresTest: wireRef(fTest),
      featureNames: transform.outputNames,
    };
  });
  afterAll(async () => {
    await observer?.end();
    await env?.cleanup();
  });

  it('holds no transaction while training; stopping hands the training back at once and another trainer emits model.trained once', { timeout: 120_000 }, async () => {
    const runId = 'r-long';
    await using a = await startTrainer();
    const context = { runId, pipeline: longSpec.name, specVersion: 1, specJson: JSON.stringify(longSpec), triggerKind: 'manual', triggerReason: 'trainer test' };
    await withTransaction(a.pool, (tx) => a.publish(tx, EVENTS.featuresReady, { context, lineage }, { runId }));
    a.relay.kick();

    // Training (its first epoch reported progress), and no transaction of the trainer is held through it.
    const first = await waitFor(() => getProgress(observer, runId), { timeoutMs: 30_000, what: 'the training to start' });
    expect(await transactionsHeldThrough(observer, { applicationName: `refit:${env.schema('trainer')}` })).toEqual([]);
    // Still training (the budget is far from spent).
    expect((await observer.query('select 1 from jobs where run_id = $1', [runId])).rowCount).toBe(0);

    await using b = await startTrainer();
    const stopping = Date.now();
    await a.close();
    // The training was given up at once rather than waited for (or left running).
    expect(Date.now() - stopping).toBeLessThan(CONSUMER_STOP_WAIT_MS);
    // The other trainer starts it over from its first epoch well before the ack wait (60 s) could redeliver it.
    await waitFor(async () => ((await getProgress(observer, runId))?.updated_at ?? first.updated_at) > first.updated_at, { timeoutMs: 20_000, what: 'the second trainer to take the training over' });

    const trainedOf = async () =>
      (await readEvents(b.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.modelTrained.name}` }))
        .map((e) => fromBinary(EVENTS.modelTrained.schema, e.data))
        .filter((e) => e.context?.runId === runId);
    await waitFor(async () => (await trainedOf()).length > 0, { timeoutMs: BUDGET_S * 1000 + 45_000, what: `model.trained of ${runId}` });
    const jsm = await b.nc.jetstreamManager();
    await waitFor(async () => {
      const info = await jsm.consumers.info(env.streamName, 'trainer-features-ready');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, { what: 'the trainer to finish with the event' });
    expect(await trainedOf()).toHaveLength(1);
    const jobs = await observer.query<{ stop_reason: string }>('select stop_reason from jobs where run_id = $1', [runId]);
    expect(jobs.rows).toEqual([{ stop_reason: 'budget' }]);
    expect((await getProgress(observer, runId))?.done).toBe(true);
  });
});
