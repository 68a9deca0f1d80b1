// bench/serve, three times in a row: min / median / max of each headline number, and what else ran
// on the machine (load average before and after each run). One run of bench/serve cannot tell a
// regression from noise on a shared two-core machine; three, with their spread, can say which.
// Each run is a fresh process in a fresh namespace (bench/serve makes one and drops it).
// Run: node --conditions=@refit/source --import tsx bench/serve-repeat.ts   (BENCH_SERVE_RUNS=3)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@refit/stack';

const RUNS = Number(process.env.BENCH_SERVE_RUNS ?? 3);
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 20) throw new Error(`BENCH_SERVE_RUNS=${process.env.BENCH_SERVE_RUNS}: expected an integer from 1 to 20`);

type Single = { rate: number; p50: number; p99: number };
type ServeResult = {
  oneModel: { singleRow: Single; batchRowsPerSecond: number; batchColumnarRowsPerSecond: number };
  canary50: { singleRow: Single; batchRowsPerSecond: number; batchColumnarRowsPerSecond: number };
  singleRowCCoreClient: Record<string, Single> | null;
  predictionsLogged: number;
};

/** The numbers issue 22 sets targets on, read from one run's bench/results/serve.json. */
function headline(r: ServeResult): Record<string, number> {
  const out: Record<string, number> = {
    'node client, one model, p99 ms': r.oneModel.singleRow.p99,
    'node client, one model, p50 ms': r.oneModel.singleRow.p50,
    'columnar batches, rows/s': r.oneModel.batchColumnarRowsPerSecond,
    'Struct batches, rows/s': r.oneModel.batchRowsPerSecond,
    'canary 50 %, columnar rows/s': r.canary50.batchColumnarRowsPerSecond,
  };
  const c = r.singleRowCCoreClient;
  if (c) {
    const one = c['weather-rain'] ?? Object.values(c)[0];
    const canary = c['weather-rain-canary'];
    out['C-core client, one model, p99 ms'] = one.p99;
    out['C-core client, one model, p50 ms'] = one.p50;
    if (canary) {
      out['C-core client, canary 50 %, p99 ms'] = canary.p99;
      out['C-core canary / one model, p99'] = canary.p99 / one.p99;
    }
  }
  return out;
}

const runs: Array<{ loadBefore: number[]; loadAfter: number[]; numbers: Record<string, number> }> = [];
for (let i = 1; i <= RUNS; i++) {
  const loadBefore = loadavg();
  console.log(`\n== run ${i} of ${RUNS} (load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')})`);
  const r = spawnSync(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', join(REPO_ROOT, 'bench/serve.ts')], { cwd: REPO_ROOT, stdio: 'inherit', env: process.env });
  if (r.status !== 0) throw new Error(`bench/serve run ${i} failed (exit ${r.status ?? r.signal})`);
  const result = JSON.parse(readFileSync(join(REPO_ROOT, 'bench/results/serve.json'), 'utf8')) as ServeResult;
  runs.push({ loadBefore, loadAfter: loadavg(), numbers: headline(result) });
}

const names = [...new Set(runs.flatMap((r) => Object.keys(r.numbers)))];
const spread = Object.fromEntries(
  names.map((name) => {
    const v = runs.map((r) => r.numbers[name]).filter((x) => x !== undefined).sort((a, b) => a - b);
    return [name, { min: v[0], median: v[Math.floor((v.length - 1) / 2)], max: v[v.length - 1], runs: v.length }];
  }),
);
const fmt = (x: number) => (x >= 1000 ? Math.round(x).toLocaleString('en') : x.toFixed(2));
console.log(`\n${RUNS} runs of bench/serve: min / median / max`);
for (const [name, s] of Object.entries(spread)) console.log(`  ${name.padEnd(38)} ${fmt(s.min).padStart(9)} ${fmt(s.median).padStart(9)} ${fmt(s.max).padStart(9)}`);
console.log(`  load average (1 min) before each run: ${runs.map((r) => r.loadBefore[0].toFixed(2)).join(', ')}; after: ${runs.map((r) => r.loadAfter[0].toFixed(2)).join(', ')}`);
writeFileSync(
  join(REPO_ROOT, 'bench/results/serve-repeat.json'),
  `${JSON.stringify({ bench: 'serve-repeat', date: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, runs, spread, targets: { 'C-core client, one model, p99 ms': { medianBelow: 5, maxBelow: 10 }, 'columnar batches, rows/s': { medianAtLeast: 150_000 }, 'C-core canary / one model, p99': { medianAtMost: 1.2 } } }, null, 2)}\n`,
);
console.log('saved bench/results/serve-repeat.json');
