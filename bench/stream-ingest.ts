// Benchmark of a stream source (data.source.stream): rows published on a JetStream subject,
// validated against the schema and persisted in segments (S3 objects + Postgres) by the ingestion
// service running as its own process. Run from the repo root:
//   node --conditions=@refit/source --import tsx bench/stream-ingest.ts     (BENCH_STREAM_ROWS=200000)
// Prints its numbers and writes bench/results/stream-ingest.json:
// - backlog: N rows published while the service is stopped, then drained: accepted rows/s from the
//   first segment opened to the last segment committed (validation and persistence only);
// - live: N rows published while it runs: accepted rows/s from the first publish to the last commit
//   (bounded by how fast one client publishes, too).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { connectNats, EVENTS } from '@refit/platform';
import { createTestEnv, publishEvent, startServiceProcess, waitFor, type ServiceProcess } from '@refit/testing';
import { parseSpec } from '../libs/spec/src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROWS = Number(process.env.BENCH_STREAM_ROWS ?? 200_000);
/** Publishes in flight at once (pipelined, each acknowledged by the stream). */
const IN_FLIGHT = 2000;

const SPEC = (name: string, subject: string) => `
apiVersion: refit/v1
kind: Pipeline
name: ${name}
schema:
  columns:
    - { name: amount, type: number, min: 0 }
    - { name: temp, type: number, min: -60, max: 60 }
    - { name: score, type: number }
    - { name: visits, type: integer, min: 0 }
    - { name: churned, type: boolean }
label: { column: churned }
features:
  - { name: amount, type: number }
  - { name: temp, type: number }
data:
  source: { stream: { subject: ${subject} } }
triggers:
  - kind: manual
`;

/** Row i: 4 numeric columns, ~90 bytes of JSON. */
const row = (p: string, i: number): Buffer =>
  Buffer.from(JSON.stringify({ id: `${p}${i}`, amount: ((i * 7919) % 100000) / 100, temp: Number((((i * 31) % 700) / 10 - 20).toFixed(1)), score: Number(Math.sin(i).toFixed(4)), visits: i % 50 }));

const env = await createTestEnv({ name: 'bench-stream' });
const nc = await connectNats({ url: env.natsUrl, name: 'bench-stream' });
const db = new pg.Client({ connectionString: env.pgUrl });
await db.connect();
const schema = env.schema('ingestion');
let svc: ServiceProcess | undefined;
const pipelines: string[] = [];

/**
 * CPU seconds (user + system) the ingestion process this program started has used so far: rows per
 * CPU second of the service is a figure the other work on a shared machine does not skew.
 */
function serviceCpuSeconds(): number {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('services/ingestion/src/main.ts')) continue;
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return NaN;
}

async function publishRows(subject: string, prefix: string): Promise<number> {
  const js = nc.jetstream();
  const started = performance.now();
  for (let i = 0; i < ROWS; i += IN_FLIGHT) {
    const acks: Array<Promise<unknown>> = [];
    for (let k = i; k < Math.min(ROWS, i + IN_FLIGHT); k++) acks.push(js.publish(subject, row(prefix, k)));
    await Promise.all(acks);
  }
  return ROWS / ((performance.now() - started) / 1000);
}

async function source(pipeline: string) {
  const r = await db.query<{ rows_accepted: string; segments: string }>(`select rows_accepted, segments from ${schema}.stream_sources where pipeline = $1`, [pipeline]);
  return r.rows[0];
}

async function apply(pipeline: string, subject: string): Promise<void> {
  pipelines.push(pipeline);
  const spec = parseSpec(SPEC(pipeline, subject));
  await publishEvent(nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.pipelineApplied, source: 'trigger', message: { pipeline, version: 1, specJson: JSON.stringify(spec) } });
  await waitFor(async () => (await source(pipeline)) !== undefined, { timeoutMs: 30_000, what: `the stream source of ${pipeline}` });
}

async function drained(pipeline: string): Promise<{ segments: number; firstOpened: Date; lastClosed: Date }> {
  await waitFor(async () => Number((await source(pipeline))?.rows_accepted ?? 0) >= ROWS, { timeoutMs: 600_000, intervalMs: 200, what: `${ROWS} rows of ${pipeline} persisted` });
  const r = await db.query<{ n: string; first: Date; last: Date }>(`select count(*) as n, min(opened_at) as first, max(closed_at) as last from ${schema}.stream_segments where pipeline = $1`, [pipeline]);
  return { segments: Number(r.rows[0].n), firstOpened: r.rows[0].first, lastClosed: r.rows[0].last };
}

const start = () => startServiceProcess('ingestion', env.env, { REFIT_STREAM_SCAN_MS: '200', REFIT_LOG_LEVEL: 'warn', REFIT_STREAM_FETCH_BATCH: process.env.BENCH_STREAM_FETCH_BATCH ?? '2000' });
try {
  // Backlog: published while the service is down, then drained.
  svc = await start();
  await apply('bench-backlog', `bench_${env.id}.backlog`);
  await svc.stop();
  const backlogPublish = await publishRows(`bench_${env.id}.backlog`, 'b');
  svc = await start();
  const cpuBefore = serviceCpuSeconds();
  const loadBefore = loadavg()[0];
  const b = await drained('bench-backlog');
  const cpuSeconds = serviceCpuSeconds() - cpuBefore;
  const backlogSeconds = (b.lastClosed.getTime() - b.firstOpened.getTime()) / 1000;
  const backlog = {
    rows: ROWS,
    segments: b.segments,
    seconds: backlogSeconds,
    rowsPerSec: Math.round(ROWS / backlogSeconds),
    serviceCpuSeconds: cpuSeconds,
    rowsPerServiceCpuSec: Math.round(ROWS / cpuSeconds),
    loadAvg1mBefore: loadBefore,
    publishRowsPerSec: Math.round(backlogPublish),
  };
  console.log(`backlog: ${ROWS} rows in ${b.segments} segments, ${backlogSeconds.toFixed(2)} s → ${backlog.rowsPerSec} rows/s accepted and persisted (${backlog.rowsPerServiceCpuSec} rows per CPU second of the service; load ${loadBefore.toFixed(1)} on ${cpus().length} cores)`);

  // Live: published while the service reads.
  await apply('bench-live', `bench_${env.id}.live`);
  const t0 = new Date();
  const livePublish = await publishRows(`bench_${env.id}.live`, 'l');
  const l = await drained('bench-live');
  const liveSeconds = (l.lastClosed.getTime() - t0.getTime()) / 1000;
  const live = { rows: ROWS, segments: l.segments, seconds: liveSeconds, rowsPerSec: Math.round(ROWS / liveSeconds), publishRowsPerSec: Math.round(livePublish) };
  console.log(`live: ${ROWS} rows in ${l.segments} segments, ${liveSeconds.toFixed(2)} s from first publish to last commit → ${live.rowsPerSec} rows/s (publisher alone: ${live.publishRowsPerSec} rows/s)`);

  mkdirSync(join(here, 'results'), { recursive: true });
  const out = { measuredAt: new Date().toISOString(), cpus: cpus().length, loadAvg1m: loadavg()[0], targetRowsPerSec: 20_000, segment: { maxRows: 10_000, maxSeconds: 1 }, backlog, live };
  writeFileSync(join(here, 'results', 'stream-ingest.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`written to bench/results/stream-ingest.json`);
} finally {
  await svc?.stop();
  const jsm = await nc.jetstreamManager();
  for (const p of pipelines) await jsm.streams.delete(`${env.streamName}_STREAM_${p.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`).catch(() => undefined);
  await nc.close();
  await db.end();
  await env.cleanup();
}
