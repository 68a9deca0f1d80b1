import { fromBinary } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { RunStatus, TriggerService } from '@refit/contracts';
import { createClient, EVENTS, isInvalidInput, isNotFound, withTransaction } from '@refit/platform';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
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

  it('a manual trigger creates a run and emits run.requested with the spec it runs under', async () => {
    const { run } = await client.triggerRun({ pipeline: 'weather-rain', reason: 'because' });
    expect(run).toMatchObject({ pipeline: 'weather-rain', status: RunStatus.RUNNING, triggerKind: 'manual', reason: 'because', specVersion: 2 });
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
});
