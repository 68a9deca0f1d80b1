import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampDate, timestampFromMs } from '@bufbuild/protobuf/wkt';
import { alertDetailsFromJson, TriggerService, Verdict } from '@refit/contracts';
import { createClient, EVENTS, withTransaction, type EventDef, type ServiceRuntime } from '@refit/platform';
import { ALERT_KINDS } from '@refit/spec';
import { createTestEnv, freePort, readEvents, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptsOf } from './alert-store.js';
import { loadConfig } from './config.js';
import { startTriggerService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const base = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');
const SECRET = 'whsec-test-7f3a';

/** One request the local receiver got. */
type Received = { path: string; alertId: string; kind: string; body: string; signed: boolean; at: number };

/** Verifies `Refit-Signature` exactly as the README tells a receiver to (no Refit code involved). */
function receiverVerifies(header: string, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const expected = createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2], 'hex'));
}

/** A webhook receiver on a free port: `/ok` answers 200; `/flaky` answers 500 to an alert's first two attempts. */
async function startReceiver(): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const alertId = String(req.headers['refit-alert-id'] ?? '');
      const r = { path: req.url ?? '', alertId, kind: (JSON.parse(body) as { kind: string }).kind, body, signed: receiverVerifies(String(req.headers['refit-signature'] ?? ''), body), at: Date.now() };
      got.push(r);
      const tries = got.filter((g) => g.path === r.path && g.alertId === alertId).length;
      res.statusCode = r.path === '/flaky' && tries <= 2 ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

