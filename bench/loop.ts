// bench/loop: the manual-trigger cycle on the Seattle data, five times. Prints and saves the
// median trigger-to-serving time, each stage's own compute time and the orchestration overhead.
// Run: npm run bench:loop
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, waitForRun } from '@refit/cli';
import * as cmd from '@refit/cli';
import { RunStatus } from '@refit/contracts';
import { REPO_ROOT, resetNamespace, startStack, writeWeatherSlice } from '@refit/stack';

const CYCLES = Number(process.env.BENCH_CYCLES ?? 5);
const env = { REFIT_SCHEMA_PREFIX: 'refit_bench_', REFIT_STREAM: 'REFIT_BENCH', REFIT_SUBJECT_PREFIX: 'refitbench', REFIT_S3_BUCKET: 'refit-bench', REFIT_LOG_LEVEL: 'warn' };
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

await resetNamespace({ pgUrl: process.env.REFIT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/refit', schemaPrefix: env.REFIT_SCHEMA_PREFIX, natsUrl: process.env.REFIT_NATS_URL ?? 'nats://127.0.0.1:4222', stream: env.REFIT_STREAM });
const stack = await startStack({ env, workDir: join(REPO_ROOT, '.refit', 'bench') });
try {
  const c = connect(stack.env);
  const quiet = { json: true, progress: false, out: () => undefined, err: () => undefined };
  // The example spec, except that a retrain on the same data must only be shown not worse, and
  // each cycle's spec has its own small L2 (applied before the clock starts): the evaluator
  // refuses a candidate that is the champion's own bytes, so every cycle trains a new model and
  // goes all the way to serving.
  const spec = parseYaml(readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8')) as { gates: Record<string, unknown>; model: Record<string, unknown> };
  spec.gates.champion = { metric: 'auc', margin: 0.03 };
  const specFile = join(mkdtempSync(join(tmpdir(), 'refit-bench-spec-')), 'loop.yaml');
  const applyCycle = async (i: number) => {
    spec.model.l2 = 0.001 * (i + 1);
    writeFileSync(specFile, stringifyYaml(spec));
    await cmd.pipelineApply(c, quiet, specFile);
  };
  await applyCycle(0);
  const csv = join(mkdtempSync(join(tmpdir(), 'refit-bench-')), 'seattle.csv');
  writeWeatherSlice(csv, 'Seattle', 2012, 2015);
  await cmd.dataPush(c, quiet, 'weather-rain', csv);

  const cycles: Array<{ totalMs: number; stages: Record<string, number>; computeMs: number; overheadMs: number }> = [];
  for (let i = 0; i < CYCLES; i++) {
    if (i > 0) await applyCycle(i);
    const t0 = performance.now();
    const { run } = await c.trigger.triggerRun({ pipeline: 'weather-rain', reason: `bench cycle ${i + 1}` });
    const done = await waitForRun(c, run?.runId ?? '', { timeoutMs: 120_000, pollMs: 5 });
    const totalMs = performance.now() - t0;
    if (done.status !== RunStatus.SUCCEEDED || done.outcome !== 'promoted') throw new Error(`cycle ${i + 1}: run ${done.runId} ended ${done.outcome || RunStatus[done.status]}: ${done.failureReason}`);
    const stages = Object.fromEntries(done.stages.map((s) => [s.stage, Number(s.computeMs)]));
    const computeMs = Object.values(stages).reduce((a, b) => a + b, 0);
    cycles.push({ totalMs, stages, computeMs, overheadMs: totalMs - computeMs });
    console.log(`cycle ${i + 1}: trigger→serving ${totalMs.toFixed(0)} ms, stages' compute ${computeMs} ms, overhead ${(totalMs - computeMs).toFixed(0)} ms  ${JSON.stringify(stages)}`);
  }
  const stageNames = Object.keys(cycles[0].stages);
  const result = {
    bench: 'loop',
    date: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    rows: 1461,
    cycles: CYCLES,
    medianTriggerToServingMs: Math.round(median(cycles.map((c) => c.totalMs))),
    medianComputeMsByStage: Object.fromEntries(stageNames.map((s) => [s, median(cycles.map((c) => c.stages[s]))])),
    medianComputeMs: median(cycles.map((c) => c.computeMs)),
    medianOverheadMs: Math.round(median(cycles.map((c) => c.overheadMs))),
    targets: { triggerToServingMs: 1000, overheadMs: 500 },
    raw: cycles,
  };
  console.log('\nmedian over', CYCLES, 'cycles');
  console.log(`  trigger→serving  ${result.medianTriggerToServingMs} ms   (target < 1000)`);
  for (const s of stageNames) console.log(`  ${s.padEnd(16)} ${result.medianComputeMsByStage[s]} ms compute`);
  console.log(`  orchestration    ${result.medianOverheadMs} ms   (target < 500)`);
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/loop.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('saved bench/results/loop.json');
} finally {
  await stack.stop();
}
