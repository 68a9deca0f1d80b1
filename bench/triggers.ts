// bench/triggers: how fast the trigger service decides. With 1,000 pipelines registered, measures
// (1) the time from a data.ingested event reaching NATS to the decision being recorded,
// (2) how many clock-driven policies (schedule + maximum age) the scheduler evaluates per second, and
// (3) how many external.retrain events per second the external consumer takes and decides in a
// flood on one pipeline (BENCH_FLOOD, 10,000), and how many decision rows the flood leaves.
// Runs the trigger service in-process against the real Postgres and NATS, in its own namespace.
// Run: node --conditions=@refit/source --import tsx bench/triggers.ts
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { TriggerService } from '@refit/contracts';
import { createClient, EVENTS, withTransaction } from '@refit/platform';
import { createTestEnv, serviceEnv, startTestRuntime } from '@refit/testing';
import { REPO_ROOT } from '@refit/stack';
import { loadConfig } from '../services/trigger/src/config.js';
import { evaluateClockPolicies } from '../services/trigger/src/scheduler.js';
import { startTriggerService } from '../services/trigger/src/service.js';
import { listPipelines } from '../services/trigger/src/store.js';

const PIPELINES = Number(process.env.BENCH_PIPELINES ?? 1000);
const EVENTS_TO_SEND = Number(process.env.BENCH_EVENTS ?? 500);
const RATE = Number(process.env.BENCH_RATE ?? 200); // events per second
const FLOOD = Number(process.env.BENCH_FLOOD ?? 10_000);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const base = readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8');
const spec = (i: number) =>
  base
    .replace('name: weather-rain', `name: bench-${i}`)
    .replace(/triggers:\n(\s+- .*\n?)+/, 'triggers:\n  - { kind: volume, minRows: 1000000 }\n  - { kind: schedule, cron: "0 3 * * *", timezone: Europe/Paris }\n  - { kind: age, maxAgeHours: 168 }\n');

