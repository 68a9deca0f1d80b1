// bench/serve: Predict latency and throughput of the deployer, over gRPC on loopback, with the
// prediction log on, for one model and with a canary active (50 %), side by side in one run.
// Single rows at a fixed rate (p50/p99), then batches of 1,000 rows, the two pipelines interleaved. The deployer runs in this
// process against the real Postgres and NATS (its own namespace); the client runs in a child
// process (bench/serve-client.ts) so its protobuf encoding and decoding do not run on the
// deployer's thread; single rows are measured again from a gRPC C-core client
// (bench/serve_client.py, Debian's python3-grpcio) when there is one, since a Node client's own
// garbage-collection pauses land in the tail it measures.
// The deployer serves both in plaintext and over TLS with bearer tokens checked on every call (as
// in production); the single model is measured on both in the same run, interleaved, for the cost
// of security (target: p99 at most 1.2× plaintext). A third plaintext server traces every call
// (OpenTelemetry, 100 % sampled, spans exported over OTLP/HTTP to a dummy collector in a child
// process), measured in the same run for the cost of tracing (target: p99 at most 1.2× untraced).
// Run: node --conditions=@refit/source --import tsx bench/serve.ts
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { PredictRequestSchema, refitFiles } from '@refit/contracts';
import { fitTransform, applyTransform, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { parseSpec } from '@refit/spec';
import { REPO_ROOT, writeWeatherSlice } from '@refit/stack';
import { createGrpcServer, createTracing, issueToken, type GrpcServer } from '@refit/platform';
import { createTestCredentials, createTestEnv, serviceEnv, startTestRuntime } from '@refit/testing';
import { loadConfig } from '../services/deployer/src/config.js';
import { startDeployerService } from '../services/deployer/src/service.js';
import { watchGc, type GcPauses } from './gc-pauses.js';
import type { ClientReport, Lane, Measured } from './serve-client.js';
import { formatRatio, tailRatio } from './tail-ratio.js';


const spec = parseSpec(readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8'));
const rows = writeWeatherSlice(join(tmpdir(), 'refit-bench-serve.csv'), 'Seattle', 2012, 2015).map(
  (r) => ({ ...r, precipitation: Number(r.precipitation), temp_max: Number(r.temp_max), temp_min: Number(r.temp_min), wind: Number(r.wind) }) as RawRow,
);
const input = rows.map((r) => ({ temp_max: r.temp_max as number, temp_min: r.temp_min as number, wind: r.wind as number }));

function runClient(lanes: Lane[], reset: () => Promise<void>): Promise<ClientReport & { serverGc: GcPauses }> {
  const inputs = join(tmpdir(), 'refit-bench-serve-inputs.json');
  writeFileSync(inputs, JSON.stringify(input));
  const lanesFile = join(tmpdir(), 'refit-bench-serve-lanes.json');
  writeFileSync(lanesFile, JSON.stringify(lanes));
  const client = fileURLToPath(new URL('./serve-client.ts', import.meta.url));
  const child = spawn(process.execPath, [...(process.env.BENCH_CLIENT_FLAGS ?? '').split(' ').filter(Boolean), '--conditions=@refit/source', '--import', 'tsx', client, inputs, lanesFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let gc: ReturnType<typeof watchGc> | undefined;
  let serverGc: GcPauses = { count: 0, p50Ms: 0, maxMs: 0, totalMs: 0 };
  let report: ClientReport | undefined;
  child.on('message', (m) => {
    if (typeof m === 'object' && m !== null && 'report' in m) report = (m as { report: ClientReport }).report;
    else if (m === 'single-start') gc = watchGc();
    else if (m === 'single-done') serverGc = gc?.stop() ?? serverGc;
    else void reset().then(() => child.send('ready'));
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 && report ? resolve({ ...report, serverGc }) : reject(new Error(`bench client exited with ${code}${report ? '' : ' without a report'}`)))),
  );
}

/**
 * A collector that takes OTLP/HTTP exports and drops them, in a child process so that receiving
 * them costs the deployer's thread nothing a real collector would not; `GET /count` says how many
 * exports it took.
 */
async function startDummyCollector(): Promise<{ endpoint: string; exports: () => Promise<number>; stop: () => void }> {
  const script = `let n = 0; require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { if (q.method === 'GET') return s.end(String(n)); n++; s.end('{}'); }); }).listen(0, '127.0.0.1', function () { process.send(this.address().port); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m))));
  const endpoint = `http://127.0.0.1:${port}`;
  return { endpoint, exports: async () => Number(await (await fetch(`${endpoint}/count`)).text()), stop: () => void child.kill() };
}

const PYTHON = '/usr/bin/python3';
type SingleRow = { rate: number; p50: number; p99: number };

/**
 * Single rows again from a C-core gRPC client (python3-grpcio, `apt install python3-grpcio`) when
 * the machine has one: its pauses are not V8's, so it shows the deployer's own tail more closely.
 */
async function runCCoreClient(lanes: Lane[]): Promise<{ pipelines: Record<string, SingleRow>; serverGc: GcPauses } | undefined> {
  if (spawnSync(PYTHON, ['-c', 'import grpc']).status !== 0) return undefined;
  const body = (p: string) => input.map((row) => Buffer.from(toBinary(PredictRequestSchema, create(PredictRequestSchema, { pipeline: p, rows: [row] }))).toString('base64'));
  const spec = Object.fromEntries(lanes.map((l) => [l.label, { address: l.address, ca: l.caFile ?? null, token: l.token ?? null, bodies: body(l.pipeline) }]));
  const path = join(tmpdir(), 'refit-bench-serve-bodies.json');
  writeFileSync(path, JSON.stringify(spec));
  // Asynchronously: the deployer answering it runs on this very thread.
  const child = spawn(PYTHON, [fileURLToPath(new URL('./serve_client.py', import.meta.url)), path, String(process.env.BENCH_RATE ?? 500), String(process.env.BENCH_SECONDS ?? 20)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // Its warm-up (300 calls a pipeline) comes first; the pauses are watched from its start.
  const gc = watchGc();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const serverGc = gc.stop();
  if (code !== 0) throw new Error(`the C-core client exited with ${code}`);
  return { pipelines: JSON.parse(out) as Record<string, SingleRow>, serverGc };
}

const SINGLE = spec.name;
const CANARY = `${spec.name}-canary`;
const SECURE = `${spec.name} (TLS + token)`;
const TRACED = `${spec.name} (traced)`;
const env = await createTestEnv({ name: 'bench-serve' });
const creds = await createTestCredentials();
try {
  // No analysis during the bench: the canary stays at its step. TLS, tokens and event keys as in production.
  const config = loadConfig(serviceEnv(env.env, { REFIT_LOG_LEVEL: 'warn', REFIT_ROLLOUT_TICK_MS: '3600000', ...creds.serviceEnv('deployer') }));
  const rt = await startTestRuntime(config, join(REPO_ROOT, 'services/deployer/src/migrations'));
  // The same handlers also served in plaintext without authentication, for the comparison.
  let plain: GrpcServer | undefined;
  // And once more with every call traced, spans exported as in production.
  const collector = await startDummyCollector();
  const tracing = createTracing({ service: 'deployer', otlpEndpoint: collector.endpoint, sampleRatio: 1 });
  let traced: GrpcServer | undefined;
  const serveSecure = rt.serve.bind(rt);
  rt.serve = async (...impls) => {
    plain = await createGrpcServer({ service: 'deployer', port: 0, logger: rt.logger, services: impls, files: refitFiles });
    traced = await createGrpcServer({ service: 'deployer', port: 0, logger: rt.logger, services: impls, files: refitFiles, tracing });
    return serveSecure(...impls);
  };
  const transform = fitTransform(rows, spec.features);
  const t = applyTransform(transform, rows);
  const transformRef = await rt.store.put('bench/transform.json', serializeTransform(transform));
  const keys: string[] = [];
  for (const seed of [1, 2]) {
    const { model } = await trainModel({ X: t.X, y: labelsOf(rows, spec.label), n: t.n, d: t.d, spec: { kind: 'logistic', epochs: 5, seed } });
    keys.push((await rt.store.put(`bench/model-${seed}.refitm`, await model.serialize())).key);
    model.dispose();
  }
  for (const p of [SINGLE, CANARY]) {
    await rt.pool.query('insert into deployments (pipeline, version, run_id, model_key, transform_key) values ($1, $2, $3, $4, $5)', [p, 'v1', 'r-bench', keys[0], transformRef.key]);
  }
  // A canary at 50 % (the deployer resumes it at start-up, as after a restart).
  const canary = { strategy: 'canary', steps: [50, 100], minLabeled: 200, metric: 'accuracy', margin: 0.02, alpha: 0.05, holdMinutes: 600, onInconclusive: 'hold', split: 50 };
  await rt.pool.query(
    `insert into rollouts (pipeline, run_id, strategy, candidate_version, champion_version, model_key, transform_key, config, status, step, weight, started_at, step_started_at)
     values ($1, 'r-bench-2', 'canary', 'v2', 'v1', $2, $3, $4, 'active', 0, 50, now(), now())`,
    [CANARY, keys[1], transformRef.key, JSON.stringify(canary)],
  );
  await startDeployerService(rt, config);
  const address = plain?.address ?? '';
  const token = await issueToken({ privateKey: createPrivateKey(readFileSync(join(creds.dir, 'tokens', 'issuer.key'))), name: 'bench-client', roles: ['predictor'], ttlSeconds: 3600 });
  const lanes: Lane[] = [
    { label: SINGLE, address, pipeline: SINGLE },
    { label: CANARY, address, pipeline: CANARY },
    { label: SECURE, address: rt.server?.address ?? '', pipeline: SINGLE, caFile: join(creds.dir, 'ca', 'ca.crt'), token },
    { label: TRACED, address: traced?.address ?? '', pipeline: SINGLE },
  ];
  let logged = 0;
  let variants: Array<{ variant: string; n: string }> = [];
  // The prediction log writes on its own thread: a lane's rows are counted once its queue is empty.
  const metricNow = async (name: string) => (await rt.metrics.registry.getSingleMetric(name)?.get())?.values.reduce((t, v) => t + v.value, 0) ?? 0;
  const reset = async () => {
    const deadline = Date.now() + 120_000;
    while ((await metricNow('refit_prediction_log_queued_rows')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    logged += Number((await rt.pool.query<{ n: string }>('select count(*) as n from predictions')).rows[0].n);
    const v = (await rt.pool.query<{ variant: string; n: string }>('select variant, count(*) as n from predictions where pipeline = $1 group by variant order by variant', [CANARY])).rows;
    if (v.length > 0) variants = v;
    await rt.pool.query('truncate predictions');
  };
  // The deployer's memory (this process) while it serves, sampled every 100 ms.
  const memory = { rssMb: 0, heapUsedMb: 0, externalMb: 0 };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    memory.rssMb = Math.max(memory.rssMb, Math.round(m.rss / 1e6));
    memory.heapUsedMb = Math.max(memory.heapUsedMb, Math.round(m.heapUsed / 1e6));
    memory.externalMb = Math.max(memory.externalMb, Math.round((m.external + m.arrayBuffers) / 1e6));
  }, 100);
  const report = await runClient(lanes, reset);
  await reset();
  const ccore = await runCCoreClient(lanes);
  clearInterval(sampler);
  const dropped = await metricNow('refit_prediction_log_dropped_rows_total');
  const one = report.pipelines[SINGLE];
  const two = report.pipelines[CANARY];
  const sec = report.pipelines[SECURE];
  const trc = report.pipelines[TRACED];
  for (const [name, m] of [['one model', one], ['canary 50%', two], ['TLS+token', sec], ['traced', trc]] as const) {
    console.log(`${name.padEnd(11)} single row at ${m.singleRow.rate}/s: p50 ${m.singleRow.p50.toFixed(2)} ms, p99 ${m.singleRow.p99.toFixed(2)} ms; batches of 1,000 rows: ${m.batchRowsPerSecond} rows/s (Struct rows), ${m.batchColumnarRowsPerSecond} rows/s (columnar)`);
  }
  const ratio = {
    p50: two.singleRow.p50 / one.singleRow.p50,
    p99: two.singleRow.p99 / one.singleRow.p99,
    batch: one.batchRowsPerSecond / two.batchRowsPerSecond,
    batchColumnar: one.batchColumnarRowsPerSecond / two.batchColumnarRowsPerSecond,
  };
  console.log(`canary cost: p50 ×${ratio.p50.toFixed(2)}, p99 ×${ratio.p99.toFixed(2)}, batch time ×${ratio.batch.toFixed(2)} (Struct), ×${ratio.batchColumnar.toFixed(2)} (columnar) (target ≤ 1.2); canary split logged: ${variants.map((v) => `${v.variant} ${v.n}`).join(', ')}`);
  const secureCost = { p50: sec.singleRow.p50 / one.singleRow.p50, p99: sec.singleRow.p99 / one.singleRow.p99, batch: one.batchRowsPerSecond / sec.batchRowsPerSecond, batchColumnar: one.batchColumnarRowsPerSecond / sec.batchColumnarRowsPerSecond };
  console.log(`security cost (TLS + a bearer token checked on every call, vs plaintext): p50 ×${secureCost.p50.toFixed(2)}, p99 ×${secureCost.p99.toFixed(2)}, batch time ×${secureCost.batch.toFixed(2)} (Struct), ×${secureCost.batchColumnar.toFixed(2)} (columnar) (target p99 ≤ 1.2)`);
  const tracedP99 = tailRatio(trc.samples, one.samples, { q: 99 });
  const tracedP50 = tailRatio(trc.samples, one.samples, { q: 50 });
  const tracingCost = { p50: tracedP50.ratio, p50Ci95: tracedP50.ci95, p99: tracedP99.ratio, p99Ci95: tracedP99.ci95, batch: one.batchRowsPerSecond / trc.batchRowsPerSecond, batchColumnar: one.batchColumnarRowsPerSecond / trc.batchColumnarRowsPerSecond };
  await tracing.flush();
  const exports = await collector.exports();
  console.log(`tracing cost (every call a span, 100 % sampled, exported over OTLP/HTTP, vs untraced): p50 ${formatRatio(tracedP50)}, p99 ${formatRatio(tracedP99)}, batch time ×${tracingCost.batch.toFixed(2)} (Struct), ×${tracingCost.batchColumnar.toFixed(2)} (columnar) (target p99 ≤ 1.2); ${exports} exports sent`);
  console.log(`prediction log: ${logged} rows written, ${dropped} dropped (target 0) (targets: single-row p99 < 5 ms at 500/s, batch ≥ 150,000 rows/s)`);
  console.log(`deployer process peak memory while serving: RSS ${memory.rssMb} MB, JS heap ${memory.heapUsedMb} MB, buffers ${memory.externalMb} MB (this process also runs the bench's plaintext and traced servers)`);
  const pauses = (g: GcPauses) => `${g.count} pauses, p50 ${g.p50Ms} ms, max ${g.maxMs} ms, ${g.totalMs} ms in all`;
  console.log(`garbage collection during the single-row phase: deployer ${pauses(report.serverGc)}; client ${pauses(report.clientGc)}`);
  if (ccore) {
    for (const [name, p] of [['one model', SINGLE], ['canary 50%', CANARY], ['TLS+token', SECURE], ['traced', TRACED]] as const) {
      const m = ccore.pipelines[p];
      console.log(`${name.padEnd(11)} single row at ${m.rate}/s from the C-core client (python3-grpcio): p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms`);
    }
    console.log(`  deployer garbage collection meanwhile: ${pauses(ccore.serverGc)}`);
    const one = ccore.pipelines[SINGLE];
    const two = ccore.pipelines[CANARY];
    console.log(`  canary cost from the C-core client: p50 ×${(two.p50 / one.p50).toFixed(2)}, p99 ×${(two.p99 / one.p99).toFixed(2)} (target ≤ 1.2)`);
    const s3 = ccore.pipelines[SECURE];
    console.log(`  security cost from the C-core client: p50 ×${(s3.p50 / one.p50).toFixed(2)}, p99 ×${(s3.p99 / one.p99).toFixed(2)} (target ≤ 1.2)`);
    const tr = ccore.pipelines[TRACED];
    console.log(`  tracing cost from the C-core client: p50 ×${(tr.p50 / one.p50).toFixed(2)}, p99 ×${(tr.p99 / one.p99).toFixed(2)} (target ≤ 1.2)`);
  } else console.log('no C-core client (apt install python3-grpcio to measure single rows from one too)');

  const summary = ({ samples: _samples, ...rest }: Measured) => rest;
  const result = {
    bench: 'serve',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, loadAverage: loadavg()[0] },
    client: 'child process (its protobuf encode/decode does not run on the deployer thread)',
    oneModel: summary(one),
    canary50: summary(two),
    canaryCost: ratio,
    secure: summary(sec),
    secureCost,
    traced: summary(trc),
    tracingCost: { ...tracingCost, sampled: 1, exporter: 'OTLP/HTTP JSON, batched, to a collector in a child process', exports },
    gcDuringSingleRows: { deployer: report.serverGc, client: report.clientGc },
    singleRowCCoreClient: ccore ? { ...ccore.pipelines, deployerGc: ccore.serverGc, client: 'python3-grpcio (gRPC C-core), pre-encoded requests' } : null,
    deployerExecArgv: process.execArgv.filter((a) => a.startsWith('--max-semi-space-size')),
    canaryVariantsLogged: Object.fromEntries(variants.map((v) => [v.variant, Number(v.n)])),
    predictionsLogged: logged,
    predictionsDropped: dropped,
    deployerPeakMemory: memory,
    targets: { singleRowP99Ms: 5, singleRowRate: 500, batchRowsPerSecond: 150000, canaryLatencyRatio: 1.2, secureLatencyRatioP99: 1.2, tracingLatencyRatioP99: 1.2 },
  };
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/serve.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('saved bench/results/serve.json');
  await plain?.stop(1000);
  await traced?.stop(1000);
  await tracing.shutdown();
  collector.stop();
  await rt.close();
} finally {
  await env.cleanup();
  creds.cleanup();
}
