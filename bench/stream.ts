// bench/stream: a stream-fed pipeline end to end, all seven services as processes. Prints and
// saves (bench/results/stream.json):
// - ingest: rows/s taken in through validation and persistence in segments — a backlog of N rows
//   waiting on the subject when the pipeline is applied, drained by ingestion;
// - learn: labeled rows/s through the join and the online learner's updates (micro-batches of 64)
//   — N labels published for those rows, from the first label to the learner having learned all;
// - latency: the time from a label's arrival to a registered candidate that learned from it — New
//   York days (row, then its label) streamed to a learner that starts from a Seattle champion, ten
//   days at a time; when a replacement is registered, from the publish of that tick's labels to its
//   registration. Once per pipeline, on three pipelines.
// Run: node --conditions=@refit/source --import tsx bench/stream.ts (BENCH_STREAM_ROWS=100000)
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { connect, waitForRun } from '@refit/cli';
import * as cmd from '@refit/cli';
import { RunStatus } from '@refit/contracts';
import { connectNats, isNotFound } from '@refit/platform';
import { REPO_ROOT, resetNamespace, startStack, writeWeatherSlice } from '@refit/stack';
import { weatherRows } from '@refit/testing';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { spreadOf } from './spread.js';

const ROWS = Number(process.env.BENCH_STREAM_ROWS ?? 100_000);
const LATENCY_PIPELINES = Number(process.env.BENCH_STREAM_LATENCY_RUNS ?? 3);
const IN_FLIGHT = 2000;
const env = { REFIT_SCHEMA_PREFIX: 'refit_bstream_', REFIT_STREAM: 'REFIT_BSTREAM', REFIT_SUBJECT_PREFIX: 'refitbstream', REFIT_S3_BUCKET: 'refit-bstream', REFIT_LOG_LEVEL: 'warn' };
const pgUrl = process.env.REFIT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/refit';
const natsUrl = process.env.REFIT_NATS_URL ?? 'nats://127.0.0.1:4222';
const DAY = 86_400_000;

await resetNamespace({ pgUrl, schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl, stream: env.REFIT_STREAM });
const stack = await startStack({ env, workDir: join(REPO_ROOT, '.refit', 'bench-stream') });
const c = connect(stack.env);
const nc = await connectNats({ url: stack.env.REFIT_NATS_URL ?? natsUrl, name: 'bench-stream', user: stack.env.REFIT_NATS_USER, pass: stack.env.REFIT_NATS_PASSWORD });
const js = nc.jetstream();
const jsm = await nc.jetstreamManager();
const quiet = { json: true, progress: false, out: () => undefined, err: () => undefined };
const work = mkdtempSync(join(tmpdir(), 'refit-bench-stream-'));
const seattle2012 = join(work, 'seattle-2012.csv');
writeWeatherSlice(seattle2012, 'Seattle', 2012, 2012);
const base = parseYaml(readFileSync(join(REPO_ROOT, 'examples/weather-stream.yaml'), 'utf8')) as Record<string, unknown> & {
  data: { source: { stream: Record<string, unknown> } };
  triggers: Array<Record<string, unknown> & { online?: Record<string, unknown> }>;
};
const streams: string[] = [];