const env = await createTestEnv({ name: 'bench-triggers' });
try {
  // A long tick: the bench drives clock-driven evaluation itself.
  const config = loadConfig(serviceEnv(env.env, { REFIT_TRIGGER_TICK_MS: '3600000' }));
  const rt = await startTestRuntime(config, join(REPO_ROOT, 'services/trigger/src/migrations'));
  await startTriggerService(rt, config);
  const client = createClient(TriggerService, rt.server?.address ?? '');
  const t0 = performance.now();
  for (let i = 0; i < PIPELINES; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, PIPELINES - i) }, (_, k) => client.applyPipeline({ specYaml: spec(i + k) })));
  }
  console.log(`registered ${PIPELINES} pipelines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // The stage-events consumer first works through the 1,000 pipeline.applied events: wait for it.
  const jsm = await rt.nc.jetstreamManager();
  for (;;) {
    const info = await jsm.consumers.info(env.streamName, 'trigger-stage-events');
    if (info.num_pending === 0 && info.num_ack_pending === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  // (1) event → decision latency, paced.
  const sentAt = new Map<string, number>();
  for (let i = 0; i < EVENTS_TO_SEND; i++) {
    const pipeline = `bench-${i % PIPELINES}`;
    const batchId = `b-${i}`;
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.dataIngested, { pipeline, batchId, rowsTotal: 10n, rowsAccepted: 10n }));
    sentAt.set(`${pipeline}#${i}`, Date.now());
    rt.relay.kick();
    await new Promise((r) => setTimeout(r, 1000 / RATE));
  }
  for (;;) {
    const { rows } = await rt.pool.query<{ n: string }>("select count(*) as n from decisions where policy = 'volume'");
    if (Number(rows[0].n) >= EVENTS_TO_SEND) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const { rows } = await rt.pool.query<{ pipeline: string; created_at: Date }>("select pipeline, created_at from decisions where policy = 'volume' order by created_at, id");
  const perPipeline = new Map<string, number>();
  const latencies = rows.map((r) => {
    const k = perPipeline.get(r.pipeline) ?? 0;
    perPipeline.set(r.pipeline, k + 1);
    const i = Number(r.pipeline.slice('bench-'.length)) + k * PIPELINES;
    return r.created_at.getTime() - (sentAt.get(`${r.pipeline}#${i}`) ?? Number.NaN);
  });
  // The send stamp is taken right after the outbox commit, so the relay's publish is included.
  const [p50, p90, p99] = [pct(latencies, 50), pct(latencies, 90), pct(latencies, 99)];
  console.log(`event → decision recorded: p50 ${p50} ms, p90 ${p90} ms, p99 ${p99} ms, max ${Math.max(...latencies)} ms over ${latencies.length} events at ${RATE}/s (target p99 < 50 ms); load average ${loadavg()[0].toFixed(1)}`);

  // (2) clock-driven policy evaluations per second over every pipeline (nothing due).
  const pipelines = await listPipelines(rt.pool);
  const t1 = performance.now();
  const now = new Date();
  for (const p of pipelines) await evaluateClockPolicies(rt, p, now);
  const seconds = (performance.now() - t1) / 1000;
  const evaluated = pipelines.length * 2;
  console.log(`scheduler pass: ${evaluated} clock policies of ${pipelines.length} pipelines in ${seconds.toFixed(2)} s = ${Math.round(evaluated / seconds)} policies/s`);

  // (3) an external.retrain flood on one pipeline, published as fast as NATS takes it.
  await client.applyPipeline({ specYaml: base.replace('name: weather-rain', 'name: flood').replace(/triggers:\n(\s+- .*\n?)+/, 'triggers:\n  - { kind: external, sources: [warehouse] }\n') });
  const js = rt.nc.jetstream();
  const tf = performance.now();
  const body = (i: number) => new TextEncoder().encode(JSON.stringify({ pipeline: 'flood', source: 'warehouse', reason: `load ${i}` }));
  for (let i = 0; i < FLOOD; i += 500) await Promise.all(Array.from({ length: Math.min(500, FLOOD - i) }, (_, k) => js.publish(`${env.subjectPrefix}.external.retrain`, body(i + k))));
  const published = (performance.now() - tf) / 1000;
  let decidedRows = 0;
  for (;;) {
    const { rows: d } = await rt.pool.query<{ rows: number; evaluations: number }>("select count(*)::int as rows, coalesce(sum(1 + repeats), 0)::int as evaluations from decisions where pipeline = 'flood'");
    decidedRows = d[0].rows;
    if (d[0].evaluations >= FLOOD) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const floodSeconds = (performance.now() - tf) / 1000;
  const externalPerSecond = Math.round(FLOOD / floodSeconds);
  const floodRuns = Number((await rt.pool.query<{ n: string }>("select count(*) as n from runs where pipeline = 'flood'")).rows[0].n);
  console.log(`external.retrain flood: ${FLOOD} events (published in ${published.toFixed(1)} s) all decided in ${floodSeconds.toFixed(1)} s = ${externalPerSecond} events/s (target >= 1000); ${decidedRows} decision rows, ${floodRuns} run(s)`);

  const result = {
    bench: 'triggers',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    pipelines: PIPELINES,
    events: EVENTS_TO_SEND,
    rate: RATE,
    eventToDecisionMs: { p50, p90, p99, max: Math.max(...latencies) },
    loadAverage: loadavg()[0],
    schedulerPoliciesPerSecond: Math.round(evaluated / seconds),
    externalFlood: { events: FLOOD, seconds: floodSeconds, eventsPerSecond: externalPerSecond, decisionRows: decidedRows, runs: floodRuns },
    targets: { eventToDecisionP99Ms: 50, externalEventsPerSecond: 1000 },
  };
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/triggers.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('saved bench/results/triggers.json');
  client.close();
  await rt.close();
} finally {
  await env.cleanup();
}
