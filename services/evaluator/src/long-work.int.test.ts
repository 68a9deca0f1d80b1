import { create, fromBinary } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineageSchema, refitFiles, RegistryService, type Lineage } from '@refit/contracts';
import { applyTransform, encodeMatrix, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createArtifactStore, createPool, EVENTS, NotFoundError, withTransaction, wireRef, type CallContext, type GrpcServer, type PgPool, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startStandIn, startTestRuntime, type TestEnv, transactionsHeldThrough, waitFor, weatherRows } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type EvaluatorConfig } from './config.js';
import { startEvaluatorService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = join(here, 'migrations');
const spec = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));
/** How long a consumer's stop may let a transaction in flight finish (the runtime's CONSUMER_STOP_WAIT_MS). */
const CONSUMER_STOP_WAIT_MS = 5000;

const jsonl = (rows: RawRow[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);

/**
 * A stand-in registry whose GetAlias (the evaluator's first step of work) waits until `open()`:
 * the evaluations stay in progress as long as a test needs. A call its caller cancels stops waiting.
 */
async function startGatedRegistry() {
  let waiting = 0;
  let calls = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const server = await startStandIn(
    RegistryService,
    {
    async getAlias({ pipeline }: { pipeline: string }, ctx: CallContext) {
      calls++;
      waiting++;
      try {
        await Promise.race([gate, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))]);
      } finally {
        waiting--;
      }
      throw new NotFoundError(`pipeline '${pipeline}' has no champion`);
    },
    },
    { files: refitFiles, name: 'gated-registry' },
  );
  return {
    server,
    /** GetAlias calls waiting at the gate now. */
    waiting: () => waiting,
    /** GetAlias calls so far. */
    calls: () => calls,
    open: () => release(),
  };
}

describe('evaluator: scoring outside transactions, two at once, handed back on stop', () => {
  let env: TestEnv;
  let config: Readonly<EvaluatorConfig>;
  let registry: Awaited<ReturnType<typeof startGatedRegistry>>;
  let registryServer: GrpcServer | undefined;
  /** A pool of the evaluator's schema that is not the evaluator's (another application_name). */
  let observer: PgPool;
  let lineage: Lineage;

  async function startEvaluator(): Promise<ServiceRuntime> {
    const rt = await startTestRuntime(config, migrations);
    await startEvaluatorService(rt, config);
    return rt;
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'evaluator-long-work' });
    registry = await startGatedRegistry();
    registryServer = registry.server;
    config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registry.server.address, REFIT_ACK_WAIT_MS: '60000' }));
    observer = createPool({ url: env.pgUrl, schema: env.schema('evaluator'), applicationName: 'refit-test-observer' });

    // A real candidate: trained on Seattle 2014, tested on 2015.
    const rows = weatherRows('Seattle', '2014-01-01', '2015-01-01');
    const test = weatherRows('Seattle', '2015-01-01', '2016-01-01');
    await initBackend({ prefer: config.tfBackend });
    const transform = fitTransform(rows, spec.features);
    const tr = applyTransform(transform, rows);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const trained = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam', epochs: 10 } });
    const te = applyTransform(transform, test);
    const store = createArtifactStore(env.s3);
    const [model, transformRef, featuresTest, rawTest] = await Promise.all([
      store.putContentAddressed('pipelines/weather-rain/models', await trained.model.serialize(), '.refitm'),
      store.putContentAddressed('pipelines/weather-rain/transforms', serializeTransform(transform), '.json'),
      store.putContentAddressed('pipelines/weather-rain/features', encodeMatrix({ ...te, y: labelsOf(test, spec.label) }), '.bin'),
      store.putContentAddressed('pipelines/weather-rain/snapshots', jsonl(test), '.jsonl'),
    ]);
    trained.model.dispose();
    lineage = create(LineageSchema, {
      rawTest: wireRef(rawTest),
      rowsTrain: BigInt(rows.length),
      rowsTest: BigInt(test.length),
      transform: wireRef(transformRef),
      featuresTest: wireRef(featuresTest),
      featureNames: transform.outputNames,
      model: wireRef(model),
      seed: 42n,
      epochs: 10,
      backend: trained.backend,
    });
  });
  afterAll(async () => {
    await observer?.end();
    await registryServer?.stop(0);
    await env?.cleanup();
  });

  it('holds no transaction while scoring, takes two candidates at once, and a stop hands both to another evaluator that reports each once', { timeout: 60_000 }, async () => {
    const runs = ['w-1', 'w-2'];
    await using a = await startEvaluator();
    for (const runId of runs) {
      const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'evaluator test' };
      await withTransaction(a.pool, (tx) => a.publish(tx, EVENTS.modelTrained, { context, lineage, trainMetrics: { accuracy: 0.5 } }, { runId }));
    }
    a.relay.kick();

    // No transaction is held while an evaluation works (asks for the champion)…
    const noTransactionHeld = async () => expect(await transactionsHeldThrough(observer, { applicationName: `refit:${env.schema('evaluator')}` })).toEqual([]);
    await waitFor(() => registry.waiting() > 0, { timeoutMs: 15_000, what: 'an evaluation in progress' });
    await noTransactionHeld();
    // …and both evaluations are in progress at once.
    await waitFor(() => registry.waiting() === 2, { timeoutMs: 15_000, what: 'two evaluations in progress at once' });
    await noTransactionHeld();

    await using b = await startEvaluator();
    const stopping = Date.now();
    await a.close();
    expect(Date.now() - stopping).toBeLessThan(CONSUMER_STOP_WAIT_MS);
    // The other evaluator takes both over at once (its own two calls), not after the 60 s ack wait.
    await waitFor(() => registry.calls() === 4 && registry.waiting() === 2, { timeoutMs: 15_000, what: 'the second evaluator to take both over' });
    registry.open();

    const evaluatedOf = async (runId: string) =>
      (await readEvents(b.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.modelEvaluated.name}` }))
        .map((e) => fromBinary(EVENTS.modelEvaluated.schema, e.data))
        .filter((e) => e.context?.runId === runId);
    for (const runId of runs) await waitFor(async () => (await evaluatedOf(runId)).length > 0, { timeoutMs: 20_000, what: `model.evaluated of ${runId}` });
    const jsm = await b.nc.jetstreamManager();
    await waitFor(async () => {
      const info = await jsm.consumers.info(env.streamName, 'evaluator-model-trained');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, { what: 'the evaluator to finish with both events' });
    for (const runId of runs) {
      expect(await evaluatedOf(runId)).toHaveLength(1);
      expect((await observer.query('select 1 from reports where run_id = $1', [runId])).rowCount).toBe(1);
    }
  });
});
