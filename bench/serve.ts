// bench/serve: Predict latency and throughput of the deployer, over gRPC on loopback, with the
// prediction log on. Single rows at a fixed rate (p50/p99), then batches of 1,000 rows.
// Runs the deployer in-process against the real Postgres and NATS, in its own namespace.
// Run: node --conditions=@refit/source --import tsx bench/serve.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { DeployerService } from '@refit/contracts';
import { fitTransform, applyTransform, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { REPO_ROOT, writeWeatherSlice } from '@refit/stack';
import { createTestEnv, serviceEnv, startTestRuntime } from '@refit/testing';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const env = await createTestEnv({ name: 'bench-serve' });
try {
  const config = loadConfig(serviceEnv(env.env, { REFIT_LOG_LEVEL: 'warn' }));
  const rt = await startTestRuntime(config, join(REPO_ROOT, 'services/deployer/src/migrations'));
  const transform = fitTransform(rows, spec.features);
  const t = applyTransform(transform, rows);
  const { model } = await trainModel({ X: t.X, y: labelsOf(rows, spec.label), n: t.n, d: t.d, spec: { kind: 'logistic', epochs: 5, seed: 1 } });
  const modelRef = await rt.store.put('bench/model.refitm', await model.serialize());
  model.dispose();
  const transformRef = await rt.store.put('bench/transform.json', serializeTransform(transform));
  await rt.pool.query('insert into deployments (pipeline, version, run_id, model_key, transform_key) values ($1, $2, $3, $4, $5)', [spec.name, 'v1', 'r-bench', modelRef.key, transformRef.key]);
  await startDeployerService(rt, config);
  const client = createClient(DeployerService, rt.server?.address ?? '');
  const input = rows.map((r) => ({ temp_max: r.temp_max as number, temp_min: r.temp_min as number, wind: r.wind as number }));
  for (let i = 0; i < 200; i++) await client.predict({ pipeline: spec.name, rows: [input[i % input.length]] }); // warm-up

  // Single rows at a fixed rate: latency seen by the client.
  const latencies: number[] = [];
  const total = RATE * SECONDS;
  const start = performance.now();
  const inflight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    inflight.push(client.predict({ pipeline: spec.name, rows: [input[i % input.length]] }).then(() => void latencies.push(performance.now() - t0)));
  }
  await Promise.all(inflight);
  const achieved = total / ((performance.now() - start) / 1000);
  const single = { rate: Math.round(achieved), p50: pct(latencies, 50), p99: pct(latencies, 99) };
  console.log(`single row at ${single.rate}/s: p50 ${single.p50.toFixed(2)} ms, p99 ${single.p99.toFixed(2)} ms (target p99 < 5 ms at 500/s)`);

  // Batches of 1,000 rows, back to back.
  const batch = Array.from({ length: 1000 }, (_, i) => input[i % input.length]);
  const b0 = performance.now();
  for (let i = 0; i < BATCHES; i++) await client.predict({ pipeline: spec.name, rows: batch });
  const rowsPerSecond = Math.round((BATCHES * 1000) / ((performance.now() - b0) / 1000));
  console.log(`batches of 1,000 rows: ${rowsPerSecond} rows/s (target >= 100,000)`);
  const logged = (await rt.pool.query<{ n: string }>('select count(*) as n from predictions')).rows[0].n;
  console.log(`prediction log: ${logged} rows written`);

  const result = {
    bench: 'serve',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, loadAverage: loadavg()[0] },
    singleRow: single,
    batchRowsPerSecond: rowsPerSecond,
    predictionsLogged: Number(logged),
    notMeasuredYet: 'canary routing (no canary strategy yet)',
    targets: { singleRowP99Ms: 5, singleRowRate: 500, batchRowsPerSecond: 100000 },
  };
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/serve.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('saved bench/results/serve.json');
  client.close();
  await rt.close();
} finally {
  await env.cleanup();
}
