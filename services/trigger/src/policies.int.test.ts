import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timestampDate, timestampFromMs } from '@bufbuild/protobuf/wkt';
import { TriggerService, Verdict } from '@refit/contracts';
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import { createClient, EVENTS, InMemorySpanExporter, withTransaction, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { datasetDrift } from '@refit/ml';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, weatherRows, type DataRow, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { expectTypedDecision } from './decision-evidence.fixtures.js';
import { nextSlot } from './policies.js';
import { startTriggerService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const base = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');
/** The example spec under another name, with other trigger policies and hygiene. */
const spec = (name: string, triggers: string, hygiene = '') =>
  base.replace('name: weather-rain', `name: ${name}`).replace(/triggers:\n(\s+- .*\n?)+/, `triggers:\n${triggers}\n${hygiene}`);

/**
 * A live drift.report as the feature service makes it (PSI per feature on the reference's decile
 * bins, drift at 0.25, at least 50 rows): served weather rows against the full year 2012 in Seattle.
 */
function liveReport(rows: DataRow[], windowEnd: number) {
  const reference = weatherRows('Seattle', '2012-01-01', '2013-01-01');
  const values = (rs: DataRow[], c: string) => rs.map((r) => Number(r[c]));
  const d = datasetDrift(
    ['temp_max', 'temp_min', 'wind'].map((c) => ({ name: c, type: 'numeric' as const, reference: values(reference, c), current: values(rows, c) })),
    { test: 'psi', threshold: 0.25, minSamples: 50 },
  );
  return {
    source: 'live',
    pipeline: 'drift',
    version: 'v1',
    windowEnd: timestampFromMs(windowEnd),
    referenceRunId: 'r-2012',
    status: d.status,
    share: d.share ?? 0,
    columns: d.columns.map((c) => ({ column: c.column, test: c.test, statistic: c.statistic ?? Number.NaN, psi: c.statistic ?? undefined, status: c.status, referenceSize: BigInt(c.referenceSize), currentSize: BigInt(c.currentSize) })),
  };
}

describe('trigger policies on the real servers', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let nowMs = Date.now();
  const clock = () => new Date(nowMs);
  const spans = new InMemorySpanExporter();
  let client: ReturnType<typeof createClient<typeof TriggerService>>;

  const start = async () => {
    const config = loadConfig(serviceEnv(env.env, { REFIT_TRIGGER_TICK_MS: '50' }));
    rt = await startTestRuntime(config, migrations, { spanExporter: spans });
    await startTriggerService(rt, config, { clock });
    client?.close();
    client = createClient(TriggerService, rt.server?.address ?? '');
  };
  const publish = async <S extends DescMessage>(event: EventDef<S>, message: MessageInitShape<S>, runId?: string) => {
    await withTransaction(rt.pool, (tx) => rt.publish(tx, event, message, { runId }));
    rt.relay.kick();
  };
  const runs = async (pipeline: string) => (await client.listRuns({ pipeline, limit: 100 })).runs;
  const failRun = async (pipeline: string, runId: string) => {
    await publish(EVENTS.runFailed, { runId, pipeline, stage: 'trainer', reason: 'test ends the run' }, runId);
    await waitFor(async () => (await runs(pipeline)).every((r) => r.runId !== runId || r.failedStage === 'trainer'), { timeoutMs: 10_000 });
  };

  beforeAll(async () => {
    env = await createTestEnv({ name: 'policies' });
    await start();
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('a data-volume threshold fires exactly once when it is crossed', async () => {
    await client.applyPipeline({ specYaml: spec('volume-test', '  - { kind: volume, minRows: 100 }') });
    for (const rows of [60n, 60n, 60n]) {
      await publish(EVENTS.dataIngested, { pipeline: 'volume-test', batchId: `b-${rows}-${Math.random()}`, rowsTotal: rows, rowsAccepted: rows });
    }
    await waitFor(async () => (await client.explainTriggers({ pipeline: 'volume-test', limit: 10 })).decisions.length === 3, { timeoutMs: 10_000 });
    const r = await runs('volume-test');
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ triggerKind: 'volume' });
    const explained = await client.explainTriggers({ pipeline: 'volume-test', limit: 10 });
    expect(explained.decisions.map((d) => [d.fired, d.action]).reverse()).toEqual([
      [false, 'none'],
      [true, 'start'],
      [false, 'none'],
    ]);
    expect(explained.decisions[1].reason).toBe('new data since the last run: 120 of 100 rows — threshold crossed; a new run starts');
    expect(r[0].decisionId).toBe(explained.decisions[1].id);
    expect(JSON.parse(explained.decisions[1].measuredJson)).toMatchObject({ rowsSinceRun: 120 });
    // The typed evidence is the JSON evidence, on every decision.
    explained.decisions.forEach(expectTypedDecision);
    expect(explained.decisions[1].measured).toMatchObject({ rowsSinceRun: 120n });
    expect(explained.decisions[1].thresholds).toMatchObject({ minRows: 100n });
    expect(explained.summary).toContain('volume: new data since the last run: 60 of 100 rows — below threshold');
    expect(explained.summary[0]).toMatch(/^last run r-.* \(running\) started .* by volume: new data since the last run: 120 of 100 rows/);
  });

  it('a storm of triggers during a run yields one run', async () => {
    await client.applyPipeline({ specYaml: spec('storm', '  - { kind: manual }') });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => client.triggerRun({ pipeline: 'storm', reason: `storm ${i}` })));
    expect(new Set(answers.map((a) => a.run?.runId)).size).toBe(1);
    expect(answers.filter((a) => a.action === 'start')).toHaveLength(1);
    expect(answers.filter((a) => a.action === 'coalesce')).toHaveLength(9);
    expect(await runs('storm')).toHaveLength(1);
  });

  it('a trigger during the cool-down is deferred to its end and then starts a run, not dropped', async () => {
    await client.applyPipeline({ specYaml: spec('cooling', '  - { kind: volume, minRows: 10 }', 'hygiene: { cooldownMinutes: 30 }') });
    const data = () => publish(EVENTS.dataIngested, { pipeline: 'cooling', batchId: `b-${Math.random()}`, rowsTotal: 20n, rowsAccepted: 20n });
    await data();
    const first = await waitFor(async () => (await runs('cooling'))[0], { what: 'the first run' });
    await failRun('cooling', first.runId);
    nowMs = Date.now();
    await data();
    const deferred = await waitFor(async () => (await client.explainTriggers({ pipeline: 'cooling', limit: 10 })).decisions.find((d) => d.action === 'defer'), { what: 'a deferred decision' });
    expect(deferred.reason).toMatch(/cool-down: the last run ended \d+\.\d min ago, 30 min must pass; deferred: a run starts at /);
    // Another trigger during the cool-down joins the deferred run.
    await data();
    await waitFor(async () => (await client.explainTriggers({ pipeline: 'cooling', limit: 10 })).decisions.some((d) => d.reason.includes('this trigger joins it')), { what: 'the second trigger to join' });
    expect(await runs('cooling')).toHaveLength(1);
    // When the cool-down is over (on the service's clock), the deferred run starts: one run.
    nowMs = Date.now() + 31 * 60_000;
    const second = await waitFor(async () => (await runs('cooling')).find((r) => r.runId !== first.runId), { what: 'the deferred run' });
    expect(second).toMatchObject({ triggerKind: 'deferred', decisionId: deferred.id });
    expect(second.reason).toBe(`deferred by the cool-down (decision ${deferred.id})`);
    expect(await runs('cooling')).toHaveLength(2);
  });

  it('new data during a rollout queues the next run instead of joining the run in rollout', async () => {
    await client.applyPipeline({ specYaml: spec('rolling', '  - { kind: manual }') });
    const { run } = await client.triggerRun({ pipeline: 'rolling', reason: 'first' });
    const runId = run?.runId ?? '';
    // The candidate passed its gates; its rollout is under way (registered, not yet serving).
    await publish(EVENTS.modelRegistered, { context: { runId, pipeline: 'rolling', specJson: JSON.stringify({ rollout: { strategy: 'canary' } }) }, version: 'v1', promoted: true }, runId);
    await waitFor(async () => (await client.getRun({ runId })).run?.stages.some((s) => s.stage === 'registry'), { what: 'the registry stage' });
    const during = await client.triggerRun({ pipeline: 'rolling', reason: 'new data' });
    expect(during).toMatchObject({ action: 'queue' });
    expect(during.message).toContain(`run ${runId} is in its rollout; one run is queued to start when the rollout ends`);
    // The rollout ends (rolled back): the queued run starts at once.
    await failRun('rolling', runId);
    const next = await waitFor(async () => (await runs('rolling')).find((r) => r.runId !== runId), { what: 'the queued run' });
    expect(next.triggerKind).toBe('queued');
  });

  it('the daily budget holds, manual runs included', async () => {
    await client.applyPipeline({ specYaml: spec('budget', '  - { kind: manual }', 'hygiene: { maxRunsPerDay: 2 }') });
    for (let i = 0; i < 2; i++) {
      const a = await client.triggerRun({ pipeline: 'budget', reason: `run ${i}` });
      expect(a.action).toBe('start');
      await failRun('budget', a.run?.runId ?? '');
    }
    const third = await client.triggerRun({ pipeline: 'budget', reason: 'one too many' });
    expect(third).toMatchObject({ action: 'suppress', message: 'manual request: one too many (requested by anonymous (authentication off)); budget: 2 runs in the last 24 h, at most 2' });
    expect(third.run).toBeUndefined();
    expect(await runs('budget')).toHaveLength(2);
  });

  it('a schedule under an injected clock fires on time, never twice across a restart, and catches up once', async () => {
    // The scheduler ticks meanwhile: an earlier test's clock must not see the first slot as due.
    nowMs = Date.now();
    const { pipeline } = await client.applyPipeline({ specYaml: spec('nightly', '  - { kind: schedule, cron: "*/5 * * * *", timezone: UTC, catchUp: latest }') });
    const applied = timestampDate(pipeline!.updatedAt!);
    const policy = { kind: 'schedule' as const, cron: '*/5 * * * *', timezone: 'UTC', catchUp: 'latest' as const };
    const slot = nextSlot(policy, applied);
    nowMs = slot.getTime() - 10_000;
    await new Promise((r) => setTimeout(r, 300));
    expect(await runs('nightly')).toHaveLength(0);

    nowMs = slot.getTime() + 1_000;
    await waitFor(async () => (await runs('nightly')).length === 1, { timeoutMs: 10_000 });
    const first = (await runs('nightly'))[0];
    expect(first.triggerKind).toBe('schedule');
    // The run has no caller: its trace begins at the scheduler's decision, which the run.requested event continues.
    const started = await waitFor(async () => (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.run.requested` })).find((e) => e.headers['Refit-Run-Id'] === first.runId), { what: 'the run.requested of the scheduled run' });
    const traceId = started.headers.traceparent?.split('-')[1];
    const decision = spans.getFinishedSpans().find((s) => s.name === 'trigger.decide schedule' && s.attributes['refit.pipeline'] === 'nightly');
    expect(decision?.spanContext().traceId).toBe(traceId);
    expect(decision?.parentSpanContext).toBeUndefined();

    // Restart: the decided slot does not fire again.
    await rt.close();
    await start();
    await new Promise((r) => setTimeout(r, 400));
    expect(await runs('nightly')).toHaveLength(1);

    // Down across two slots: catch-up 'latest' skips the older one and fires the newest once.
    await failRun('nightly', first.runId);
    await rt.close();
    nowMs = slot.getTime() + 12 * 60_000;
    await start();
    await waitFor(async () => (await runs('nightly')).length === 2, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await runs('nightly')).toHaveLength(2);
    const decisions = (await client.explainTriggers({ pipeline: 'nightly', limit: 10 })).decisions.reverse();
    expect(decisions.map((d) => [JSON.parse(d.measuredJson).slot, d.fired])).toEqual([
      [slot.toISOString(), true],
      [new Date(slot.getTime() + 5 * 60_000).toISOString(), false],
      [new Date(slot.getTime() + 10 * 60_000).toISOString(), true],
    ]);
    decisions.forEach(expectTypedDecision);
    expect(decisions.map((d) => d.measured?.slot)).toEqual(decisions.map((d) => JSON.parse(d.measuredJson).slot));
    nowMs = Date.now();
  });

  it('external systems drive a run over NATS; unknown sources and malformed events are rejected without harm', async () => {
    await client.applyPipeline({ specYaml: spec('ext', '  - { kind: external, sources: [warehouse] }') });
    const subject = `${env.subjectPrefix}.external.retrain`;
    const send = (body: string) => rt.nc.publish(subject, new TextEncoder().encode(body));
    send('{ this is not json');
    send(JSON.stringify({ pipeline: 'ext', source: 'mallory', reason: 'let me in' }));
    send(JSON.stringify({ pipeline: 'nope', source: 'warehouse' }));
    // A 100 KB reason is refused (it was stored whole in the decision and the run).
    send(JSON.stringify({ pipeline: 'ext', source: 'warehouse', reason: 'z'.repeat(100_000) }));
    send(JSON.stringify({ pipeline: 'ext', source: 'warehouse', reason: 'nightly load finished' }));
    await waitFor(async () => (await runs('ext')).length === 1, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const r = await runs('ext');
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ triggerKind: 'external', reason: 'warehouse: nightly load finished' });
    // The consumer is still alive after the bad events.
    await failRun('ext', r[0].runId);
    send(JSON.stringify({ pipeline: 'ext', source: 'warehouse', reason: 'again' }));
    await waitFor(async () => (await runs('ext')).length === 2, { timeoutMs: 10_000 });
  });

  it('a flood of external events that change nothing is stored as one decision with a count, not a row per event', async () => {
    await client.applyPipeline({ specYaml: spec('flood', '  - { kind: external, sources: [warehouse] }') });
    const subject = `${env.subjectPrefix}.external.retrain`;
    const N = 300;
    for (let i = 0; i < N; i++) rt.nc.publish(subject, new TextEncoder().encode(JSON.stringify({ pipeline: 'flood', source: 'warehouse', reason: `load ${i}` })));
    const decided = async () => (await rt.pool.query<{ rows: number; evaluations: number }>("select count(*)::int as rows, coalesce(sum(1 + repeats), 0)::int as evaluations from decisions where pipeline = 'flood'")).rows[0];
    await waitFor(async () => (await decided()).evaluations === N, { timeoutMs: 60_000, what: `${N} external events decided` });
    // One run starts; every other request is taken with it or joins it (whenBusy: coalesce), and is
    // counted, not stored: a decision per batch at most, never one per event.
    expect(await runs('flood')).toHaveLength(1);
    const rows = (await rt.pool.query<{ action: string; repeats: number }>("select action, repeats from decisions where pipeline = 'flood' order by created_at, id")).rows;
    expect(rows.length).toBeLessThanOrEqual(2);
    expect(rows.map((r) => r.action)).toEqual(['start', 'coalesce'].slice(0, rows.length));
    const explained = await client.explainTriggers({ pipeline: 'flood', limit: 10 });
    expect(explained.decisions.reduce((n, d) => n + 1 + d.repeats, 0)).toBe(N);
    expect(explained.decisions.at(-1)?.reason).toMatch(/^warehouse asked for a retrain: load 0( \(and \d+ more requests? taken with it\))?; a new run starts$/);
    explained.decisions.forEach(expectTypedDecision);
    expect(explained.decisions.at(-1)?.measured).toMatchObject({ source: 'warehouse', sources: ['warehouse'] });
    expect(explained.decisions.at(-1)?.thresholds?.sources).toEqual(['warehouse']);
  });

  it('live performance against the evaluation (reference: evaluation) fires a retrain after the debounce', async () => {
    await client.applyPipeline({ specYaml: spec('perf', '  - { kind: manual }\n  - { kind: performance, metric: accuracy, maxDrop: 0.05, minLabeled: 50, reference: evaluation }', 'hygiene: { debounce: 2 }') });
    const { run } = await client.triggerRun({ pipeline: 'perf', reason: 'first model' });
    const runId = run?.runId ?? '';
    const context = { runId, pipeline: 'perf' };
    await publish(EVENTS.modelEvaluated, { context, verdict: Verdict.PASS, candidateMetrics: { accuracy: 0.8 } }, runId);
    await publish(EVENTS.modelRegistered, { context, version: 'v1', promoted: true }, runId);
    await publish(EVENTS.modelServing, { pipeline: 'perf', version: 'v1', runId }, runId);
    await waitFor(async () => (await runs('perf'))[0]?.outcome === 'promoted', { timeoutMs: 10_000 }).catch(async (e: unknown) => { console.log(JSON.stringify((await runs('perf')).map((r) => [r.status, r.outcome, r.stages.map((s) => s.stage)]))); throw e; });
    const window = (i: number, labeled: bigint, accuracy: number) =>
      publish(EVENTS.monitoringWindow, { pipeline: 'perf', version: 'v1', variant: 'champion', labeled, metrics: { accuracy }, windowEnd: timestampFromMs(Date.UTC(2026, 10, 26, 12, i)) });
    await window(1, 20n, 0.5);
    await window(2, 200n, 0.6);
    await window(3, 200n, 0.6);
    await waitFor(async () => (await runs('perf')).length === 2, { timeoutMs: 10_000 });
    const decisions = (await client.explainTriggers({ pipeline: 'perf', limit: 10 })).decisions.filter((d) => d.policy === 'performance').reverse();
    expect(decisions.map((d) => [d.fired, d.action])).toEqual([
      [false, 'none'],
      [true, 'suppress'],
      [true, 'start'],
    ]);
    expect(decisions[0].reason).toBe('v1: 20 of 50 labeled predictions before the first test against 0.8000 at evaluation');
    expect(decisions[1].reason).toMatch(/^v1: live accuracy 0\.5909 on 220 labeled predictions vs 0\.8000 at evaluation: worse by 0\.2091 .*; always-valid p .* ≤ 0\.05 — performance dropped by more than 0\.05; debounce: the condition held 1 of 2/);
    expect((await runs('perf'))[0]).toMatchObject({ triggerKind: 'performance' });
    // Typed evidence on every decision, the manual one (no evidence) included.
    (await client.explainTriggers({ pipeline: 'perf', limit: 10 })).decisions.forEach(expectTypedDecision);
    expect(decisions[0].thresholds).toMatchObject({ reference: 'evaluation', minLabeled: 50n });
  });

  it('continuous retraining starts a run for each new batch (joining one in flight)', async () => {
    await client.applyPipeline({ specYaml: spec('cont', '  - { kind: continuous }') });
    await publish(EVENTS.dataIngested, { pipeline: 'cont', batchId: 'b-1', rowsTotal: 30n, rowsAccepted: 30n });
    await waitFor(async () => (await runs('cont')).length === 1, { timeoutMs: 10_000 });
    const first = (await runs('cont'))[0];
    expect(first).toMatchObject({ triggerKind: 'continuous' });
    await publish(EVENTS.dataIngested, { pipeline: 'cont', batchId: 'b-2', rowsTotal: 30n, rowsAccepted: 30n });
    await waitFor(async () => (await client.explainTriggers({ pipeline: 'cont', limit: 5 })).decisions.length === 2, { timeoutMs: 10_000 });
    const cont = (await client.explainTriggers({ pipeline: 'cont', limit: 5 })).decisions;
    expect(cont[0]).toMatchObject({ action: 'coalesce', runId: first.runId });
    cont.forEach(expectTypedDecision);
    expect(cont.map((d) => d.measured?.rows)).toEqual([30n, 30n]);
    await failRun('cont', first.runId);
    await publish(EVENTS.dataIngested, { pipeline: 'cont', batchId: 'b-3', rowsTotal: 30n, rowsAccepted: 30n });
    await waitFor(async () => (await runs('cont')).length === 2, { timeoutMs: 10_000 });
  });

  it('live drift reports fire the drift policy for drifted quarters and New York, not for a full year or a 20-row window', async () => {
    await client.applyPipeline({ specYaml: spec('drift', '  - { kind: drift, maxShare: 0.5, features: { wind: { psi: 0.5 } }, minSamples: 50 }') });
    const windows: Array<[string, DataRow[]]> = [
      ['2013 Q1', weatherRows('Seattle', '2013-01-01', '2013-04-01')],
      ['2013', weatherRows('Seattle', '2013-01-01', '2014-01-01')],
      ['20 days', weatherRows('Seattle', '2013-07-01', '2013-07-21')],
      ['2013 Q3', weatherRows('Seattle', '2013-07-01', '2013-10-01')],
      ['New York 2013', weatherRows('New York', '2013-01-01', '2014-01-01')],
    ];
    const decisions = async () => (await client.explainTriggers({ pipeline: 'drift', limit: 20 })).decisions.filter((d) => d.policy === 'drift').reverse();
    for (const [i, [, rows]] of windows.entries()) {
      await publish(EVENTS.driftReport, liveReport(rows, Date.UTC(2026, 0, 1 + i)));
      await waitFor(async () => (await decisions()).length === i + 1, { timeoutMs: 10_000 });
    }
    // The same window reported again is decided once.
    await publish(EVENTS.driftReport, liveReport(windows[0][1], Date.UTC(2026, 0, 1)));
    // A run's own training-data drift (no source) is not a trigger.
    await publish(EVENTS.driftReport, { pipeline: 'drift', runId: 'r-x', referenceRunId: 'r-2012', status: 'drift', share: 1 }, 'r-x');
    await publish(EVENTS.dataIngested, { pipeline: 'drift', batchId: 'b-after', rowsTotal: 1n, rowsAccepted: 1n });
    await new Promise((r) => setTimeout(r, 300));
    const d = await decisions();
    expect(d.map((x) => [x.fired, x.action])).toEqual([
      [true, 'start'],
      [false, 'none'],
      [false, 'none'],
      [true, 'coalesce'],
      [true, 'coalesce'],
    ]);
    expect(d[0].reason).toMatch(/^v1: window ending 2026-01-01T00:00:00.000Z vs the training data of r-2012: 2\/3 features drifted on 90 rows \(share 0.67, limit 0.5\); wind PSI 0.129 <= 0.5 — data drifted; a new run starts$/);
    expect(d[1].reason).toContain('0/3 features drifted on 365 rows');
    expect(d[2].reason).toContain('only 20 rows (at least 50 needed) — not enough data');
    expect(d[4].reason).toContain('wind PSI 1.272 > 0.5');
    expect(JSON.parse(d[4].measuredJson)).toMatchObject({ rows: 365, columns: { temp_min: { status: 'drift', currentSize: 365, referenceSize: 366 } } });
    expect(JSON.parse(d[4].thresholdsJson)).toEqual({ maxShare: 0.5, psi: { wind: 0.5 }, minSamples: 50 });
    d.forEach(expectTypedDecision);
    expect(d[4].measured?.columns.temp_min).toMatchObject({ status: 'drift', currentSize: 365n, referenceSize: 366n });
    expect(d[4].thresholds).toMatchObject({ maxShare: 0.5, psi: { wind: 0.5 }, minSamples: 50n });
    const r = await runs('drift');
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ triggerKind: 'drift', decisionId: d[0].id });
    const explained = await client.explainTriggers({ pipeline: 'drift', limit: 1 });
    expect(explained.summary).toContain("drift: fires when a live feature window drifts from the served model's training data: a drifted-feature share >= 0.5 or wind PSI > 0.5 (windows of at least 50 rows)");
  });

  it('a business metric reported by an allowed monitoring system fires its policy; others are rejected', async () => {
    await client.applyPipeline({ specYaml: spec('biz', '  - { kind: business, metric: conversion, sources: [bi], below: 0.02 }') });
    const send = (body: object) => rt.nc.publish(`${env.subjectPrefix}.external.metric`, new TextEncoder().encode(JSON.stringify(body)));
    send({ pipeline: 'biz', source: 'bi', name: 'conversion', value: 0.05 });
    send({ pipeline: 'biz', source: 'mallory', name: 'conversion', value: 0.001 });
    send({ pipeline: 'biz', source: 'bi', name: 'clicks', value: 1 });
    send({ pipeline: 'biz', source: 'bi', name: 'conversion', value: 0.01, version: 'v1' });
    await waitFor(async () => (await runs('biz')).length === 1, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect((await runs('biz'))[0]).toMatchObject({ triggerKind: 'business' });
    const decisions = (await client.explainTriggers({ pipeline: 'biz', limit: 10 })).decisions.reverse();
    expect(decisions.map((d) => [d.fired, d.action])).toEqual([
      [false, 'none'],
      [true, 'start'],
    ]);
    expect(decisions[1].reason).toBe('bi reported conversion = 0.01 for v1; fires below 0.02 — out of bounds; a new run starts');
    decisions.forEach(expectTypedDecision);
    expect(decisions[1].measured).toMatchObject({ metric: 'conversion', value: 0.01, source: 'bi', version: 'v1' });
  });

  it('the spec that carries these policies is valid', () => {
    expect(parseSpec(spec('x', '  - { kind: age, maxAgeHours: 1 }')).triggers).toEqual([{ kind: 'age', maxAgeHours: 1 }]);
  });
});
