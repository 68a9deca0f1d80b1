// bench/console: how fast the web console's pages are for a pipeline with a long history.
// Starts the seven services as processes (TLS and tokens on, as in production) in their own
// namespace on the real Postgres, NATS and S3, runs the demo's two real cycles on weather-rain
// (Seattle, then the New York shift: evaluation reports with curves, drift, trials, a ledger),
// then copies rows until the pipeline has 1,000 runs and 100 model versions (bench/console-seed.ts),
// starts the console in-process and times every page, BENCH_LOADS times each (default 10):
// - server: a Node client's GET with an admin token, until the whole body is in (render time);
// - browser: Chromium (libs/testing launchBrowser) from navigation start to the load event, charts
//   drawn (the page script draws them before load), read from the page's Navigation Timing.
// Target: under 1 s per page. Prints p50/p95 and saves bench/results/console.json.
// Run: node --conditions=@refit/source --import tsx bench/console.ts
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, dataPush, waitForRun } from '@refit/cli';
import { RunStatus } from '@refit/contracts';
import { startConsole } from '@refit/console-service';
import { issueToken } from '@refit/platform';
import { DEFAULT_PG_URL, REPO_ROOT, startStack, stopStackAndClean, writeWeatherSlice } from '@refit/stack';
import { launchBrowser } from '@refit/testing';
import { seedHistory } from './console-seed.js';

