import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceRuntime } from '@refit/platform';
import { createTestEnv, serviceEnv, startTestRuntime, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { advanceStep, endRollout, getRollout, recordAnalysis, startRollout, type RolloutConfig } from './rollout-store.js';
import type { StepAnalysis } from './rollout-analysis.js';

const migrations = join(fileURLToPath(new URL('.', import.meta.url)), 'migrations');
const config: RolloutConfig = { strategy: 'canary', steps: [10, 50, 100], minLabeled: 100, metric: 'accuracy', margin: 0.02, alpha: 0.05, holdMinutes: 60, onInconclusive: 'hold', split: 50 };
const analysis = (outcome: string, reason: string) => ({ outcome, reason, metric: 'accuracy', paired: false, test: 'none' }) as unknown as StepAnalysis;

// The rollout tick decides on the row it read at the start of its analysis; a consumer may end the
// rollout meanwhile (the champion moved, a newer candidate superseded it). Seen under load: the
// tick's "too little feedback yet" replaced the reason the rollout was aborted for.
describe('rollout changes made on an older read', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;

  beforeAll(async () => {
    env = await createTestEnv({ name: 'rollout-store' });
    rt = await startTestRuntime(loadConfig(serviceEnv(env.env)), migrations);
  });
  afterAll(async () => {
    await rt?.close();
    await env?.cleanup();
  });

  it('change nothing once the rollout ended, moved on, or belongs to another run', async () => {
    const start = (runId: string) =>
      startRollout(rt.pool, { pipeline: 'p', run_id: runId, strategy: 'canary', candidate_version: 'v2', champion_version: 'v1', model_key: 'm', transform_key: 't', decision_threshold: 0.5, config, weight: 10, started_at: new Date() });
    await start('r-1');
    const read = (await getRollout(rt.pool, 'p'))!;
    // A consumer aborts it; the tick, still holding its read, records its analysis, moves the step, promotes.
    expect(await endRollout(rt.pool, read, 'aborted', 'the champion moved', null, new Date())).toBe(true);
    expect(await recordAnalysis(rt.pool, read, analysis('inconclusive', 'too little feedback yet'))).toBe(false);
    expect(await advanceStep(rt.pool, read, 50, new Date(), analysis('pass', 'step passed'))).toBe(false);
    expect(await endRollout(rt.pool, read, 'promoted', 'all steps passed', null, new Date())).toBe(false);
    expect(await getRollout(rt.pool, 'p')).toMatchObject({ status: 'aborted', last_reason: 'the champion moved', step: 0, weight: 0 });

    // A newer run's rollout of the same pipeline is not touched by the old run's read either.
    await start('r-2');
    expect(await recordAnalysis(rt.pool, read, analysis('inconclusive', 'stale'))).toBe(false);
    // Nor is a step the rollout has left.
    const fresh = (await getRollout(rt.pool, 'p'))!;
    expect(await advanceStep(rt.pool, fresh, 50, new Date(), analysis('pass', 'step 1/3 passed'))).toBe(true);
    expect(await advanceStep(rt.pool, fresh, 50, new Date(), analysis('pass', 'step 1/3 passed again'))).toBe(false);
    expect(await getRollout(rt.pool, 'p')).toMatchObject({ run_id: 'r-2', status: 'active', step: 1, weight: 50, last_reason: 'step 1/3 passed' });
  });
});
