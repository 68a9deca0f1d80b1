import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { RunStatus } from '@refit/contracts';
import { isNotFound } from '@refit/platform';
import { connect, runDemo, waitForRun, type DemoResult } from '@refit/cli';
import { REPO_ROOT, resetNamespace, startStack } from '@refit/stack';
import { STACK_START_S } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Each test file gets its own namespace on the real Postgres, NATS and S3.
const id = randomBytes(3).toString('hex');
const env = {
  REFIT_SCHEMA_PREFIX: `e2e_${id}_`,
  REFIT_STREAM: `E2E_${id}`,
  REFIT_SUBJECT_PREFIX: `e2e${id}`,
  REFIT_S3_BUCKET: `e2e-${id}`,
  REFIT_ACK_WAIT_MS: '3000',
  REFIT_LOG_LEVEL: 'info',
};
const pgUrl = process.env.REFIT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/refit';
const natsUrl = process.env.REFIT_NATS_URL ?? 'nats://127.0.0.1:4222';

describe('the retraining loop, all seven services as processes', () => {
  let demo: DemoResult;

  beforeAll(async () => {
    demo = await runDemo({ env });
  });

  afterAll(async () => {
    await resetNamespace({ pgUrl, schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl, stream: env.REFIT_STREAM });
  });

  it('trains and promotes a first champion on Seattle data, judged on its floors', () => {
    const first = demo.runs[0].run;
    expect(first.status).toBe(RunStatus.SUCCEEDED);
    expect(first.outcome).toBe('promoted');
    expect(first.modelVersion).toBe('v1');
    expect(first.stages.map((s) => s.stage)).toEqual(['ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer']);
    expect(first.championVersion).toBe('');
    expect(first.candidateMetrics.accuracy).toBeGreaterThan(0.6);
    expect(first.decisionReasons.some((r) => r.includes('no champion yet'))).toBe(true);
  });

  it('retrains on the New York shift, gives better probabilities than the champion on the same rows, ranks as well, and is promoted', () => {
    const second = demo.runs[1].run;
    expect(second.status).toBe(RunStatus.SUCCEEDED);
    expect(second.outcome).toBe('promoted');
    expect(second.modelVersion).toBe('v2');
    expect(second.championVersion).toBe('v1');
    // A location shift breaks the champion's calibration more than its ranking (DATA.md): the
    // retrained model's probabilities are better, its AUC not worse beyond the spec's margin.
    expect(second.candidateMetrics.logLoss).toBeLessThan(second.championMetrics.logLoss);
    expect(second.candidateMetrics.accuracy).toBeGreaterThan(second.championMetrics.accuracy);
    expect(second.candidateMetrics.auc).toBeGreaterThan(second.championMetrics.auc - 0.05);
    expect(second.decisionReasons.find((r) => r.startsWith('pass: logLoss'))).toMatch(/better than the champion/);
    expect(second.decisionReasons.find((r) => r.includes("champion v1's"))).toMatch(/^pass: auc/);
    // The feature service saw the location shift: wind and temp_min move far (DATA.md: PSI ~1.1 and ~0.67).
    const feature = second.stages.find((s) => s.stage === 'feature')?.detail ?? '';
    expect(feature).toMatch(new RegExp(`^3 features; drift vs ${demo.runs[0].run.runId}: `));
    expect(feature).toMatch(/wind psi \d\.\d\d drift/);
    expect(feature).toMatch(/temp_min psi \d\.\d\d drift/);
  });

  it('serves the new champion, with different predictions for the same rows', () => {
    const { before, after } = demo.predictions;
    expect(before.version).toBe('v1');
    expect(after.version).toBe('v2');
    expect(after.probabilities).toHaveLength(demo.probe.length);
    const moved = before.probabilities.filter((p, i) => Math.abs(p - after.probabilities[i]) > 0.01).length;
    expect(moved).toBeGreaterThan(demo.probe.length / 2);
  });
});

describe('crash recovery and the CLI', () => {
  it('a trainer killed with SIGKILL mid-training is restarted and the run completes with exactly one model', async () => {
    await using stack = await startStack({ env, workDir: join(REPO_ROOT, '.refit', `e2e-${id}`), startTimeoutS: STACK_START_S });
    const c = connect(stack.env);
    const cli = (...args: string[]) =>
      JSON.parse(execFileSync(join(REPO_ROOT, 'node_modules/.bin/refit'), ['--json', ...args], { env: { ...process.env, ...stack.env }, encoding: 'utf8' })) as Record<string, unknown>;

    // A slow model so that the kill lands while it trains.
    const spec = join(REPO_ROOT, 'test/e2e/fixtures/slow-rain.yaml');
    expect(cli('pipeline', 'apply', '-f', spec)).toMatchObject({ name: 'slow-rain', changed: true });
    const pushed = cli('data', 'push', 'slow-rain', join(REPO_ROOT, 'test/e2e/fixtures/seattle-2012.csv'));
    expect(pushed).toMatchObject({ rowsAccepted: '366', rowsQuarantined: '0' });
    const { runId } = cli('trigger', 'slow-rain', '--reason', 'crash test') as { runId: string };

    // Wait for the feature stage, then kill the trainer while it works on the run.
    for (;;) {
      const { run } = await c.trigger.getRun({ runId });
      if (run?.stages.some((s) => s.stage === 'feature')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 500));
    await stack.kill('trainer', 'SIGKILL');
    const atKill = (await c.trigger.getRun({ runId })).run;
    expect(atKill?.stages.map((s) => s.stage)).not.toContain('trainer');
    expect((await c.registry.listModels({ pipeline: 'slow-rain' })).models).toHaveLength(0);
    await stack.restart('trainer');

    const run = await waitForRun(connect(stack.env), runId, { timeoutMs: 120_000 });
    expect(run.status).toBe(RunStatus.SUCCEEDED);
    const models = (await c.registry.listModels({ pipeline: 'slow-rain' })).models;
    expect(models.map((m) => m.runId)).toEqual([runId]);
    expect(cli('runs', 'show', runId)).toMatchObject({ runId, status: 'RUN_STATUS_SUCCEEDED', outcome: 'promoted' });

    // An unknown pipeline is NOT_FOUND and the message names it.
    await expect(c.trigger.triggerRun({ pipeline: 'no-such-pipeline', reason: '' })).rejects.toSatisfy(
      (e: unknown) => isNotFound(e) && (e as Error).message.includes("'no-such-pipeline'"),
    );
  });
});
