import { fromBinary } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunStatus, TriggerService } from '@refit/contracts';
import { createClient, EVENTS, isFailedPrecondition, isNotFound } from '@refit/platform';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startTriggerService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');

describe('cancelling a run', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;
  let client: ReturnType<typeof createClient<typeof TriggerService>>;

  beforeAll(async () => {
    env = await createTestEnv({ name: 'trigger-cancel' });
    const config = loadConfig(serviceEnv(env.env));
    rt = await startTestRuntime(config, migrations);
    await startTriggerService(rt, config);
    client = createClient(TriggerService, rt.server?.address ?? '');
    await client.applyPipeline({ specYaml: spec });
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('marks the run failed at stage cancelled, emits run.cancelled, and refuses a second cancel', async () => {
    const { run } = await client.triggerRun({ pipeline: 'weather-rain', reason: 'to cancel' });
    const runId = run?.runId ?? '';
    const { run: cancelled } = await client.cancelRun({ runId, reason: 'wrong data pushed' });
    expect(cancelled).toMatchObject({ status: RunStatus.FAILED, failedStage: 'cancelled', failureReason: 'cancelled: wrong data pushed (by anonymous (authentication off))', outcome: 'cancelled' });
    expect(cancelled?.stages.at(-1)).toMatchObject({ stage: 'cancelled', status: 'failed', detail: 'wrong data pushed (by anonymous (authentication off))' });
    const event = await waitFor(async () =>
      (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.runCancelled.name}` }))
        .map((e) => fromBinary(EVENTS.runCancelled.schema, e.data))
        .find((e) => e.runId === runId),
    );
    expect(event).toMatchObject({ pipeline: 'weather-rain', reason: 'wrong data pushed (by anonymous (authentication off))' });

    const again = await client.cancelRun({ runId, reason: '' }).catch((e: unknown) => e);
    expect(isFailedPrecondition(again) && (again as Error).message).toMatch(/already failed/);
    expect(isNotFound(await client.cancelRun({ runId: 'r-nope', reason: '' }).catch((e: unknown) => e))).toBe(true);
  });
});
