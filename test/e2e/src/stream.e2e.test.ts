import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, waitForRun } from '@refit/cli';
import * as cmd from '@refit/cli';
import { RunStatus, Verdict } from '@refit/contracts';
import { connectNats } from '@refit/platform';
import type { NatsConnection } from 'nats';
import { REPO_ROOT, resetNamespace, startStack, writeWeatherSlice, type Stack } from '@refit/stack';
import { STACK_START_S, waitFor, weatherRows } from '@refit/testing';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
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
const PIPELINE = 'weather-stream';
const SUBJECT = `e2estream${id}.rows`;
const DAY = 86_400_000;

type Day = Record<string, unknown>;
const rowMsg = (d: Day) => {
  const { precipitation: _p, ...row } = d;
  return Buffer.from(JSON.stringify({ id: `${d.location}-${d.date}`, at: new Date(String(d.date)).toISOString(), ...row }));
};
const labelMsg = (d: Day) => Buffer.from(JSON.stringify({ id: `${d.location}-${d.date}`, label: d.precipitation, at: new Date(new Date(String(d.date)).getTime() + DAY).toISOString() }));

describe('a stream-fed pipeline, all seven services as processes', () => {
  let stack: Stack;
  let c: ReturnType<typeof connect>;
  let nc: NatsConnection;
  const cli = (...args: string[]) => JSON.parse(execFileSync(join(REPO_ROOT, 'node_modules/.bin/refit'), ['--json', ...args], { env: { ...process.env, ...stack.env }, encoding: 'utf8' })) as Record<string, unknown>;

  /** Publishes days as they would come: each day's row, and the day before's label. */
  async function streamDays(days: Day[], from: number, to: number): Promise<void> {
    const js = nc.jetstream();
    for (let i = from; i < to; i++) {
      await js.publish(SUBJECT, rowMsg(days[i]));
      if (i > 0) await js.publish(`${SUBJECT}.labels`, labelMsg(days[i - 1]));
    }
  }

  beforeAll(async () => {
    stack = await startStack({ env, workDir: join(REPO_ROOT, '.refit', `e2e-${id}`), startTimeoutS: STACK_START_S });
    c = connect(stack.env);
    nc = await connectNats({ url: stack.env.REFIT_NATS_URL ?? natsUrl, name: 'e2e-stream', user: stack.env.REFIT_NATS_USER, pass: stack.env.REFIT_NATS_PASSWORD });
    const spec = parseYaml(readFileSync(join(REPO_ROOT, 'examples/weather-stream.yaml'), 'utf8')) as { data: { source: { stream: { subject: string } } } };
    spec.data.source.stream.subject = SUBJECT;
    const work = mkdtempSync(join(tmpdir(), 'refit-e2e-stream-'));
    const file = join(work, 'weather-stream.yaml');
    writeFileSync(file, stringifyYaml(spec));
    const quiet = { json: true, progress: false, out: () => undefined, err: () => undefined };
    await cmd.pipelineApply(c, quiet, file);
    // The first champion comes from a batch run on Seattle 2012.
    const csv = join(work, 'seattle-2012.csv');
    writeWeatherSlice(csv, 'Seattle', 2012, 2012);
    await cmd.dataPush(c, quiet, PIPELINE, csv);
    const { run } = await c.trigger.triggerRun({ pipeline: PIPELINE, reason: 'the first champion' });
    const done = await waitForRun(c, run?.runId ?? '', { timeoutMs: 120_000 });
    expect(done.outcome).toBe('promoted');
  });

  afterAll(async () => {
    await nc?.close();
    for (const client of Object.values(c ?? {})) client.close();
    await stack?.stop();
    await resetNamespace({ pgUrl, schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl, stream: env.REFIT_STREAM });
  });

  it('learns Seattle then New York day by day, survives a killed trainer, and replaces the Seattle champion with evidence', async () => {
    const days = [...weatherRows('Seattle', '2013-01-01', '2014-01-01'), ...weatherRows('New York', '2014-01-01', '2015-01-01')] as Day[];
    await streamDays(days, 0, 200);
    await waitFor(async () => {
      const l = await c.trainer.getLearner({ pipeline: PIPELINE }).catch(() => undefined);
      return l && l.rowsLearned >= 100n ? l : undefined;
    }, { timeoutMs: 60_000, what: 'the learner under way' });
    // A crash mid-stream: the segment in flight is redone by the restarted trainer, once.
    await stack.kill('trainer', 'SIGKILL');
    await streamDays(days, 200, 400);
    await stack.restart('trainer');
    await streamDays(days, 400, days.length);
    const labels = days.length - 1;
    const learner = await waitFor(async () => {
      const [s, l] = await Promise.all([c.ingestion.getStreamStats({ pipeline: PIPELINE }), c.trainer.getLearner({ pipeline: PIPELINE }).catch(() => undefined)]);
      return s.labelsJoined === BigInt(labels) && l && l.segment === s.segments ? { s, l } : undefined;
    }, { timeoutMs: 120_000, what: `all ${labels} labels joined and every segment learned` });
    expect(learner.s.rowsAccepted).toBe(BigInt(days.length));
    expect(learner.s.rowsQuarantined).toBe(0n);
    // Every labeled row learned exactly once since the learner last started from a champion.
    expect(learner.l.replacements).toBeGreaterThanOrEqual(1n);

    // A replacement is a registered version with the stream's lineage, its evidence in the ledger.
    const models = (await c.registry.listModels({ pipeline: PIPELINE })).models;
    const replaced = models.find((m) => m.triggerKind === 'stream' && m.verdict === Verdict.PASS);
    expect(replaced?.lineage?.streamStartedFrom).toMatch(/^v\d+$/);
    expect(Number(replaced?.lineage?.streamUpdates)).toBeGreaterThan(0);
    expect(replaced?.reasons[0]).toMatch(/beat champion v\d+ prequentially on \d+ labeled rows/);
    const ledger = (await c.registry.listLedger({ pipeline: PIPELINE, runId: replaced?.runId ?? '' })).entries;
    expect(ledger.map((e) => e.kind)).toContain('gate-verdict');
    expect(ledger.find((e) => e.kind === 'gate-verdict')?.actor).toBe('trainer:stream-learner');
    // The trigger recorded it as a run that went through to serving.
    const run = await waitForRun(c, replaced?.runId ?? '', { timeoutMs: 60_000 });
    expect(run).toMatchObject({ status: RunStatus.SUCCEEDED, triggerKind: 'stream' });
    expect(run.stages[0].stage).toBe('learner');

    // refit stream status shows the intake and the learner.
    const status = cli('stream', 'status', PIPELINE) as { intake: { rowsAccepted: string; subject: string }; learner: { replacements: string; evidence: { rows: string } } };
    expect(status.intake).toMatchObject({ rowsAccepted: String(days.length), subject: SUBJECT });
    expect(Number(status.learner.replacements)).toBeGreaterThanOrEqual(1);
  });
});
