// A benchmark three times in a row: min / median / max of each headline number, and what else ran
// on the machine (load average before and after each run). One run cannot tell a regression from
// noise on a shared two-core machine; three, with their spread, can say which.
// Each run is a fresh process in a fresh namespace (the benches make one and drop it).
// Run: node --conditions=@refit/source --import tsx bench/repeat.ts serve|loop   (BENCH_REPEAT_RUNS=3)
// Saves bench/results/<bench>-repeat.json.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@refit/stack';
import { spreadOf } from './spread.js';

type Single = { rate: number; p50: number; p99: number };
type ServeResult = {
  oneModel: { singleRow: Single; batchRowsPerSecond: number; batchColumnarRowsPerSecond: number };
  canary50: { singleRow: Single; batchRowsPerSecond: number; batchColumnarRowsPerSecond: number };
  singleRowCCoreClient: Record<string, Single> | null;
  predictionsDropped?: number;
  deployerPeakMemory?: { rssMb: number; heapUsedMb: number };
};
type LoopResult = { medianTriggerToServingMs: number; medianComputeMs: number; medianOverheadMs: number; medianComputeMsByStage: Record<string, number> };

/** The numbers issue 22 sets targets on, read from one run's results file. */
const BENCHES = {
  serve: {
    targets: { 'C-core client, one model, p99 ms': { medianBelow: 5, maxBelow: 10 }, 'columnar batches, rows/s': { medianAtLeast: 150_000 }, 'C-core canary / one model, p99': { medianAtMost: 1.2 } },
    headline(r: ServeResult): Record<string, number> {
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
      if (r.predictionsDropped !== undefined) out['prediction log, rows dropped'] = r.predictionsDropped;
      if (r.deployerPeakMemory) out['deployer process peak RSS, MB'] = r.deployerPeakMemory.rssMb;
      return out;
    },
  },
  loop: {
    targets: { 'trigger to serving, median ms': { medianBelow: 1000 } },
    headline(r: LoopResult): Record<string, number> {
      return {
        'trigger to serving, median ms': r.medianTriggerToServingMs,
        'compute, median ms': r.medianComputeMs,
        'orchestration, median ms': r.medianOverheadMs,
        'trainer, median ms': r.medianComputeMsByStage.trainer,
      };
    },
  },
};

const bench = process.argv[2] as keyof typeof BENCHES;
if (!(bench in BENCHES)) throw new Error(`usage: bench/repeat.ts ${Object.keys(BENCHES).join('|')}`);
const RUNS = Number(process.env.BENCH_REPEAT_RUNS ?? 3);
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 20) throw new Error(`BENCH_REPEAT_RUNS=${process.env.BENCH_REPEAT_RUNS}: expected an integer from 1 to 20`);
const { headline, targets } = BENCHES[bench] as { headline: (r: never) => Record<string, number>; targets: unknown };

const runs: Array<{ loadBefore: number[]; loadAfter: number[]; numbers: Record<string, number> }> = [];
for (let i = 1; i <= RUNS; i++) {
  const loadBefore = loadavg();
  console.log(`\n== ${bench}: run ${i} of ${RUNS} (load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')})`);
  const r = spawnSync(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', join(REPO_ROOT, `bench/${bench}.ts`)], { cwd: REPO_ROOT, stdio: 'inherit', env: process.env });
  if (r.status !== 0) throw new Error(`bench/${bench} run ${i} failed (exit ${r.status ?? r.signal})`);
  const result = JSON.parse(readFileSync(join(REPO_ROOT, `bench/results/${bench}.json`), 'utf8')) as never;
  runs.push({ loadBefore, loadAfter: loadavg(), numbers: headline(result) });
}

const names = [...new Set(runs.flatMap((r) => Object.keys(r.numbers)))];
const spread = Object.fromEntries(
  names.map((name) => {
    const v = runs.map((r) => r.numbers[name]).filter((x) => x !== undefined);
    return [name, { ...spreadOf(v), runs: v.length }];
  }),
);
const fmt = (x: number) => (x >= 1000 ? Math.round(x).toLocaleString('en') : x.toFixed(2));
console.log(`\n${RUNS} runs of bench/${bench}: min / median / max`);
for (const [name, s] of Object.entries(spread)) console.log(`  ${name.padEnd(38)} ${fmt(s.min).padStart(9)} ${fmt(s.median).padStart(9)} ${fmt(s.max).padStart(9)}`);
console.log(`  load average (1 min) before each run: ${runs.map((r) => r.loadBefore[0].toFixed(2)).join(', ')}; after: ${runs.map((r) => r.loadAfter[0].toFixed(2)).join(', ')}`);
const file = `bench/results/${bench}-repeat.json`;
writeFileSync(join(REPO_ROOT, file), `${JSON.stringify({ bench: `${bench}-repeat`, date: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, runs, spread, targets }, null, 2)}\n`);
console.log(`saved ${file}`);
