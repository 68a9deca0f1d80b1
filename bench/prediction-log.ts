// What the prediction log costs the serving thread and how fast its writer thread empties it.
// Run from the repo root: node --conditions=@refit/source --import tsx bench/prediction-log.ts
// Three runs, each in a fresh namespace: 300,000 predictions handed to the log in calls of 1,000
// rows as fast as the serving thread can (no Predict, no network: only the log), then waited for.
// Prints and saves (bench/results/prediction-log.json) min / median / max of: the serving
// thread's cost per row (`add`, the columns it builds and the hand-off to the writer), the rows
// per second the writer thread sustains into Postgres, and the rows dropped (target 0: the bound,
// REFIT_PREDICTION_LOG_MAX_QUEUED, is raised here to hold the whole burst, so a drop would be a
// defect, not back-pressure), plus the load average before and after.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@refit/stack';
import { createTestEnv, serviceEnv, startTestRuntime } from '@refit/testing';
import { loadConfig } from '../services/deployer/src/config.js';
import { PredictionLog, type LoggedPrediction } from '../services/deployer/src/prediction-log.js';
import { spreadOf } from './spread.js';

const RUNS = 3;
const ROWS = 300_000;
const CALL = 1_000;

type Run = { addNsPerRow: number; writtenRowsPerSecond: number; dropped: number; seconds: number };

async function once(): Promise<Run> {
  const env = await createTestEnv({ name: 'bench-prediction-log' });
  const rt = await startTestRuntime(loadConfig(serviceEnv(env.env)), join(REPO_ROOT, 'services/deployer/src/migrations'));
  try {
    const log = new PredictionLog({ db: { url: rt.config.pgUrl, schema: rt.config.pgSchema }, logger: rt.logger, maxQueued: ROWS });
    // Calls as Predict makes them: a canary splits a call, a shadow scores every row.
    const calls = Array.from({ length: ROWS / CALL }, (_, c): LoggedPrediction[] => {
      const at = new Date();
      return Array.from({ length: CALL }, (_, i) => ({
        id: randomUUID(),
        pipeline: 'bench',
        version: i % 2 ? 'v7' : 'v8',
        variant: i % 2 ? 'champion' : 'canary',
        probability: ((c * CALL + i) % 997) / 997,
        latencyMs: 0.05,
        at,
        threshold: 0.5,
        championProbability: i % 2 ? undefined : 0.4,
        championThreshold: i % 2 ? undefined : 0.5,
      }));
    });
    const t0 = performance.now();
    let addMs = 0;
    for (const rows of calls) {
      const a = performance.now();
      log.add(rows);
      addMs += performance.now() - a;
      // Let the timer and the writer's replies run between calls, as between Predict calls.
      await new Promise((r) => setImmediate(r));
    }
    await log.flush();
    const seconds = (performance.now() - t0) / 1000;
    const s = log.stats();
    await log.close();
    const stored = Number((await rt.pool.query<{ n: string }>('select count(*) as n from predictions')).rows[0].n);
    if (stored !== s.written) throw new Error(`the log says ${s.written} rows were written, Postgres has ${stored}`);
    return { addNsPerRow: (addMs * 1e6) / ROWS, writtenRowsPerSecond: s.written / seconds, dropped: s.dropped, seconds };
  } finally {
    await rt.close();
    await env.cleanup();
  }
}

const runs: Array<Run & { loadBefore: number[]; loadAfter: number[] }> = [];
for (let i = 0; i < RUNS; i++) {
  const loadBefore = loadavg();
  const r = await once();
  runs.push({ ...r, loadBefore, loadAfter: loadavg() });
  console.log(`run ${i + 1}: add ${r.addNsPerRow.toFixed(0)} ns/row on the serving thread; ${Math.round(r.writtenRowsPerSecond).toLocaleString('en')} rows/s written; ${r.dropped} dropped; load ${loadBefore.map((l) => l.toFixed(1)).join(' ')}`);
}
const spread = (k: keyof Run) => spreadOf(runs.map((r) => r[k]));
const result = {
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model },
  rows: ROWS,
  rowsPerCall: CALL,
  addNsPerRow: spread('addNsPerRow'),
  writtenRowsPerSecond: spread('writtenRowsPerSecond'),
  dropped: spread('dropped'),
  runs,
};
console.log(`serving thread: ${result.addNsPerRow.median.toFixed(0)} ns a row (min ${result.addNsPerRow.min.toFixed(0)}, max ${result.addNsPerRow.max.toFixed(0)}); writer: ${Math.round(result.writtenRowsPerSecond.median).toLocaleString('en')} rows/s (min ${Math.round(result.writtenRowsPerSecond.min).toLocaleString('en')}, max ${Math.round(result.writtenRowsPerSecond.max).toLocaleString('en')}); dropped ${result.dropped.max}`);
mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench/results/prediction-log.json'), JSON.stringify(result, null, 2) + '\n');
console.log('saved bench/results/prediction-log.json');
