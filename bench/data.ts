// Benchmark of data collection and features. Run from the repo root:
//   node --conditions=@refit/source --import tsx bench/data.ts        (BENCH_DATA_MB=1024 by default)
// Prints its numbers and writes bench/results/data.json:
// - validation: CSV parsing + row validation + profiling + typed JSON lines, in-process (rows/s);
// - transform: fitTransform and applyTransform on 10 columns (rows/s);
// - ingest: a generated 10-column CSV pushed through gRPC to the ingestion service running as its
//   own process (stack), end to end with S3 and Postgres: rows/s and the service's peak RSS (VmHWM).
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@refit/cli';
import { REPO_ROOT, resetNamespace, startStack } from '@refit/stack';
import { applyTransform, fitTransform, type FeatureSpec, type RawRow } from '../libs/modeling/src/index.js';
import { parseSpec } from '../libs/spec/src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const MB = 1024 * 1024;
const TARGET_MB = Number(process.env.BENCH_DATA_MB ?? 1024);
/** Bytes per PushData message, as `refit data push` sends them (its PUSH_CHUNK_BYTES, 1 MiB). */
const PUSH_CHUNK = Number(process.env.BENCH_CHUNK_BYTES ?? 1024 * 1024);

const SPEC = `
apiVersion: refit/v1
kind: Pipeline
name: bench-data
schema:
  columns:
    - { name: id, type: integer, unique: true }
    - { name: day, type: date }
    - { name: amount, type: number, min: 0 }
    - { name: temp, type: number, min: -60, max: 60 }
    - { name: wind, type: number, min: 0, nullable: true }
    - { name: score, type: number }
    - { name: visits, type: integer, min: 0 }
    - { name: city, type: category }
    - { name: channel, type: category, values: [web, app, store] }
    - { name: churned, type: boolean }
  timestamp: day
label: { column: churned }
features:
  - { name: amount, type: number, transform: log1p }
  - { name: temp, type: number }
`;
const spec = parseSpec(SPEC);
const HEADER = spec.schema.columns.map((c) => c.name).join(',');
const CITIES = ['Seattle', 'New York', 'Austin', 'Boston', 'Denver', 'Miami', 'Chicago', 'Portland'];
const CHANNELS = ['web', 'app', 'store'];

/** Row i of the synthetic file (deterministic, ~75 bytes). */
function line(i: number): string {
  const d = new Date(Date.UTC(2014, 0, 1) + (i % 1000) * 86_400_000).toISOString().slice(0, 10);
  return `${i},${d},${((i * 7919) % 100000) / 100},${(((i * 31) % 700) / 10 - 20).toFixed(1)},${i % 13 === 0 ? '' : ((i % 97) / 7).toFixed(2)},${Math.sin(i).toFixed(4)},${i % 50},${CITIES[i % 8]},${CHANNELS[i % 3]},${i % 5 === 0}`;
}

function chunkOf(from: number, to: number): string {
  const parts: string[] = [];
  for (let i = from; i < to; i++) parts.push(line(i));
  return `${parts.join('\n')}\n`;
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// --- validation, in-process ------------------------------------------------------------------
// Runs inside the ingestion service's code as its own program (benchmarks never import services).
function benchValidation(rows: number): { rowsPerSec: number; cpuRowsPerSec: number; rows: number } {
  const out = execFileSync(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', join(REPO_ROOT, 'services/ingestion/src/validation-bench.ts'), String(rows)], {
    encoding: 'utf8',
    input: SPEC,
  });
  return JSON.parse(out) as { rowsPerSec: number; cpuRowsPerSec: number; rows: number };
}

