import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { TriggerService, Verdict } from '@refit/contracts';
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import { binaryMetrics, binaryRowSums, createRng } from '@refit/ml';
import { createClient, EVENTS, withTransaction, type EventDef, type ServiceRuntime } from '@refit/platform';
import { createTestEnv, serviceEnv, startTestRuntime, waitFor, weatherRows, type DataRow, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { expectTypedDecision } from './decision-evidence.fixtures.js';
import { startTriggerService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const base = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');
const spec = (name: string, triggers: string) => base.replace('name: weather-rain', `name: ${name}`).replace(/triggers:\n(\s+- .*\n?)+/, `triggers:\n${triggers}\n`);

const COLUMNS = ['temp_max', 'temp_min', 'wind'];
const rain = (r: DataRow) => (Number(r.precipitation) > 0 ? 1 : 0);

/** A logistic regression of rain on standardized temp_max, temp_min and wind, by gradient descent. */
function fitRainModel(rows: DataRow[]): (r: DataRow) => number {
  const X = rows.map((r) => COLUMNS.map((c) => Number(r[c])));
  const mean = COLUMNS.map((_, j) => X.reduce((s, x) => s + x[j], 0) / X.length);
  const sd = COLUMNS.map((_, j) => Math.sqrt(X.reduce((s, x) => s + (x[j] - mean[j]) ** 2, 0) / X.length));
  const w = [0, 0, 0, 0];
  const prob = (x: number[]) => 1 / (1 + Math.exp(-x.reduce((s, v, j) => s + ((v - mean[j]) / sd[j]) * w[j + 1], w[0])));
  for (let it = 0; it < 2000; it++) {
    const g = [0, 0, 0, 0];
    X.forEach((x, i) => {
      const e = prob(x) - rain(rows[i]);
      g[0] += e;
      x.forEach((v, j) => (g[j + 1] += e * ((v - mean[j]) / sd[j])));
    });
    g.forEach((v, j) => (w[j] -= (0.5 * v) / X.length));
  }
  return (r) => prob(COLUMNS.map((c) => Number(r[c])));
}

/** The model trained on Seattle 2012: ~0.81 accuracy there, ~0.77 on Seattle 2013–2015, ~0.60 on New York. */
const model = fitRainModel(weatherRows('Seattle', '2012-01-01', '2013-01-01'));

/** What the deployer reports for a window of served days once their labels are in. */
function windowMetrics(rows: DataRow[]) {
  if (rows.length === 0) return { labeled: 0n, metrics: {}, rowSums: {} };
  const y = rows.map(rain);
  const p = rows.map(model);
  const b = binaryMetrics(y, p);
  return { labeled: BigInt(rows.length), metrics: { accuracy: b.accuracy, logLoss: b.logLoss, brier: b.brier, ...b.confusion }, rowSums: binaryRowSums(y, p) };
}

describe('the performance trigger on the real servers, with a weather model', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof TriggerService>>;

  const publish = async <S extends DescMessage>(event: EventDef<S>, message: MessageInitShape<S>, runId?: string) => {
    await withTransaction(rt.pool, (tx) => rt.publish(tx, event, message, { runId }));
    rt.relay.kick();
  };
  const runs = async (pipeline: string) => (await client.listRuns({ pipeline, limit: 100 })).runs;
  const decisions = async (pipeline: string) => (await client.explainTriggers({ pipeline, limit: 200 })).decisions.filter((d) => d.policy === 'performance').reverse();
  /** A served model v1 whose evaluation reported `accuracy` (its in-distribution test metric). */
  const serve = async (pipeline: string, accuracy: number) => {
    const { run } = await client.triggerRun({ pipeline, reason: 'first model' });
    const runId = run?.runId ?? '';
    const context = { runId, pipeline };
    await publish(EVENTS.modelEvaluated, { context, verdict: Verdict.PASS, candidateMetrics: { accuracy } }, runId);
    await publish(EVENTS.modelRegistered, { context, version: 'v1', promoted: true }, runId);
    await publish(EVENTS.modelServing, { pipeline, version: 'v1', runId }, runId);
    await waitFor(async () => (await runs(pipeline))[0]?.outcome === 'promoted', { timeoutMs: 10_000 });
  };
  /** Monitoring windows of v1, one per row group, in order (window ends from minute `from`); waits until each is decided. */
  const windows = async (pipeline: string, groups: DataRow[][], from = 0) => {
    const before = (await decisions(pipeline)).length;
    for (const [i, rows] of groups.entries()) {
      await publish(EVENTS.monitoringWindow, { pipeline, version: 'v1', variant: 'champion', windowEnd: timestampFromMs(Date.UTC(2026, 10, 26, 12, from + i)), ...windowMetrics(rows) });
    }
    await waitFor(async () => (await decisions(pipeline)).length === before + groups.length, { timeoutMs: 20_000 });
    return (await decisions(pipeline)).slice(before);
  };

  beforeAll(async () => {
    env = await createTestEnv({ name: 'performance' });
    const config = loadConfig(serviceEnv(env.env, { REFIT_TRIGGER_TICK_MS: '50' }));
    rt = await startTestRuntime(config, migrations);
    await startTriggerService(rt, config);
    client = createClient(TriggerService, rt.server?.address ?? '');
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('stays quiet over 18 windows when live quality is stable, though below the test metric (the old rule fired on 10)', async () => {
    await client.applyPipeline({ specYaml: spec('stable', '  - { kind: manual }\n  - { kind: performance, metric: accuracy, maxDrop: 0.03, minLabeled: 60 }') });
    // Its evaluation: accuracy on the year it was trained on (in-distribution), ~0.81.
    const y2012 = weatherRows('Seattle', '2012-01-01', '2013-01-01');
    const tested = binaryMetrics(y2012.map(rain), y2012.map(model)).accuracy;
    await serve('stable', tested);
    // Served: Seattle 2013–2015 in a seeded random order (quality ~0.77 in every window, no trend), 60 days a window.
    const days = weatherRows('Seattle', '2013-01-01', '2016-01-01');
    const rng = createRng(2013);
    for (let i = days.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [days[i], days[j]] = [days[j], days[i]];
    }
    const groups = Array.from({ length: 18 }, (_, k) => days.slice(k * 60, k * 60 + 60));
    // The rule this replaces fired whenever a window's accuracy was below the test metric by more than 0.03.
    expect(groups.filter((g) => tested - binaryMetrics(g.map(rain), g.map(model)).accuracy > 0.03)).toHaveLength(10);
    const decided = await windows('stable', groups);
    expect(decided.filter((d) => d.fired)).toEqual([]);
    expect(decided[0].reason).toBe('v1: reference set: live accuracy 0.7167 on its first 60 labeled predictions; later windows are tested against it');
    expect(decided.at(-1)?.reason).toMatch(/^v1: live accuracy 0\.7765 on 1020 labeled predictions vs its live reference 0\.7167 \(its first 60 labeled predictions\): better by 0\.0598 .* — no evidence of a drop beyond 0\.03$/);
    expect(await runs('stable')).toHaveLength(1);
  });

  it('fires on a real drop — the Seattle model serving New York — with the evidence; unlabeled windows say so', async () => {
    await client.applyPipeline({ specYaml: spec('moved', '  - { kind: manual }\n  - { kind: performance, metric: accuracy, maxDrop: 0.05, minLabeled: 365 }') });
    await serve('moved', 0.81);
    const seattle = weatherRows('Seattle', '2014-01-01', '2015-01-01');
    const newYork = weatherRows('New York', '2014-01-01', '2015-01-01');
    const chunks = (rows: DataRow[]) => Array.from({ length: 5 }, (_, k) => rows.slice(k * 73, k * 73 + 73));
    // No feedback yet, a warm-up year in Seattle, a quiet window, then New York.
    const decided = await windows('moved', [[], ...chunks(seattle), [], ...chunks(newYork).slice(0, 2)]);
    expect(decided[0].reason).toBe('v1: no labeled predictions in this window yet; warming up: 0 of 365 labeled predictions for its live reference (accuracy so far n/a)');
    expect(decided[5].reason).toBe('v1: reference set: live accuracy 0.7973 on its first 365 labeled predictions; later windows are tested against it');
    expect(decided[6].reason).toBe('v1: no labeled predictions in this window yet; fewer than 2 rows on the candidate side: no test yet');
    expect(decided.every((d) => !d.reason.includes('only 0 labeled'))).toBe(true);
    expect(decided.slice(0, 7).some((d) => d.fired)).toBe(false);
    const fired = decided[7];
    expect(fired).toMatchObject({ fired: true, action: 'start' });
    expect(fired.reason).toBe(
      'v1: live accuracy 0.4932 on 73 labeled predictions vs its live reference 0.7973 (its first 365 labeled predictions): worse by 0.3041 (one-sided 95 % bounds of the drop [0.0793, 0.5289]); always-valid p 0.0244 ≤ 0.05 — performance dropped by more than 0.05; a new run starts',
    );
    expect(JSON.parse(fired.measuredJson)).toMatchObject({
      version: 'v1',
      labeled: 73,
      metric: 'accuracy',
      reference: { source: 'live', value: expect.closeTo(0.7973, 4), labeled: 365 },
      test: 'sequential',
      live: { value: expect.closeTo(0.4932, 4), labeled: 73 },
      drop: expect.closeTo(0.3041, 4),
      lower: expect.closeTo(0.0793, 4),
      upper: expect.closeTo(0.5289, 4),
      pValue: expect.closeTo(0.0244, 4),
      looks: 1,
    });
    expect(JSON.parse(fired.thresholdsJson)).toEqual({ metric: 'accuracy', maxDrop: 0.05, minLabeled: 365, reference: 'live', alpha: 0.05 });
    // The typed evidence is the JSON evidence, on every decision of the warm-up, the reference and the test.
    decided.forEach(expectTypedDecision);
    expect(fired.measured).toMatchObject({ test: 'sequential', labeled: 73n, looks: 1n, reference: { source: 'live', labeled: 365n }, live: { labeled: 73n } });
    expect((await runs('moved'))[0]).toMatchObject({ triggerKind: 'performance', decisionId: fired.id });
    // The next New York window: still worse, now on 146 rows; the run in flight absorbs it.
    expect(decided[8]).toMatchObject({ fired: true, action: 'coalesce' });
    const explained = await client.explainTriggers({ pipeline: 'moved', limit: 1 });
    expect(explained.summary).toContain(
      'performance: fires when live accuracy from feedback is worse than its live reference (its first 365 labeled predictions) by more than 0.05, by an always-valid sequential test at level 0.05; v1: 146 labeled predictions since the reference over 2 looks, always-valid p 0.0050, drop bounds [0.1028, 0.3959]',
    );
  });

  it('a restarted service continues the same test (state in Postgres), and candidates’ windows are left to their rollout', async () => {
    await client.applyPipeline({ specYaml: spec('restart', '  - { kind: performance, metric: accuracy, maxDrop: 0.05, minLabeled: 100, reference: { value: 0.8 } }') });
    const days = weatherRows('Seattle', '2014-01-01', '2015-01-01');
    await windows('restart', [days.slice(0, 60)]);
    await rt.close();
    const config = loadConfig(serviceEnv(env.env, { REFIT_TRIGGER_TICK_MS: '50' }));
    rt = await startTestRuntime(config, migrations);
    await startTriggerService(rt, config);
    client.close();
    client = createClient(TriggerService, rt.server?.address ?? '');
    await publish(EVENTS.monitoringWindow, { pipeline: 'restart', version: 'v2', variant: 'canary', windowEnd: timestampFromMs(Date.UTC(2026, 10, 27)), ...windowMetrics(days.slice(60, 120)) });
    const [next] = await windows('restart', [days.slice(60, 120)], 1);
    expect(next.reason).toMatch(/^v1: live accuracy 0\.\d{4} on 120 labeled predictions vs the declared accuracy 0\.8000/);
    const restarted = await decisions('restart');
    expect(restarted.map((d) => JSON.parse(d.measuredJson).version)).toEqual(['v1', 'v1']);
    restarted.forEach(expectTypedDecision);
    expect(restarted.map((d) => d.thresholds?.reference)).toEqual(['declared', 'declared']);
    expect(restarted[0].thresholds?.referenceValue).toBe(0.8);
  });
});
