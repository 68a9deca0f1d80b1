// bench/serve: Predict latency and throughput of the deployer, over gRPC on loopback, with the
// prediction log on, for one model and with a canary active (50 %), side by side in one run.
// Single rows at a fixed rate (p50/p99), then batches of 1,000 rows, the two pipelines interleaved. The deployer runs in this
// process against the real Postgres and NATS (its own namespace); the client runs in a child
// process (bench/serve-client.ts) so its protobuf encoding and decoding do not run on the
// deployer's thread; single rows are measured again from a gRPC C-core client
// (bench/serve_client.py, Debian's python3-grpcio) when there is one, since a Node client's own
// garbage-collection pauses land in the tail it measures.
// Run: node --conditions=@refit/source --import tsx bench/serve.ts
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { PredictRequestSchema } from '@refit/contracts';
import { fitTransform, applyTransform, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { parseSpec } from '@refit/spec';
import { REPO_ROOT, writeWeatherSlice } from '@refit/stack';
import { createTestEnv, serviceEnv, startTestRuntime } from '@refit/testing';
import { loadConfig } from '../services/deployer/src/config.js';
import { startDeployerService } from '../services/deployer/src/service.js';
import { watchGc, type GcPauses } from './gc-pauses.js';
import type { ClientReport } from './serve-client.js';


const spec = parseSpec(readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8'));
const rows = writeWeatherSlice(join(tmpdir(), 'refit-bench-serve.csv'), 'Seattle', 2012, 2015).map(
  (r) => ({ ...r, precipitation: Number(r.precipitation), temp_max: Number(r.temp_max), temp_min: Number(r.temp_min), wind: Number(r.wind) }) as RawRow,
);
const input = rows.map((r) => ({ temp_max: r.temp_max as number, temp_min: r.temp_min as number, wind: r.wind as number }));

function runClient(address: string, pipelines: string[], reset: () => Promise<void>): Promise<ClientReport & { serverGc: GcPauses }> {
  const inputs = join(tmpdir(), 'refit-bench-serve-inputs.json');
  writeFileSync(inputs, JSON.stringify(input));
  const client = fileURLToPath(new URL('./serve-client.ts', import.meta.url));
  const child = spawn(process.execPath, [...(process.env.BENCH_CLIENT_FLAGS ?? '').split(' ').filter(Boolean), '--conditions=@refit/source', '--import', 'tsx', client, address, inputs, ...pipelines], {
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

const PYTHON = '/usr/bin/python3';
type SingleRow = { rate: number; p50: number; p99: number };

/**
 * Single rows again from a C-core gRPC client (python3-grpcio, `apt install python3-grpcio`) when
 * the machine has one: its pauses are not V8's, so it shows the deployer's own tail more closely.
 */
async function runCCoreClient(address: string, pipelines: string[]): Promise<{ pipelines: Record<string, SingleRow>; serverGc: GcPauses } | undefined> {
  if (spawnSync(PYTHON, ['-c', 'import grpc']).status !== 0) return undefined;
  const bodies = Object.fromEntries(pipelines.map((p) => [p, input.map((row) => Buffer.from(toBinary(PredictRequestSchema, create(PredictRequestSchema, { pipeline: p, rows: [row] }))).toString('base64'))]));
  const path = join(tmpdir(), 'refit-bench-serve-bodies.json');
  writeFileSync(path, JSON.stringify(bodies));
  // Asynchronously: the deployer answering it runs on this very thread.
  const child = spawn(PYTHON, [fileURLToPath(new URL('./serve_client.py', import.meta.url)), address, path, String(process.env.BENCH_RATE ?? 500), String(process.env.BENCH_SECONDS ?? 20)], {
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
const env = await createTestEnv({ name: 'bench-serve' });
try {
  // No analysis during the bench: the canary stays at its step.
  const config = loadConfig(serviceEnv(env.env, { REFIT_LOG_LEVEL: 'warn', REFIT_ROLLOUT_TICK_MS: '3600000' }));
  const rt = await startTestRuntime(config, join(REPO_ROOT, 'services/deployer/src/migrations'));
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
  const address = rt.server?.address ?? '';
  let logged = 0;
  let variants: Array<{ variant: string; n: string }> = [];
  const reset = async () => {
    await new Promise((r) => setTimeout(r, 1500));
    logged += Number((await rt.pool.query<{ n: string }>('select count(*) as n from predictions')).rows[0].n);
    const v = (await rt.pool.query<{ variant: string; n: string }>('select variant, count(*) as n from predictions where pipeline = $1 group by variant order by variant', [CANARY])).rows;
    if (v.length > 0) variants = v;
    await rt.pool.query('truncate predictions');
  };
  const report = await runClient(address, [SINGLE, CANARY], reset);
  await reset();
  const ccore = await runCCoreClient(address, [SINGLE, CANARY]);
  const one = report.pipelines[SINGLE];
  const two = report.pipelines[CANARY];
  for (const [name, m] of [['one model', one], ['canary 50%', two]] as const) {
    console.log(`${name.padEnd(11)} single row at ${m.singleRow.rate}/s: p50 ${m.singleRow.p50.toFixed(2)} ms, p99 ${m.singleRow.p99.toFixed(2)} ms; batches of 1,000 rows: ${m.batchRowsPerSecond} rows/s (Struct rows), ${m.batchColumnarRowsPerSecond} rows/s (columnar)`);
  }
  const ratio = {
    p50: two.singleRow.p50 / one.singleRow.p50,
    p99: two.singleRow.p99 / one.singleRow.p99,
    batch: one.batchRowsPerSecond / two.batchRowsPerSecond,
    batchColumnar: one.batchColumnarRowsPerSecond / two.batchColumnarRowsPerSecond,
  };
  console.log(`canary cost: p50 ×${ratio.p50.toFixed(2)}, p99 ×${ratio.p99.toFixed(2)}, batch time ×${ratio.batch.toFixed(2)} (Struct), ×${ratio.batchColumnar.toFixed(2)} (columnar) (target ≤ 1.3); canary split logged: ${variants.map((v) => `${v.variant} ${v.n}`).join(', ')}`);
  console.log(`prediction log: ${logged} rows written (targets: single-row p99 < 5 ms at 500/s, batch ≥ 100,000 rows/s)`);
  const pauses = (g: GcPauses) => `${g.count} pauses, p50 ${g.p50Ms} ms, max ${g.maxMs} ms, ${g.totalMs} ms in all`;
  console.log(`garbage collection during the single-row phase: deployer ${pauses(report.serverGc)}; client ${pauses(report.clientGc)}`);
  if (ccore) {
    for (const [name, p] of [['one model', SINGLE], ['canary 50%', CANARY]] as const) {
      const m = ccore.pipelines[p];
      console.log(`${name.padEnd(11)} single row at ${m.rate}/s from the C-core client (python3-grpcio): p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms`);
    }
    console.log(`  deployer garbage collection meanwhile: ${pauses(ccore.serverGc)}`);
    const one = ccore.pipelines[SINGLE];
    const two = ccore.pipelines[CANARY];
    console.log(`  canary cost from the C-core client: p50 ×${(two.p50 / one.p50).toFixed(2)}, p99 ×${(two.p99 / one.p99).toFixed(2)} (target ≤ 1.3)`);
  } else console.log('no C-core client (apt install python3-grpcio to measure single rows from one too)');

  const result = {
    bench: 'serve',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, loadAverage: loadavg()[0] },
    client: 'child process (its protobuf encode/decode does not run on the deployer thread)',
    oneModel: one,
    canary50: two,
    canaryCost: ratio,
    gcDuringSingleRows: { deployer: report.serverGc, client: report.clientGc },
    singleRowCCoreClient: ccore ? { ...ccore.pipelines, deployerGc: ccore.serverGc, client: 'python3-grpcio (gRPC C-core), pre-encoded requests' } : null,
    deployerExecArgv: process.execArgv.filter((a) => a.startsWith('--max-semi-space-size')),
    canaryVariantsLogged: Object.fromEntries(variants.map((v) => [v.variant, Number(v.n)])),
    predictionsLogged: logged,
    targets: { singleRowP99Ms: 5, singleRowRate: 500, batchRowsPerSecond: 100000, canaryLatencyRatio: 1.3 },
  };
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/serve.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('saved bench/results/serve.json');
  await rt.close();
} finally {
  await env.cleanup();
}