describe('alerts on the real servers, delivered to a local webhook', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof TriggerService>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  const publish = async <S extends DescMessage>(event: EventDef<S>, message: MessageInitShape<S>, runId?: string) => {
    await withTransaction(rt.pool, (tx) => rt.publish(tx, event, message, { runId }));
    rt.relay.kick();
  };
  const runs = async () => (await client.listRuns({ pipeline: 'alerting', limit: 100 })).runs;
  const alerts = async () => (await client.listAlerts({ pipeline: 'alerting', limit: 100 })).alerts;
  const alertOf = async (kind: string) => waitFor(async () => (await alerts()).find((a) => a.kind === kind), { what: `a ${kind} alert` });

  beforeAll(async () => {
    env = await createTestEnv({ name: 'alerts' });
    receiver = await startReceiver();
    const dead = `http://127.0.0.1:${await freePort()}/`;
    // The receivers are on 127.0.0.1: the operator's allow-list lets webhooks reach them.
    const config = loadConfig(serviceEnv(env.env, { REFIT_TRIGGER_TICK_MS: '50', REFIT_ALERT_POLL_MS: '50', REFIT_WEBHOOK_TEST: SECRET, REFIT_ALERT_WEBHOOK_ALLOW: '127.0.0.1/32' }));
    rt = await startTestRuntime(config, migrations);
    await startTriggerService(rt, config);
    client = createClient(TriggerService, rt.server?.address ?? '');
    const spec = base.replace('name: weather-rain', 'name: alerting').replace(
      /triggers:\n(\s+- .*\n?)+/,
      `triggers:
  - { kind: manual }
  - { kind: performance, metric: accuracy, maxDrop: 0.05, minLabeled: 50, reference: evaluation }
  - { kind: drift, maxShare: 0.5, minSamples: 50 }
alerts:
  quarantineShare: 0.1
  webhooks:
    - { name: ok, url: '${receiver.url}/ok', secretEnv: REFIT_WEBHOOK_TEST }
    - { name: flaky, url: '${receiver.url}/flaky', secretEnv: REFIT_WEBHOOK_TEST, kinds: [rollback] }
    - { name: dead, url: '${dead}', secretEnv: REFIT_WEBHOOK_TEST, kinds: [run-failed] }
    - { name: unset, url: '${receiver.url}/unset', secretEnv: REFIT_WEBHOOK_NOT_SET, kinds: [batch-quarantined] }
  retry: { maxAttempts: 4, backoffMs: 200, maxBackoffMs: 2000, timeoutMs: 1000 }
`,
    );
    await client.applyPipeline({ specYaml: spec });
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await new Promise((resolve) => receiver?.server.close(resolve));
    await env?.cleanup();
  });

  it('raises every kind once from the real source events, publishes it on alert.raised and delivers it signed', async () => {
    // A champion v1 (accuracy 0.8 at evaluation) for the performance policy to compare with.
    const r1 = (await client.triggerRun({ pipeline: 'alerting', reason: 'first model' })).run?.runId ?? '';
    await publish(EVENTS.modelEvaluated, { context: { runId: r1, pipeline: 'alerting' }, verdict: Verdict.PASS, candidateMetrics: { accuracy: 0.8 } }, r1);
    await publish(EVENTS.modelRegistered, { context: { runId: r1, pipeline: 'alerting' }, version: 'v1', promoted: true }, r1);
    await publish(EVENTS.modelServing, { pipeline: 'alerting', version: 'v1', runId: r1 }, r1);
    await waitFor(async () => (await runs())[0]?.outcome === 'promoted');

    // run-failed, twice for the same run (a redelivery from another stage): one alert.
    const r2 = (await client.triggerRun({ pipeline: 'alerting', reason: 'will fail' })).run?.runId ?? '';
    await publish(EVENTS.runFailed, { runId: r2, pipeline: 'alerting', stage: 'trainer', reason: 'loss became NaN' }, r2);
    await publish(EVENTS.runFailed, { runId: r2, pipeline: 'alerting', stage: 'evaluator', reason: 'no model' }, r2);
    await waitFor(async () => (await runs()).find((r) => r.runId === r2)?.failedStage === 'trainer');

    // performance-trigger: live accuracy 0.6 against 0.8 starts a run; its gates fail: promotion-blocked.
    await publish(EVENTS.monitoringWindow, { pipeline: 'alerting', version: 'v1', variant: 'champion', labeled: 200n, metrics: { accuracy: 0.6 }, windowEnd: timestampFromMs(Date.UTC(2026, 10, 26, 12)) });
    const perf = await alertOf('performance-trigger');
    expect(perf.runId).toMatch(/^r-/);
    await publish(EVENTS.modelEvaluated, { context: { runId: perf.runId, pipeline: 'alerting' }, verdict: Verdict.FAIL, reasons: ['auc 0.55 < floor 0.6'], candidateMetrics: { auc: 0.55 } }, perf.runId);
    await alertOf('promotion-blocked');
    await client.cancelRun({ runId: perf.runId, reason: 'test frees the pipeline' });

    // drift-trigger: every served feature drifted on a live window.
    const col = (column: string) => ({ column, test: 'psi', statistic: 0.6, psi: 0.6, status: 'drift', referenceSize: 500n, currentSize: 300n });
    await publish(EVENTS.driftReport, {
      source: 'live', pipeline: 'alerting', version: 'v1', windowEnd: timestampFromMs(Date.UTC(2026, 10, 26, 13)), referenceRunId: r1, status: 'drift', share: 1, columns: [col('temp_max'), col('wind')],
    });
    // rollback (a promotion does not alert), and batches: 20% quarantined alerts (above 10%), 3% does not.
    await publish(EVENTS.rolloutDecided, { pipeline: 'alerting', version: 'v2', runId: 'r-canary', outcome: 'rolled-back', step: 1, reason: 'accuracy 0.71 < 0.78 - 0.02 (p 0.003)', analysisJson: '{"p":0.003}' });
    await publish(EVENTS.rolloutDecided, { pipeline: 'alerting', version: 'v3', runId: 'r-good', outcome: 'promoted', step: 2, reason: 'fine' });
    await publish(EVENTS.dataRejected, { pipeline: 'alerting', batchId: 'b-20pct', rowsTotal: 100n, rowsQuarantined: 20n, problems: ['line 3: wind: expected a number'] });
    await publish(EVENTS.dataRejected, { pipeline: 'alerting', batchId: 'b-3pct', rowsTotal: 100n, rowsQuarantined: 3n, problems: ['line 9: wind: expected a number'] });

    await waitFor(() => new Set(receiver.got.filter((g) => g.path === '/ok').map((g) => g.kind)).size === ALERT_KINDS.length, { timeoutMs: 15_000, what: 'every kind at /ok' });
    // Redeliveries or late duplicates would arrive within a few polls.
    await new Promise((r) => setTimeout(r, 500));
    const ok = receiver.got.filter((g) => g.path === '/ok');
    expect(ok.map((g) => g.kind).sort()).toEqual([...ALERT_KINDS].sort());
    expect(ok.every((g) => g.signed)).toBe(true);
    const listed = await alerts();
    expect(listed.map((a) => a.kind).sort()).toEqual([...ALERT_KINDS].sort());
    expect(listed.find((a) => a.kind === 'batch-quarantined')?.summary).toContain('quarantined 20 of 100 rows (20.0% > 10.0%)');
    expect(new Set(ok.map((g) => g.alertId))).toEqual(new Set(listed.map((a) => a.alertId)));

    const raised = (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.alert.raised` })).map((e) => fromBinary(EVENTS.alertRaised.schema, e.data));
    expect(raised.map((e) => e.kind).sort()).toEqual([...ALERT_KINDS].sort());
    expect(raised.find((e) => e.kind === 'run-failed')).toMatchObject({ pipeline: 'alerting', runId: r2, summary: expect.stringContaining('failed at trainer: loss became NaN') });
    expect(JSON.parse(raised.find((e) => e.kind === 'rollback')?.detailsJson ?? '{}')).toMatchObject({ version: 'v2', step: 1, analysis: { p: 0.003 } });
    // Each event's typed facts are its JSON's, of its kind's message (the rollback's `{p}` is no analysis).
    for (const e of raised) {
      expect(e.details, e.kind).toEqual(alertDetailsFromJson(e.kind, JSON.parse(e.detailsJson)));
      expect(e.details?.kind.case, e.kind).toBe(({ 'run-failed': 'runFailed', 'batch-quarantined': 'batchQuarantined', 'promotion-blocked': 'promotionBlocked', rollback: 'rollback' } as Record<string, string>)[e.kind] ?? 'policyFired');
    }
    const rollback = raised.find((e) => e.kind === 'rollback')?.details?.kind;
    expect(rollback?.case === 'rollback' && rollback.value).toMatchObject({ version: 'v2', step: 1, reason: expect.stringContaining('p 0.003') });
    expect(rollback?.case === 'rollback' && rollback.value.analysis).toBeUndefined();
    expect(raised.find((e) => e.kind === 'batch-quarantined')?.details?.kind.value).toMatchObject({ batchId: 'b-20pct', rowsQuarantined: 20n, rowsTotal: 100n, share: 0.2 });
    expect(raised.find((e) => e.kind === 'drift-trigger')?.details?.kind.value).toMatchObject({ policy: 'drift', measured: { status: 'drift', share: 1, referenceRunId: r1 } });

    const latencies = ok.map((g) => g.at - Number(new Date((JSON.parse(g.body) as { occurredAt: string }).occurredAt)));
    console.log(`alert → webhook latency (ms, poll 50 ms): ${latencies.sort((a, b) => a - b).join(', ')}`);
  });

  it('retries a failing webhook with growing delays, records every attempt, and a dead one never holds the others up', async () => {
    // The rollback reached /flaky on its third attempt, after two HTTP 500s.
    const rollback = await alertOf('rollback');
    const flaky = await waitFor(async () => (await alerts()).find((a) => a.kind === 'rollback')?.deliveries.find((d) => d.webhook === 'flaky' && d.status === 'delivered'));
    expect(flaky).toMatchObject({ attempts: 3, lastHttpStatus: 200, lastError: '' });
    const calls = receiver.got.filter((g) => g.path === '/flaky' && g.alertId === rollback.alertId);
    expect(calls).toHaveLength(3);
    expect(calls.every((g) => g.signed)).toBe(true);

    // The dead webhook: four refused connections, waits of at least 100, 200, 400 ms, then failed.
    const failed = await alertOf('run-failed');
    const dead = await waitFor(async () => (await alerts()).find((a) => a.kind === 'run-failed')?.deliveries.find((d) => d.webhook === 'dead' && d.status === 'failed'), { timeoutMs: 15_000 });
    expect(dead).toMatchObject({ attempts: 4, maxAttempts: 4, lastHttpStatus: 0, lastError: 'ECONNREFUSED' });
    const { rows } = await rt.pool.query<{ id: string }>("select id from alert_deliveries where alert_id = $1 and webhook = 'dead'", [failed.alertId]);
    const tries = await attemptsOf(rt.pool, rows[0].id);
    const gaps = tries.slice(1).map((t, i) => t.started_at.getTime() - tries[i].started_at.getTime());
    console.log(`dead webhook: attempt gaps ${gaps.join(', ')} ms (backoff 200 ms doubling, jitter 0.5–1)`);
    expect(tries.map((t) => [t.attempt, t.http_status, t.error])).toEqual([1, 2, 3, 4].map((n) => [n, null, 'ECONNREFUSED']));
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(100 * 2 ** i));
    expect(gaps[2]).toBeGreaterThan(gaps[0]);
    // Meanwhile the same alert reached /ok at once, and the pipeline went on (later alerts, later runs).
    const delivered = (await alerts()).find((a) => a.kind === 'run-failed')?.deliveries.find((d) => d.webhook === 'ok');
    expect(delivered?.deliveredAt && timestampDate(delivered.deliveredAt).getTime()).toBeLessThan(tries[3].started_at.getTime());
    expect((await runs()).some((r) => r.triggerKind === 'drift')).toBe(true);
  });

  it('a batch rejected as a whole alerts too; a webhook whose secret is not set fails at once, and nothing is sent unsigned', async () => {
    await publish(EVENTS.dataRejected, { pipeline: 'alerting', batchId: 'b-rejected', rowsTotal: 40n, rowsQuarantined: 40n, problems: ["batch rejected: column 'wind' is missing"] });
    const batch = await waitFor(async () => (await alerts()).find((a) => a.kind === 'batch-quarantined' && a.summary.includes('b-rejected')));
    expect(batch.summary).toBe("batch b-rejected of alerting was rejected: batch rejected: column 'wind' is missing");
    await waitFor(() => receiver.got.some((g) => g.path === '/ok' && g.alertId === batch.alertId && g.signed));
    const unset = await waitFor(async () => (await alerts()).find((a) => a.alertId === batch.alertId)?.deliveries.find((d) => d.webhook === 'unset' && d.status === 'failed'));
    expect(unset.attempts).toBe(1);
    expect(unset.lastError).toContain('REFIT_WEBHOOK_NOT_SET is not set');
    expect(receiver.got.filter((g) => g.path === '/unset')).toEqual([]);
  });
});
