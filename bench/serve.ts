// bench/serve: Predict latency and throughput of the deployer, over gRPC on loopback, with the
// prediction log on, for one model and with a canary active (50 %), side by side in one run.
// Single rows at a fixed rate (p50/p99), then batches of 1,000 rows, the two pipelines interleaved. The deployer runs in this
// process against the real Postgres and NATS (its own namespace); the client runs in a child
// process so its protobuf encoding and decoding do not run on the deployer's thread.
// Run: node --conditions=@refit/source --import tsx bench/serve.ts
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary, toBinary, create } from '@bufbuild/protobuf';
import { Client as GrpcClient, credentials } from '@grpc/grpc-js';
import { DeployerService, PredictRequestSchema, PredictResponseSchema } from '@refit/contracts';
import { fitTransform, applyTransform, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { REPO_ROOT, writeWeatherSlice } from '@refit/stack';
import { createTestEnv, serviceEnv, startTestRuntime } from '@refit/testing';
import { loadConfig } from '../services/deployer/src/config.js';
import { startDeployerService } from '../services/deployer/src/service.js';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const spec = parseSpec(readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8'));
const rows = writeWeatherSlice(join(tmpdir(), 'refit-bench-serve.csv'), 'Seattle', 2012, 2015).map(
  (r) => ({ ...r, precipitation: Number(r.precipitation), temp_max: Number(r.temp_max), temp_min: Number(r.temp_min), wind: Number(r.wind) }) as RawRow,
);
const input = rows.map((r) => ({ temp_max: r.temp_max as number, temp_min: r.temp_min as number, wind: r.wind as number }));

type Measured = { singleRow: { rate: number; p50: number; p99: number }; batchRowsPerSecond: number; batchColumnarRowsPerSecond: number };

/**
 * The client side (in the child process). The pipelines are measured interleaved — one-second
 * slices of single rows, then chunks of 10 batches, taking turns — so that load from anything
 * else on the machine falls on every pipeline alike.
 */
async function measure(address: string, pipelines: string[]): Promise<Record<string, Measured>> {
  const client = createClient(DeployerService, address);
  for (const pipeline of pipelines) for (let i = 0; i < 300; i++) await client.predict({ pipeline, rows: [input[i % input.length]] }); // warm-up
  // Single rows go out pre-encoded on a raw grpc-js channel, as load generators such as ghz do:
  // the client's own protobuf work and garbage would otherwise land in the deployer's tail.
  const raw = new GrpcClient(address, credentials.createInsecure());
  const encoded = new Map(pipelines.map((p) => [p, input.map((row) => Buffer.from(toBinary(PredictRequestSchema, create(PredictRequestSchema, { pipeline: p, rows: [row] }))))]));
  const path = `/${DeployerService.typeName}/Predict`;
  const rawPredict = (body: Buffer) =>
    new Promise<Buffer>((resolve, reject) => raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, (err, res) => (err || !res ? reject(err ?? new Error('no response')) : resolve(res))));
  for (const pipeline of pipelines) {
    // The raw answers are the real thing: decode a few and check them.
    const answer = fromBinary(PredictResponseSchema, await rawPredict(encoded.get(pipeline)?.[0] ?? Buffer.alloc(0)));
    if (answer.predictions.length !== 1 || !(answer.predictions[0].probability >= 0 && answer.predictions[0].probability <= 1)) throw new Error(`unexpected answer from ${pipeline}`);
  }
  // Latencies go into preallocated arrays and answers are counted in callbacks: no promise or
  // closure per request outlives it, so the client's own garbage collections stay short.
  const latencies = new Map(pipelines.map((p) => [p, { ms: new Float64Array(SECONDS * RATE), n: 0 }]));
  const elapsed = new Map(pipelines.map((p) => [p, 0]));
  let failed: Error | undefined;
  for (let slice = 0; slice < SECONDS; slice++) {
    for (const pipeline of pipelines) {
      const lat = latencies.get(pipeline) ?? { ms: new Float64Array(0), n: 0 };
      const bodies = encoded.get(pipeline) ?? [];
      const start = performance.now();
      let outstanding = 0;
      let allAnswered: () => void = () => undefined;
      const answered = (t0: number) => (err: Error | null) => {
        if (err) failed ??= err;
        lat.ms[lat.n++] = performance.now() - t0;
        if (--outstanding === 0) allAnswered();
      };
      for (let i = 0; i < RATE; i++) {
        const wait = start + (i * 1000) / RATE - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        outstanding++;
        raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bodies[i % bodies.length], answered(performance.now()));
      }
      if (outstanding > 0) await new Promise<void>((r) => (allAnswered = r));
      elapsed.set(pipeline, (elapsed.get(pipeline) ?? 0) + performance.now() - start);
    }
  }
  if (failed) throw failed;
  const batch = Array.from({ length: 1000 }, (_, i) => input[i % input.length]);
  const columns = ['temp_max', 'temp_min', 'wind'] as const;
  const values = batch.flatMap((r) => columns.map((c) => r[c]));
  const structMs = new Map(pipelines.map((p) => [p, 0]));
  const columnarMs = new Map(pipelines.map((p) => [p, 0]));
  for (let chunk = 0; chunk < BATCHES / 10; chunk++) {
    for (const pipeline of pipelines) {
      const b0 = performance.now();
      for (let i = 0; i < 10; i++) await client.predict({ pipeline, rows: batch });
      const c0 = performance.now();
      // The columnar fast path: column names + packed doubles in, packed answers out.
      for (let i = 0; i < 10; i++) await client.predict({ pipeline, columns: [...columns], values });
      structMs.set(pipeline, (structMs.get(pipeline) ?? 0) + c0 - b0);
      columnarMs.set(pipeline, (columnarMs.get(pipeline) ?? 0) + performance.now() - c0);
    }
  }
  client.close();
  raw.close();
  const perSecond = (ms: number) => Math.round((BATCHES * 1000) / (ms / 1000));
  return Object.fromEntries(
    pipelines.map((p) => {
      const l = Array.from(latencies.get(p)?.ms.subarray(0, latencies.get(p)?.n) ?? []);
      return [p, { singleRow: { rate: Math.round(l.length / ((elapsed.get(p) ?? 1) / 1000)), p50: pct(l, 50), p99: pct(l, 99) }, batchRowsPerSecond: perSecond(structMs.get(p) ?? 1), batchColumnarRowsPerSecond: perSecond(columnarMs.get(p) ?? 1) }];
    }),
  );
}

if (process.argv[2] === '--client') {
  const [address, ...pipelines] = process.argv.slice(3);
  // The parent empties the prediction log first, so the runs start from the same table.
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send?.('reset');
  });
  process.stdout.write(JSON.stringify(await measure(address, pipelines)));
  process.disconnect?.();
  process.exit(0);
}

function runClient(address: string, pipelines: string[], reset: () => Promise<void>): Promise<Record<string, Measured>> {
  const child = spawn(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', fileURLToPath(import.meta.url), '--client', address, ...pipelines], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  child.on('message', () => void reset().then(() => child.send('ready')));
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(text) as Record<string, Measured>) : reject(new Error(`bench client exited with ${code}`)))));
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
  const measured = await runClient(address, [SINGLE, CANARY], reset);
  await reset();
  const one = measured[SINGLE];
  const two = measured[CANARY];
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

  const result = {
    bench: 'serve',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, loadAverage: loadavg()[0] },
    client: 'child process (its protobuf encode/decode does not run on the deployer thread)',
    oneModel: one,
    canary50: two,
    canaryCost: ratio,
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
