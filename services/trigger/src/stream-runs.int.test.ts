import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunStatus, TriggerService, Verdict } from '@refit/contracts';
import { createClient, EVENTS, withTransaction } from '@refit/platform';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { runFacts } from './decision-store.js';
import { startTriggerService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');
const streamSpec = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-stream.yaml'), 'utf8');

describe('trigger: runs of a stream learner', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;
  let client: ReturnType<typeof createClient<typeof TriggerService>>;

  const proven = async (runId: string, pipeline = 'weather-rain') => {
    const evidence = { rows: 900n, learnerLogLoss: 0.51, championLogLoss: 0.6, pValue: 0.003, alpha: 0.05, lower: 0.02, improvement: 0.09, updates: 15n, firstSegment: 2n, lastSegment: 8n };
    await withTransaction(rt.pool, (tx) =>
      rt.publish(tx, EVENTS.streamProven, { context: { runId, pipeline, specVersion: 1, triggerKind: 'stream', triggerReason: 'stream learner proved better' }, championVersion: 'v1', evidence }, { runId }),
    );
    rt.relay.kick();
  };

  beforeAll(async () => {
    env = await createTestEnv({ name: 'trigger-stream' });
    const config = loadConfig(serviceEnv(env.env));
    rt = await startTestRuntime(config, migrations);
    await startTriggerService(rt, config);
    client = createClient(TriggerService, rt.server?.address ?? '');
    await client.applyPipeline({ specYaml: spec });
    await client.applyPipeline({ specYaml: streamSpec });
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('records the replacement as a run with its learner stage, moved along by the registry and the deployer', async () => {
    await proven('r-stream-a');
    const run = await waitFor(async () => (await client.getRun({ runId: 'r-stream-a' }).catch(() => undefined))?.run, { what: 'the stream run' });
    expect(run).toMatchObject({ pipeline: 'weather-rain', triggerKind: 'stream', status: RunStatus.RUNNING });
    expect(run.stages[0]).toMatchObject({ stage: 'learner', status: 'done' });
    expect(run.stages[0].detail).toBe('learned 15 updates over segments 2–8; beat v1 on 900 rows (log loss 0.5100 vs 0.6000, p 0.00300)');
    // A batch trigger does not coalesce into it, and it does not count against maxRunsPerDay.
    const facts = await runFacts(rt.pool, 'weather-rain', new Date());
    expect(facts.inFlightRunId).toBeUndefined();
    expect(facts.runsLast24h).toBe(0);
    const ctx = { runId: 'r-stream-a', pipeline: 'weather-rain', specJson: JSON.stringify({ name: 'weather-rain' }) };
    await withTransaction(rt.pool, async (tx) => {
      await rt.publish(tx, EVENTS.modelRegistered, { context: ctx, version: 'v2', promoted: true, previousChampion: 'v1', verdict: Verdict.PASS }, { runId: 'r-stream-a' });
      await rt.publish(tx, EVENTS.modelServing, { pipeline: 'weather-rain', runId: 'r-stream-a', version: 'v2' }, { runId: 'r-stream-a' });
    });
    rt.relay.kick();
    const done = await waitFor(async () => {
      const r = (await client.getRun({ runId: 'r-stream-a' })).run;
      return r?.status === RunStatus.SUCCEEDED ? r : undefined;
    }, { what: 'the stream run promoted' });
    expect(done).toMatchObject({ outcome: 'promoted', modelVersion: 'v2' });
    expect(done.stages.map((s) => s.stage)).toEqual(['learner', 'registry', 'deployer']);
  });

  it('records a run once although its event comes again, and none for a pipeline it does not know', async () => {
    await proven('r-stream-a');
    await proven('r-stream-b', 'not-applied-here');
    await waitFor(async () => ((await rt.pool.query(`select count(*)::int as n from handled_events where consumer like '%stage-events%'`)).rows[0].n >= 5 ? true : undefined), { what: 'the events handled' });
    const runs = (await client.listRuns({ pipeline: 'weather-rain', limit: 100 })).runs.filter((r) => r.runId === 'r-stream-a');
    expect(runs).toHaveLength(1);
    expect((await client.getRun({ runId: 'r-stream-b' }).catch((e: unknown) => e)) instanceof Error).toBe(true);
    expect(await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.dlq.trigger` })).toEqual([]);
  });

  it("asks for a full batch run when the learner's inputs drifted past the continuous policy's limit, once per crossing", async () => {
    const drifted = () =>
      withTransaction(rt.pool, (tx) =>
        rt.publish(tx, EVENTS.streamDrifted, { pipeline: 'weather-stream', drift: 1.7, limit: 1, column: 'wind', segment: 40n, championVersion: 'v1' }),
      );
    await drifted();
    await drifted();
    rt.relay.kick();
    const run = await waitFor(async () => (await client.listRuns({ pipeline: 'weather-stream', limit: 10 })).runs.find((r) => r.triggerKind === 'continuous'), { what: 'the full run' });
    expect(run.reason).toMatch(/wind moved 1\.70 standard deviations \(limit 1\)/);
    const requested = await waitFor(async () => (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.run.requested` })).filter((e) => e.headers['Refit-Run-Id'] === run.runId), { what: 'run.requested' });
    expect(requested).toHaveLength(1);
    await waitFor(async () => ((await rt.pool.query(`select count(*)::int as n from handled_events where consumer like '%stream-drift%'`)).rows[0].n >= 2 ? true : undefined), { what: 'both handled' });
    expect((await client.listRuns({ pipeline: 'weather-stream', limit: 10 })).runs.filter((r) => r.triggerKind === 'continuous')).toHaveLength(1);
  });
});