const LOADS = Number(process.env.BENCH_LOADS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const VERSIONS = Number(process.env.BENCH_VERSIONS ?? 100);
const TARGET_MS = 1000;
const PIPELINE = 'weather-rain';
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (x: number) => Math.round(x * 10) / 10;

const id = randomBytes(3).toString('hex');
const env = { REFIT_SCHEMA_PREFIX: `benchui_${id}_`, REFIT_STREAM: `BENCHUI_${id}`, REFIT_SUBJECT_PREFIX: `benchui${id}`, REFIT_S3_BUCKET: `benchui-${id}`, REFIT_LOG_LEVEL: 'warn' };
const quiet = { json: true, progress: false, out: () => undefined, err: () => undefined };

const workDir = join(REPO_ROOT, '.refit', `bench-console-${id}`);
const stack = await startStack({ env, workDir, startTimeoutS: 180 });
try {
  const c = connect(stack.env);
  await c.trigger.applyPipeline({ specYaml: readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8') });
  const dir = mkdtempSync(join(tmpdir(), 'refit-bench-console-'));
  const real: string[] = [];
  for (const [location, from, to] of [['Seattle', 2012, 2013], ['New York', 2012, 2014]] as const) {
    const file = join(dir, `${location}.csv`);
    writeWeatherSlice(file, location, from, to);
    await dataPush(c, quiet, PIPELINE, file);
    const run = await waitForRun(c, (await c.trigger.triggerRun({ pipeline: PIPELINE, reason: `bench: ${location}` })).run?.runId ?? '', { timeoutMs: 300_000 });
    if (run.status !== RunStatus.SUCCEEDED) throw new Error(`run ${run.runId} did not succeed: ${run.failedStage} ${run.failureReason}`);
    real.push(run.runId);
  }
  const t0 = performance.now();
  const seeded = await seedHistory({ pgUrl: stack.env.REFIT_PG_URL ?? DEFAULT_PG_URL, schemaPrefix: env.REFIT_SCHEMA_PREFIX, pipeline: PIPELINE, templateRunId: real[1], runs: RUNS, versions: VERSIONS });
  console.log(`${PIPELINE}: ${seeded.runs} runs and ${seeded.versions} model versions (${seeded.runIds.length} runs copied in ${ms(performance.now() - t0)} ms)`);

  const web = await startConsole({ env: stack.env, config: { port: 0, logLevel: 'warn' } });
  const token = await issueToken({ privateKey: createPrivateKey(readFileSync(join(stack.credentials.dir, 'tokens', 'issuer.key'))), name: 'bench', roles: ['admin'], ttlSeconds: 3600 });
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addCookies([{ name: 'refit_token', value: token, url: web.url }]);
    const page = await context.newPage();
    const p = `/pipelines/${PIPELINE}`;
    const pages = ['/', p, `${p}?limit=500`, `/runs/${real[1]}`, `/runs/${seeded.runIds[500] ?? real[0]}`, `${p}/rollout`, `${p}/models`, `${p}/models?verify=1`, `${p}/drift`, `${p}/drift?source=training`];
    const results = [];
    for (const path of pages) {
      const server: number[] = [];
      const browserMs: number[] = [];
      let bytes = 0;
      for (let i = 0; i <= LOADS; i++) {
        // A live page polls its JSON once a second: leave it before the server is timed alone.
        await page.goto('about:blank');
        const s = performance.now();
        const r = await fetch(`${web.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        const body = await r.text();
        if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}: ${body.slice(0, 300)}`);
        const took = performance.now() - s;
        await page.goto(`${web.url}${path}`, { waitUntil: 'load' });
        // Navigation Timing, as a string: this project compiles without the DOM library.
        const loaded = Number(await page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; })()"));
        // The first load of each page warms the channels and the JIT: not counted.
        if (i === 0) continue;
        server.push(took);
        browserMs.push(loaded);
        bytes = body.length;
      }
      const row = { path, bytes, serverMs: { p50: ms(pct(server, 50)), p95: ms(pct(server, 95)) }, browserMs: { p50: ms(pct(browserMs, 50)), p95: ms(pct(browserMs, 95)) } };
      results.push(row);
      console.log(`${path.padEnd(48)} server p50 ${String(row.serverMs.p50).padStart(6)} ms, p95 ${String(row.serverMs.p95).padStart(6)} ms · loaded in Chromium p50 ${String(row.browserMs.p50).padStart(6)} ms, p95 ${String(row.browserMs.p95).padStart(6)} ms · ${(bytes / 1024).toFixed(0)} KiB`);
    }
    // The reads behind the heaviest pages, straight from the services (what the console waits for).
    const grpc: Record<string, { p50: number; p95: number }> = {};
    const reads: Record<string, () => Promise<unknown>> = {
      'TriggerService.ListRuns 51': () => c.trigger.listRuns({ pipeline: PIPELINE, limit: 51 }),
      'TriggerService.ListRuns 501': () => c.trigger.listRuns({ pipeline: PIPELINE, limit: 501 }),
      'RegistryService.ListModels': () => c.registry.listModels({ pipeline: PIPELINE }),
      'EvaluatorService.GetReport': () => c.evaluator.getReport({ runId: real[1] }),
    };
    for (const [name, read] of Object.entries(reads)) {
      const took: number[] = [];
      for (let i = 0; i <= LOADS; i++) {
        const s = performance.now();
        await read();
        if (i > 0) took.push(performance.now() - s);
      }
      grpc[name] = { p50: ms(pct(took, 50)), p95: ms(pct(took, 95)) };
      console.log(`${name.padEnd(48)} p50 ${String(grpc[name].p50).padStart(6)} ms, p95 ${String(grpc[name].p95).padStart(6)} ms`);
    }
    const worst = Math.max(...results.map((r) => r.browserMs.p95));
    console.log(`slowest page loaded at p95 in ${worst} ms (target < ${TARGET_MS} ms); load average ${loadavg()[0].toFixed(1)}`);
    const result = { bench: 'console', date: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, runs: seeded.runs, versions: seeded.versions, loads: LOADS, pages: results, grpcMs: grpc, loadAverage: loadavg()[0], targets: { pageMs: TARGET_MS } };
    mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'bench/results/console.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log('saved bench/results/console.json');
  } finally {
    await browser.close();
    await web.close();
  }
} finally {
  await stopStackAndClean(stack, env, workDir);
}
