import { fromBinary } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { RunStatus, TriggerService, type Verdict } from '@refit/contracts';
import { createClient, EVENTS, isInvalidInput, isNotFound, withTransaction } from '@refit/platform';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specFromJson } from '@refit/spec';
import type pg from 'pg';
import { loadConfig } from './config.js';
import { decide } from './decide.js';
import { getPipeline } from './store.js';
import { startTriggerService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');

describe('trigger service', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;
  let client: ReturnType<typeof createClient<typeof TriggerService>>;

  beforeAll(async () => {
    env = await createTestEnv({ name: 'trigger' });
    const config = loadConfig(serviceEnv(env.env));
    rt = await startTestRuntime(config, migrations);
    await startTriggerService(rt, config);
    client = createClient(TriggerService, rt.server?.address ?? '');
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('applies a spec, bumps the version only when it changes, and announces it', async () => {
    const first = await client.applyPipeline({ specYaml: spec });
    expect(first).toMatchObject({ changed: true, pipeline: { name: 'weather-rain', version: 1 } });
    expect(await client.applyPipeline({ specYaml: spec })).toMatchObject({ changed: false, pipeline: { version: 1 } });
    const second = await client.applyPipeline({ specYaml: spec.replace('epochs: 60', 'epochs: 61') });
    expect(second).toMatchObject({ changed: true, pipeline: { version: 2 } });
    await waitFor(async () => (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.pipeline.applied` })).length === 2);
  });

  it('refuses a bad spec with INVALID_ARGUMENT naming every bad field', async () => {
    const bad = spec.replace('{ name: wind, type: number }\ndata', '{ name: wind, type: text }\ndata').replace('kind: logistic', 'kind: forest');
    const err = await client.applyPipeline({ specYaml: bad }).catch((e: unknown) => e);
    expect(isInvalidInput(err)).toBe(true);
    expect((err as Error).message).toMatch(/features\[2\]\.type: /);
    expect((err as Error).message).toMatch(/model\.kind: /);
  });

  it('an unknown pipeline or run is NOT_FOUND with its name', async () => {
    const e1 = await client.triggerRun({ pipeline: 'nope', reason: '' }).catch((e: unknown) => e);
    expect(isNotFound(e1) && (e1 as Error).message).toContain("'nope'");
    const e2 = await client.getRun({ runId: 'r-missing' }).catch((e: unknown) => e);
    expect(isNotFound(e2) && (e2 as Error).message).toContain("'r-missing'");
  });

  it('a 1 MB reason is refused naming the field and its limit, and nothing is stored', async () => {
    const before = (await client.listRuns({ pipeline: 'weather-rain', limit: 100 })).runs.length;
    const err = await client.triggerRun({ pipeline: 'weather-rain', reason: 'x'.repeat(1 << 20) }).catch((e: unknown) => e);
    expect(isInvalidInput(err) && (err as Error).message).toBe('TriggerRunRequest: reason is 1,048,576 characters long; at most 4,096 (REFIT_MAX_TEXT_CHARS): shorten it');
    expect((await client.listRuns({ pipeline: 'weather-rain', limit: 100 })).runs).toHaveLength(before);
    expect(isInvalidInput(await client.cancelRun({ runId: 'r-any', reason: 'y'.repeat(5000) }).catch((e: unknown) => e))).toBe(true);
  });

  it('a manual trigger creates a run and emits run.requested with the spec it runs under', async () => {
    const { run } = await client.triggerRun({ pipeline: 'weather-rain', reason: 'because' });
    expect(run).toMatchObject({ pipeline: 'weather-rain', status: RunStatus.RUNNING, triggerKind: 'manual', reason: 'because (requested by anonymous (authentication off))', specVersion: 2 });
    await waitFor(async () => {
      const events = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.run.requested` });
      return events.some((e) => fromBinary(EVENTS.runRequested.schema, e.data).context?.runId === run?.runId);
    });
  });

  it('a stage failure marks the run failed with the stage and the reason', async () => {
    const { run } = await client.triggerRun({ pipeline: 'weather-rain', reason: 'will fail' });
    const runId = run?.runId ?? '';
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.runFailed, { runId, pipeline: 'weather-rain', stage: 'trainer', reason: 'loss became NaN' }, { runId }));
    rt.relay.kick();
    await waitFor(async () => (await client.getRun({ runId })).run?.status === RunStatus.FAILED);
    const failed = (await client.getRun({ runId })).run;
    expect(failed).toMatchObject({ failedStage: 'trainer', failureReason: 'loss became NaN' });
    expect(failed?.stages.at(-1)).toMatchObject({ stage: 'trainer', status: 'failed' });
    const listed = await client.listRuns({ pipeline: 'weather-rain', limit: 10 });
    expect(listed.runs.map((r) => r.runId)).toContain(runId);
  });

  it('an event with an enum number its schema does not define is dead-lettered at once with a reason a person can read', async () => {
    const { run } = await client.triggerRun({ pipeline: 'weather-rain', reason: 'verdict 99' });
    const runId = run?.runId ?? '';
    // proto3 enums are open: verdict 99 encodes and decodes; it used to fail later as a TypeError, retried until dead-lettered.
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelEvaluated, { context: { runId, pipeline: 'weather-rain' }, verdict: 99 as Verdict, candidateMetrics: { accuracy: 0.7 } }, { runId }));
    rt.relay.kick();
    const dead = await waitFor(async () => (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.dlq.trigger` })).find((e) => e.headers['Refit-Run-Id'] === runId), { what: 'the dead-lettered model.evaluated' });
    expect(dead.headers['Refit-Error']).toMatch(/verdict is 99, which is no Verdict: expected one of VERDICT_UNSPECIFIED \(0\), VERDICT_PASS \(1\)/);
  });

  it('a candidate that passed its gates before a rollout is not called the new champion', async () => {
    const { run } = await client.triggerRun({ pipeline: 'weather-rain', reason: 'canary' });
    const runId = run?.runId ?? '';
    const specJson = JSON.stringify({ name: 'weather-rain', rollout: { strategy: 'canary', steps: [10, 100] } });
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelRegistered, { context: { runId, pipeline: 'weather-rain', specJson }, version: 'v3', promoted: true, previousChampion: 'v2' }, { runId }));
    rt.relay.kick();
    const stage = await waitFor(async () => (await client.getRun({ runId })).run?.stages.find((s) => s.stage === 'registry'), { what: 'the registry stage' });
    expect(stage.detail).toBe('v3 passed its gates; canary rollout next to champion v2');
  });

  it('counts a decision once it is committed, never for a transaction that rolled back, and once per request a batch answers', async () => {
    const pipeline = await withTransaction(rt.pool, (tx) => getPipeline(tx, 'weather-rain'));
    if (!pipeline) throw new Error('weather-rain is applied by the first test');
    const spec = specFromJson(pipeline.spec_json);
    const counted = async (): Promise<number> => {
      const metric = await rt.metrics.registry.getSingleMetric('refit_trigger_decisions_total')?.get();
      return (metric?.values ?? []).filter((v) => v.labels.pipeline === 'weather-rain' && v.labels.policy === 'external').reduce((n, v) => n + v.value, 0);
    };
    const request = (count: number, reason: string) => (tx: pg.PoolClient) =>
      decide(rt, tx, { pipeline, spec, policyIndex: -1, policy: 'external', evaluation: { fired: false, reason, measured: {}, thresholds: {} }, now: new Date(), count });
    const before = await counted();
    // Decided, then the transaction fails (a lost connection, a serialization error): nothing happened.
    await expect(withTransaction(rt.pool, async (tx) => { await request(1, 'rolled back')(tx); throw new Error('the commit never came'); })).rejects.toThrow('the commit never came');
    expect(await counted()).toBe(before);
    await withTransaction(rt.pool, request(5, 'a batch of five'));
    expect(await counted()).toBe(before + 5);
  });
});