// --- transform -------------------------------------------------------------------------------
function benchTransform(n: number) {
  const rows: RawRow[] = Array.from({ length: n }, (_, i) => ({
    amount: ((i * 7919) % 100000) / 100,
    temp: ((i * 31) % 700) / 10 - 20,
    wind: i % 13 === 0 ? null : (i % 97) / 7,
    score: Math.sin(i),
    visits: i % 50,
    day: new Date(Date.UTC(2014, 0, 1) + (i % 1000) * 86_400_000).toISOString().slice(0, 10),
    city: CITIES[i % 8],
    channel: CHANNELS[i % 3],
    id: i,
    hour: i % 24,
  }));
  const features: FeatureSpec[] = [
    { name: 'amount', type: 'number', transform: 'log1p' },
    { name: 'temp', type: 'number' },
    { name: 'wind', type: 'number', impute: { strategy: 'median' }, missingIndicator: true },
    { name: 'score', type: 'number', transform: 'minmax', clip: { min: -0.9, max: 0.9 } },
    { name: 'visits', type: 'number', transform: 'bucketize', boundaries: [5, 10, 20, 40] },
    { name: 'day', type: 'date', parts: ['dayOfWeek', 'month'] },
    { name: 'city', type: 'category', topK: 5 },
    { name: 'channel', type: 'category' },
    { name: 'id', type: 'number', transform: 'none' },
    { name: 'hour', type: 'number', transform: 'onehot' },
  ];
  let t0 = performance.now();
  const t = fitTransform(rows, features);
  const fitMs = performance.now() - t0;
  applyTransform(t, rows.slice(0, 10_000)); // warm up
  t0 = performance.now();
  const c0 = cpu();
  const out = applyTransform(t, rows);
  const applyMs = performance.now() - t0;
  const applyCpuMs = cpu() - c0;
  // One serving request of 1 row, many times: the deployer's per-call cost.
  const one = [rows[1]];
  t0 = performance.now();
  for (let i = 0; i < 100_000; i++) applyTransform(t, one);
  const perRowUs = ((performance.now() - t0) / 100_000) * 1000;
  return { rows: n, columns: features.length, outputWidth: out.d, fitRowsPerSec: (n / fitMs) * 1000, applyRowsPerSec: (n / applyMs) * 1000, applyCpuRowsPerSec: (n / applyCpuMs) * 1000, singleRowApplyUs: perRowUs };
}

// --- end to end: push through gRPC to the ingestion process ------------------------------------
function peakRssMb(port: string): number {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const pid = /pid=(\d+)/.exec(out)?.[1];
  if (!pid) throw new Error(`no process listens on port ${port}`);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** The service's own split of a push (its 'batch read and stored' log line): reading and validating vs waiting for the uploads. */
function servicePhases(logFile: string, batchId: string): { serviceReadSeconds?: number; serviceUploadWaitSeconds?: number } {
  try {
    const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes(batchId) && l.includes('batch read and stored'));
    const rec = line ? (JSON.parse(line) as { readMs: number; uploadWaitMs: number }) : undefined;
    return rec ? { serviceReadSeconds: rec.readMs / 1000, serviceUploadWaitSeconds: rec.uploadWaitMs / 1000 } : {};
  } catch {
    return {};
  }
}

async function writeFile(path: string, targetBytes: number): Promise<number> {
  const out = createWriteStream(path);
  let rows = 0;
  let bytes = 0;
  const write = (s: string) => new Promise<void>((r) => (out.write(s) ? r() : out.once('drain', () => r())));
  await write(`${HEADER}\n`);
  while (bytes < targetBytes) {
    const s = chunkOf(rows, rows + 10_000);
    rows += 10_000;
    bytes += s.length;
    await write(s);
  }
  await new Promise<void>((r) => out.end(() => r()));
  return rows;
}

