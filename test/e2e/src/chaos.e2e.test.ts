import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, dataPush, type Clients } from '@refit/cli';
import { RunStatus } from '@refit/contracts';
import { auditNamespace, auditProblems, REPO_ROOT, startStack, waitRunEnds, waitStageWorking, writeWeatherSlice, type Stack } from '@refit/stack';
import { STACK_START_S } from '@refit/testing';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The fast part of the chaos suite (`npm run chaos` has every fault): a stack on private
// infrastructure it starts itself, so that NATS can be restarted under it.
const id = randomBytes(3).toString('hex');
const env = { REFIT_SCHEMA_PREFIX: `chaos_${id}_`, REFIT_STREAM: `CHAOS_${id}`, REFIT_SUBJECT_PREFIX: `chaos${id}`, REFIT_S3_BUCKET: `chaos-${id}`, REFIT_ACK_WAIT_MS: '3000' };
const workDir = join(REPO_ROOT, '.refit', `e2e-chaos-${id}`);
const PIPELINE = 'weather-rain';
const quiet = { json: true, progress: false, out: () => undefined, err: () => undefined };

describe('outages and restarts: supervision and a NATS restart, on real processes', () => {
  let stack: Stack;
  let c: Clients;
  let nc: NatsConnection;
  const said: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ env, workDir, privateInfra: true, log: (l) => said.push(l), startTimeoutS: STACK_START_S });
    c = connect(stack.env);
    nc = await natsConnect({ servers: stack.env.REFIT_NATS_URL, user: stack.env.REFIT_NATS_USER, pass: stack.env.REFIT_NATS_PASSWORD, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    await c.trigger.applyPipeline({ specYaml: readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8') });
  });
  afterAll(async () => {
    await nc?.close();
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  async function pushAndTrigger(location: string, from: number, to: number): Promise<string> {
    const file = join(tmpdir(), `chaos-${id}-${location.replace(' ', '-')}.csv`);
    writeWeatherSlice(file, location, from, to);
    await dataPush(c, quiet, PIPELINE, file);
    return (await c.trigger.triggerRun({ pipeline: PIPELINE, reason: `chaos e2e: ${location}` })).run?.runId ?? '';
  }

  /** What is left, doubled or dead-lettered once the namespace has settled (or after 30 s: then what is still wrong). */
  async function settledProblems(): Promise<string[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const problems = auditProblems(await auditNamespace({ pgUrl: stack.env.REFIT_PG_URL, schemaPrefix: env.REFIT_SCHEMA_PREFIX, nc, stream: env.REFIT_STREAM }));
      if (problems.length === 0 || Date.now() > deadline) return problems;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('kill -9 of the trainer inside its stage: the supervision restarts it, says why, and the run completes with one model', async () => {
    const runId = await pushAndTrigger('Seattle', 2012, 2013);
    await waitStageWorking(nc, { stream: env.REFIT_STREAM, service: 'trainer', timeoutMs: 60_000 });
    const pid = stack.pid('trainer') as number;
    // From outside the stack, as a crash: nobody asks the stack to bring it back.
    process.kill(pid, 'SIGKILL');

    const run = await waitRunEnds(c, runId, { timeoutMs: 120_000 });
    expect(run).toMatchObject({ status: RunStatus.SUCCEEDED, outcome: 'promoted', modelVersion: 'v1' });
    expect((await c.registry.listModels({ pipeline: PIPELINE })).models.map((m) => m.runId)).toEqual([runId]);
    expect(stack.restarts('trainer')).toBe(1);
    expect(stack.exits).toMatchObject([{ process: 'trainer', pid, signal: 'SIGKILL', requested: false, restartInMs: 500 }]);
    expect(said[0]).toMatch(new RegExp(`^refit stack: trainer \\(pid ${pid}\\) was killed by SIGKILL after [\\d.]+ s without being asked; restarting in 0\\.5 s`));
    expect(readFileSync(join(stack.logDir, 'trainer.log'), 'utf8')).toContain(`"msg":"refit stack: trainer (pid ${pid}) was killed by SIGKILL`);
    expect(await settledProblems()).toEqual([]);
  });

  it('a NATS restart during training: the run completes, nothing is left unpublished, doubled or dead-lettered', async () => {
    const runId = await pushAndTrigger('New York', 2012, 2014);
    await waitStageWorking(nc, { stream: env.REFIT_STREAM, service: 'trainer', timeoutMs: 60_000 });
    await stack.infra.nats?.restart();

    const run = await waitRunEnds(c, runId, { timeoutMs: 180_000 });
    expect(run.status, `${run.failedStage}: ${run.failureReason}`).toBe(RunStatus.SUCCEEDED);
    expect((await c.registry.listModels({ pipeline: PIPELINE })).models.filter((m) => m.runId === runId)).toHaveLength(1);
    expect(await settledProblems()).toEqual([]);
    // Nobody acted: every service still runs (restarted by the supervision if NATS took one down).
    for (const s of ['trigger', 'ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'] as const) expect(stack.pid(s), s).toBeDefined();
  });
});
