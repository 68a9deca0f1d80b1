// bench/serve-metrics: the cost of Prometheus metrics on Predict. Two deployer replicas run in this
// process against the real Postgres and NATS (one namespace, one model): one with
// REFIT_METRICS_PORT set — gRPC calls, Predict requests/rows/latency by version and variant
// counted, the process and Node defaults sampled, and /metrics scraped every BENCH_SCRAPE_MS — and one
// without. The client (bench/serve-client.ts, in a child process) measures both interleaved in the
// same run: single rows at a fixed rate (p50/p99), then batches of 1,000 rows.
// Both replicas share this process, so what metrics cost per call shows; the scrapes and the
// runtime sampling land on both lanes alike (they are per process, and rare: every 15-60 s in practice).
// Run: node --conditions=@refit/source --import tsx bench/serve-metrics.ts
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fitTransform, applyTransform, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import type { ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { REPO_ROOT, writeWeatherSlice } from '@refit/stack';
import { createTestEnv, freePort, metricValue, scrapeMetrics, serviceEnv, startTestRuntime } from '@refit/testing';
import { loadConfig } from '../services/deployer/src/config.js';
import { startDeployerService } from '../services/deployer/src/service.js';
import type { ClientReport, Lane, Measured } from './serve-client.js';
import { formatRatio, tailRatio } from './tail-ratio.js';

const spec = parseSpec(readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8'));
const rows = writeWeatherSlice(join(tmpdir(), 'refit-bench-serve-metrics.csv'), 'Seattle', 2012, 2015).map(
  (r) => ({ ...r, precipitation: Number(r.precipitation), temp_max: Number(r.temp_max), temp_min: Number(r.temp_min), wind: Number(r.wind) }) as RawRow,
);
const input = rows.map((r) => ({ temp_max: r.temp_max as number, temp_min: r.temp_min as number, wind: r.wind as number }));

function runClient(lanes: Lane[], reset: () => Promise<void>): Promise<ClientReport> {
  const inputs = join(tmpdir(), 'refit-bench-serve-metrics-inputs.json');
  writeFileSync(inputs, JSON.stringify(input));
  const lanesFile = join(tmpdir(), 'refit-bench-serve-metrics-lanes.json');
  writeFileSync(lanesFile, JSON.stringify(lanes));
  const client = fileURLToPath(new URL('./serve-client.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', client, inputs, lanesFile], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let report: ClientReport | undefined;
  child.on('message', (m) => {
    if (typeof m === 'object' && m !== null && 'report' in m) report = (m as { report: ClientReport }).report;
    else if (m === 'reset') void reset().then(() => child.send('ready'));
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 && report ? resolve(report) : reject(new Error(`bench client exited with ${code}${report ? '' : ' without a report'}`)))),
  );
}

const PIPELINE = spec.name;
const ON = 'metrics on';
const OFF = 'metrics off';
const env = await createTestEnv({ name: 'bench-serve-metrics' });
const runtimes: ServiceRuntime[] = [];
try {
  const metricsPort = await freePort();
  const configOf = (extra: Record<string, string>) => loadConfig(serviceEnv(env.env, { REFIT_LOG_LEVEL: 'warn', REFIT_ROLLOUT_TICK_MS: '3600000', ...extra }));
  const start = async (config: ReturnType<typeof configOf>): Promise<ServiceRuntime> => {
    const rt = await startTestRuntime(config, join(REPO_ROOT, 'services/deployer/src/migrations'));
    runtimes.push(rt);
    return rt;
  };
  const onConfig = configOf({ REFIT_METRICS_PORT: String(metricsPort) });
  const offConfig = configOf({});
  const on = await start(onConfig);
  const transform = fitTransform(rows, spec.features);
  const t = applyTransform(transform, rows);
  const transformRef = await on.store.put('bench/transform.json', serializeTransform(transform));
  const { model } = await trainModel({ X: t.X, y: labelsOf(rows, spec.label), n: t.n, d: t.d, spec: { kind: 'logistic', epochs: 5, seed: 1 } });
  const modelRef = await on.store.put('bench/model.refitm', await model.serialize());
  model.dispose();
  await on.pool.query('insert into deployments (pipeline, version, run_id, model_key, transform_key) values ($1, $2, $3, $4, $5)', [PIPELINE, 'v1', 'r-bench', modelRef.key, transformRef.key]);
  await startDeployerService(on, onConfig);
  const off = await start(offConfig);
  await startDeployerService(off, offConfig);

  // Prometheus' part: a scrape every BENCH_SCRAPE_MS (default 15 s, a common scrape interval) while the client runs.
  const scrapeMs = Number(process.env.BENCH_SCRAPE_MS ?? 15_000);
  let scrapes = 0;
  let slowestScrapeMs = 0;
  const scraper = setInterval(() => {
    const started = performance.now();
    scrapeMetrics(metricsPort).then(
      () => {
        scrapes++;
        slowestScrapeMs = Math.max(slowestScrapeMs, performance.now() - started);
      },
      (err: unknown) => console.error('scrape failed', err),
    );
  }, scrapeMs);
  const lanes: Lane[] = [
    { label: ON, address: on.server?.address ?? '', pipeline: PIPELINE },
    { label: OFF, address: off.server?.address ?? '', pipeline: PIPELINE },
  ];
  const reset = async () => {
    await new Promise((r) => setTimeout(r, 1500));
    await on.pool.query('truncate predictions');
  };
  const report = await runClient(lanes, reset);
  clearInterval(scraper);
  const counted = metricValue(await scrapeMetrics(metricsPort), 'refit_predict_requests_total', { pipeline: PIPELINE });
  const m = report.pipelines[ON];
  const o = report.pipelines[OFF];
  for (const [name, x] of [[ON, m], [OFF, o]] as const) {
    console.log(`${name.padEnd(11)} single row at ${x.singleRow.rate}/s: p50 ${x.singleRow.p50.toFixed(2)} ms, p99 ${x.singleRow.p99.toFixed(2)} ms; batches of 1,000 rows: ${x.batchRowsPerSecond} rows/s (Struct), ${x.batchColumnarRowsPerSecond} rows/s (columnar)`);
  }
  const p99 = tailRatio(m.samples, o.samples, { q: 99 });
  const p50 = tailRatio(m.samples, o.samples, { q: 50 });
  const cost = { p50: p50.ratio, p50Ci95: p50.ci95, p99: p99.ratio, p99Ci95: p99.ci95, batch: o.batchRowsPerSecond / m.batchRowsPerSecond, batchColumnar: o.batchColumnarRowsPerSecond / m.batchColumnarRowsPerSecond };
  console.log(`metrics cost (on vs off, same run): p50 ${formatRatio(p50)}, p99 ${formatRatio(p99)} (target ≤ 1.1), batch time ×${cost.batch.toFixed(2)} (Struct), ×${cost.batchColumnar.toFixed(2)} (columnar); ${scrapes} scrapes every ${scrapeMs} ms (slowest ${slowestScrapeMs.toFixed(1)} ms), ${counted} Predict calls counted`);
  const summary = ({ samples: _samples, ...rest }: Measured) => rest;
  const result = {
    bench: 'serve-metrics',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, loadAverage: loadavg()[0] },
    client: 'child process (bench/serve-client.ts), lanes interleaved',
    metricsOn: summary(m),
    metricsOff: summary(o),
    metricsCost: cost,
    scrapes: { everyMs: scrapeMs, count: scrapes, slowestMs: Math.round(slowestScrapeMs * 10) / 10 },
    predictCallsCounted: counted,
    targets: { metricsLatencyRatioP99: 1.1 },
    method: 'p50/p99 ratios with 95 % block-bootstrap intervals over the interleaved slices (bench/tail-ratio.ts)',
  };
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/serve-metrics.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('saved bench/results/serve-metrics.json');
} finally {
  for (const rt of runtimes) await rt.close();
  await env.cleanup();
}