async function benchIngest(targetMb: number) {
  const dir = mkdtempSync(join(tmpdir(), 'refit-bench-data-'));
  const file = join(dir, 'bench.csv');
  const rows = await writeFile(file, targetMb * MB);
  const env = { REFIT_SCHEMA_PREFIX: 'refit_benchdata_', REFIT_STREAM: 'REFIT_BENCHDATA', REFIT_SUBJECT_PREFIX: 'refitbenchdata', REFIT_S3_BUCKET: 'refit-bench-data', REFIT_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' };
  await resetNamespace({ pgUrl: process.env.REFIT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/refit', schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl: process.env.REFIT_NATS_URL ?? 'nats://127.0.0.1:4222', stream: env.REFIT_STREAM });
  const workDir = join(REPO_ROOT, '.refit', 'bench-data');
  rmSync(workDir, { recursive: true, force: true });
  const stack = await startStack({ env, workDir });
  try {
    const c = connect(stack.env);
    const specYaml = join(dir, 'spec.yaml');
    writeFileSync(specYaml, SPEC);
    await c.trigger.applyPipeline({ specYaml: SPEC });
    const port = stack.addresses.ingestion.split(':').pop() as string;
    const rssBefore = peakRssMb(port);
    // Two cores shared with other work: the 1-minute load average says how quiet the machine was.
    const loadBefore = loadavg()[0];
    const t0 = performance.now();
    const r = await c.ingestion.pushData(
      (async function* () {
        yield { part: { case: 'header' as const, value: { pipeline: 'bench-data', format: 'csv', filename: 'bench.csv' } } };
        for await (const chunk of createReadStream(file, { highWaterMark: PUSH_CHUNK })) yield { part: { case: 'chunk' as const, value: chunk as Buffer } };
      })(),
      { timeoutMs: 3_600_000 },
    );
    const ms = performance.now() - t0;
    const phases = servicePhases(join(stack.logDir, 'ingestion.log'), r.batchId);
    if (r.rowsAccepted !== BigInt(rows)) throw new Error(`ingest bench: ${r.rowsAccepted} of ${rows} rows accepted (${r.status}: ${r.batchProblems.join('; ')})`);
    return { fileMb: statSync(file).size / MB, rows, seconds: ms / 1000, rowsPerSec: (rows / ms) * 1000, mbPerSec: statSync(file).size / MB / (ms / 1000), serviceRssBeforeMb: rssBefore, servicePeakRssMb: peakRssMb(port), status: r.status, chunkBytes: PUSH_CHUNK, loadAvg1mBefore: loadBefore, loadAvg1mAfter: loadavg()[0], ...phases };
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(workDir, 's3'), { recursive: true, force: true });
  }
}

const validation = benchValidation(Number(process.env.BENCH_VALIDATION_ROWS ?? 1_000_000));
console.log(`validation (in-process, 10 columns): ${validation.rowsPerSec.toFixed(0)} rows/s (CPU-time: ${validation.cpuRowsPerSec.toFixed(0)} rows/s) over ${validation.rows} rows   target >= 200,000`);
const transform = benchTransform(Number(process.env.BENCH_TRANSFORM_ROWS ?? 1_000_000));
console.log(
  `transform (10 features → ${transform.outputWidth} columns): fit ${transform.fitRowsPerSec.toFixed(0)} rows/s, apply ${transform.applyRowsPerSec.toFixed(0)} rows/s (CPU-time: ${transform.applyCpuRowsPerSec.toFixed(0)})   target >= 1,000,000; one-row apply ${transform.singleRowApplyUs.toFixed(2)} µs`,
);
const ingest = TARGET_MB > 0 ? await benchIngest(TARGET_MB) : undefined;
if (ingest) {
  console.log(
    `ingest (gRPC → ingestion process → S3 + Postgres): ${ingest.fileMb.toFixed(0)} MB, ${ingest.rows} rows in ${ingest.seconds.toFixed(1)} s = ${ingest.rowsPerSec.toFixed(0)} rows/s (${ingest.mbPerSec.toFixed(1)} MB/s); service peak RSS ${ingest.servicePeakRssMb.toFixed(0)} MB (target < 500); load average ${ingest.loadAvg1mBefore.toFixed(2)} → ${ingest.loadAvg1mAfter.toFixed(2)}`,
  );
}
mkdirSync(join(here, 'results'), { recursive: true });
const resultFile = join(here, 'results', 'data.json');
// BENCH_DATA_MB=0 re-measures the in-process parts only and keeps the last end-to-end numbers.
const previous = ingest ? undefined : (() => {
  try {
    return (JSON.parse(readFileSync(resultFile, 'utf8')) as { ingest?: unknown; ingestMeasuredAt?: string; measuredAt?: string });
  } catch {
    return undefined;
  }
})();
const ingestResult = ingest ?? previous?.ingest;
const ingestMeasuredAt = ingest ? new Date().toISOString() : (previous?.ingestMeasuredAt ?? previous?.measuredAt);
// The in-process parts' load average (the ingest records its own).
writeFileSync(resultFile, `${JSON.stringify({ measuredAt: new Date().toISOString(), loadAvg1m: loadavg()[0], validation, transform, ingest: ingestResult, ingestMeasuredAt }, null, 2)}\n`);
