import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryService, Verdict } from '@refit/contracts';
import { createClient, EVENTS, withTransaction, wireRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { readLedger } from './ledger.js';
import { startRegistryService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));
const PIPELINE = spec.name;

describe('registry: a stream learner proven better', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof RegistryService>>;

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return stored.map((e) => fromBinary(def.schema, e.data));
  }

  const registered = (runId: string) => waitFor(async () => (await events(EVENTS.modelRegistered)).find((e) => e.context?.runId === runId), { what: `model.registered of ${runId}` });

  async function refs(runId: string) {
    const model = await rt.store.putContentAddressed(`pipelines/${PIPELINE}/models`, Buffer.from(`model of ${runId}`), '.refitm');
    const transform = await rt.store.putContentAddressed(`pipelines/${PIPELINE}/transforms`, Buffer.from('the champion transform'), '.json');
    return { model: wireRef(model), transform: wireRef(transform) };
  }

  async function proven(runId: string, champion: string, evidence: { pValue: number; lower: number; improvement: number }) {
    const context = { runId, pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'stream', triggerReason: 'stream learner proved better' };
    const lineage = { ...(await refs(runId)), featureNames: ['temp_max'], streamStartedFrom: champion, streamFirstSegment: 3n, streamLastSegment: 9n, streamUpdates: 40n, streamRows: 2500n };
    await withTransaction(rt.pool, (tx) =>
      rt.publish(
        tx,
        EVENTS.streamProven,
        {
          context,
          lineage,
          championVersion: champion,
          evidence: { rows: 2500n, learnerLogLoss: 0.52, championLogLoss: 0.52 + evidence.improvement, upper: evidence.improvement + 0.05, alpha: 0.05, updates: 40n, firstSegment: 3n, lastSegment: 9n, learnerAccuracy: 0.74, championAccuracy: 0.6, ...evidence },
        },
        { runId },
      ),
    );
    rt.relay.kick();
    return registered(runId);
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'registry-stream' });
    const config = loadConfig(serviceEnv(env.env));
    rt = await startTestRuntime(config, migrations);
    await startRegistryService(rt, config);
    client = createClient(RegistryService, rt.server?.address ?? '');
    // A first champion from a batch run, as a stream pipeline has before its learner starts.
    const context = { runId: 'r-batch', pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'first' };
    await withTransaction(rt.pool, async (tx) => rt.publish(tx, EVENTS.modelEvaluated, { context, lineage: await refs('r-batch'), verdict: Verdict.PASS, reasons: ['pass'], candidateMetrics: { accuracy: 0.6 } }, { runId: 'r-batch' }));
    rt.relay.kick();
    await registered('r-batch');
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('registers the learner as a version with its stream lineage, records the evidence and promotes it', async () => {
    const reg = await proven('r-stream-1', 'v1', { pValue: 0.004, lower: 0.03, improvement: 0.09 });
    expect(reg).toMatchObject({ version: 'v2', promoted: true, previousChampion: 'v1', verdict: Verdict.PASS });
    const { model } = await client.getAlias({ pipeline: PIPELINE, alias: 'champion' });
    expect(model).toMatchObject({ version: 'v2', runId: 'r-stream-1', triggerKind: 'stream' });
    expect(model?.lineage).toMatchObject({ streamStartedFrom: 'v1', streamFirstSegment: 3n, streamLastSegment: 9n, streamUpdates: 40n, streamRows: 2500n });
    expect(model?.reasons[0]).toMatch(/beat champion v1 prequentially on 2500 labeled rows: log loss 0\.5200 vs 0\.6100/);
    const ledger = (await readLedger(rt.pool, PIPELINE)).filter((e) => e.runId === 'r-stream-1');
    expect(ledger.map((e) => e.kind)).toEqual(['gate-verdict', 'model-registered', 'promotion', 'alias-moved']);
    expect(ledger[0].actor).toBe('trainer:stream-learner');
    expect(ledger[0].details).toMatchObject({ verdict: 'pass', championVersion: 'v1', evidence: { rows: 2500, pValue: 0.004, lower: 0.03 } });
  });

  it('does not promote a claim judged against a champion that has moved since, nor one whose evidence does not hold', async () => {
    const stale = await proven('r-stream-2', 'v1', { pValue: 0.001, lower: 0.05, improvement: 0.1 });
    expect(stale).toMatchObject({ version: 'v3', promoted: false, verdict: Verdict.FAIL });
    const weak = await proven('r-stream-3', 'v2', { pValue: 0.3, lower: -0.02, improvement: 0.01 });
    expect(weak).toMatchObject({ version: 'v4', promoted: false, verdict: Verdict.FAIL });
    const { model } = await client.getAlias({ pipeline: PIPELINE, alias: 'champion' });
    expect(model?.version).toBe('v2');
    const v3 = (await client.getModel({ pipeline: PIPELINE, version: 'v3' })).model;
    expect(v3?.reasons[0]).toBe("the stream learner's claim does not hold: it was judged against v1, but the champion is v2 now");
  });

  it('registers a claim once although its event comes again', async () => {
    const context = { runId: 'r-stream-1', pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'stream', triggerReason: 'again' };
    await withTransaction(rt.pool, async (tx) => rt.publish(tx, EVENTS.streamProven, { context, lineage: await refs('r-stream-1'), championVersion: 'v2', evidence: { rows: 10n, pValue: 0.001, alpha: 0.05, lower: 0.1, improvement: 0.2 } }, { runId: 'r-stream-1' }));
    rt.relay.kick();
    // Wait until the registry handled it (its consumer acknowledged everything), then count.
    await waitFor(async () => ((await rt.pool.query(`select count(*)::int as n from handled_events where consumer like '%stream-proven%'`)).rows[0].n >= 4 ? true : undefined), { what: 'the repeated claim handled' });
    expect((await client.listModels({ pipeline: PIPELINE })).models.filter((m) => m.runId === 'r-stream-1')).toHaveLength(1);
  });
});