/** Applies a copy of the example under another name and subject, with these online options; a champion from Seattle 2012 first. */
async function pipelineWithChampion(name: string, online: Record<string, unknown>): Promise<string> {
  const subject = `benchstream.${name}.rows`;
  const spec = structuredClone(base);
  spec.name = name;
  spec.data.source.stream.subject = subject;
  spec.triggers = spec.triggers.map((t) => (t.kind === 'continuous' ? { ...t, online: { ...t.online, ...online } } : t));
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, stringifyYaml(spec));
  // The rows may wait on the subject before the pipeline is applied: a stream that captures both
  // subjects is what ingestion reads (it creates one only when none does).
  const stream = `BENCH_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
  // A stream left by an interrupted run would replay its old messages: start from an empty one.
  await jsm.streams.delete(stream).catch(() => undefined);
  await jsm.streams.add({ name: stream, subjects: [subject, `${subject}.labels`], max_msgs: 2_000_000, max_bytes: 2 ** 30 });
  streams.push(stream);
  return subject;
}

async function firstChampion(name: string): Promise<void> {
  await cmd.pipelineApply(c, quiet, join(work, `${name}.yaml`));
  await cmd.dataPush(c, quiet, name, seattle2012);
  const { run } = await c.trigger.triggerRun({ pipeline: name, reason: 'bench: the first champion' });
  const done = await waitForRun(c, run?.runId ?? '', { timeoutMs: 120_000, pollMs: 20 });
  if (done.status !== RunStatus.SUCCEEDED || done.outcome !== 'promoted') throw new Error(`${name}: the first run ended ${done.outcome || RunStatus[done.status]}: ${done.failureReason}`);
}

async function publishAll(subject: string, bodies: Buffer[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += IN_FLIGHT) await Promise.all(bodies.slice(i, i + IN_FLIGHT).map((b) => js.publish(subject, b)));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 600_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rowOf = (id: string, r: Record<string, unknown>) => {
  const { precipitation: _p, ...row } = r;
  return Buffer.from(JSON.stringify({ id, at: new Date(String(r.date)).toISOString(), ...row }));
};
const labelOf = (id: string, r: Record<string, unknown>) => Buffer.from(JSON.stringify({ id, label: r.precipitation, at: new Date(new Date(String(r.date)).getTime() + DAY).toISOString() }));

try {
  // Latency: label → registered candidate that learned from it.
  const ny = weatherRows('New York', '2014-01-01', '2016-01-01') as Array<Record<string, unknown>>;
  const latencies: Array<{ pipeline: string; ms: number; tick: number; version: string }> = [];
  for (let k = 0; k < LATENCY_PIPELINES; k++) {
    const name = `bench-latency-${k + 1}`;
    const subject = await pipelineWithChampion(name, { minIntervalHours: 0 });
    await firstChampion(name);
    let sent = 0;
    for (let tick = 0; sent < ny.length; tick++) {
      const days = ny.slice(sent, sent + 10);
      const t0 = Date.now();
      await publishAll(subject, days.map((r, i) => rowOf(`${k}-${sent + i}`, r)));
      await publishAll(`${subject}.labels`, days.map((r, i) => labelOf(`${k}-${sent + i}`, r)));
      sent += days.length;
      const learner = await until(`${name} learned ${sent} rows`, async () => {
        const l = await c.trainer.getLearner({ pipeline: name });
        return Number(l.rowsLearned) >= sent ? l : undefined;
      });
      if (learner.replacements > 0n) {
        const version = await until(`${name}'s stream version`, async () => (await c.registry.listModels({ pipeline: name })).models.find((m) => m.triggerKind === 'stream'), 30_000);
        const ms = (version.createdAt ? timestampMs(version.createdAt) : Number.NaN) - t0;
        latencies.push({ pipeline: name, ms, tick, version: version.version });
        console.log(`${name}: replacement ${version.version} registered ${ms} ms after the labels of tick ${tick} (day ${sent}) were published`);
        break;
      }
    }
  }

  // Ingest: a backlog of N rows on the subject, then the pipeline applied.
  const name = 'bench-throughput';
  const subject = await pipelineWithChampion(name, { microBatch: 64, minIntervalHours: 24 });
  const pool = weatherRows('New York') as Array<Record<string, unknown>>;
  const rows = Array.from({ length: ROWS }, (_, i) => rowOf(`t${i}`, pool[i % pool.length]));
  const labels = Array.from({ length: ROWS }, (_, i) => labelOf(`t${i}`, pool[i % pool.length]));
  await publishAll(subject, rows);
  const tIngest = Date.now();
  await firstChampion(name);
  const stats = await until(`${ROWS} rows accepted`, async () => {
    const s = await c.ingestion.getStreamStats({ pipeline: name });
    return Number(s.rowsAccepted) >= ROWS ? s : undefined;
  });
  const ingestS = (Date.now() - tIngest) / 1000;
  console.log(`ingest: ${ROWS} rows accepted in ${Number(stats.segments)} segments, ${ingestS.toFixed(2)} s from apply (includes the first batch run) → ${Math.round(ROWS / ingestS)} rows/s`);

  // Learn: N labels for those rows.
  const tLearn = Date.now();
  await publishAll(`${subject}.labels`, labels);
  // Every label joined, and every segment applied by the learner (its row count restarts with
  // each new champion, so segments say when it is done).
  const learned = await until(`${ROWS} rows learned`, async () => {
    const [s, l] = await Promise.all([c.ingestion.getStreamStats({ pipeline: name }), c.trainer.getLearner({ pipeline: name })]);
    return Number(s.labelsJoined) >= ROWS && l.segment >= s.segments ? l : undefined;
  });
  const learnS = (Date.now() - tLearn) / 1000;
  console.log(`learn: ${ROWS} labeled rows joined and learned in ${learnS.toFixed(2)} s → ${Math.round(ROWS / learnS)} labeled rows/s (${learned.replacements} replacements, ${learned.resets} resets on the way)`);

  const ms = latencies.map((l) => l.ms);
  const result = {
    bench: 'stream',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, loadAvg1m: loadavg()[0] },
    targets: { ingestRowsPerSec: 20_000, learnedRowsPerSec: 5_000, labelToCandidateMs: 5_000 },
    ingest: { rows: ROWS, seconds: ingestS, rowsPerSec: Math.round(ROWS / ingestS), segments: Number(stats.segments), includesFirstBatchRun: true },
    learn: { rows: ROWS, seconds: learnS, rowsPerSec: Math.round(ROWS / learnS), microBatch: 64, replacements: Number(learned.replacements), resets: Number(learned.resets) },
    latency: { runs: latencies, ms: ms.length > 0 ? spreadOf(ms) : null },
  };
  console.log(`label → candidate: ${ms.length > 0 ? JSON.stringify(spreadOf(ms)) : 'no replacement was proven'}`);
  mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench', 'results', 'stream.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('written to bench/results/stream.json');
} finally {
  for (const client of Object.values(c)) client.close();
  for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
  await nc.close();
  await stack.stop();
  await resetNamespace({ pgUrl, schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl, stream: env.REFIT_STREAM });
}
