import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Run } from '@refit/contracts';
import { auditProblems, processName, waitRunEnds, writeWeatherSlice } from '@refit/stack';
import { championChanges, swapLatencies, watchChampions, type ChampionWatch } from './champion-watch.js';
import { applySpec, createdAt, finishedAt, push, restartsOf, settle, trigger, type Harness } from './harness.js';
import { runProblems, summarizeRun } from './result.js';
import { downAtEnd } from './run-fault.js';
import { WORKLOADS } from './scenarios.js';

/** The demo's data: Seattle 2012–2013 for the first model, New York 2012–2014 for the retrain. */
export function demoData(): { seattle: string; newYork: string } {
  const dir = mkdtempSync(join(tmpdir(), 'refit-chaos-demo-'));
  const seattle = join(dir, 'seattle-2012-2013.csv');
  const newYork = join(dir, 'new-york-2012-2014.csv');
  writeWeatherSlice(seattle, 'Seattle', 2012, 2013);
  writeWeatherSlice(newYork, 'New York', 2012, 2014);
  return { seattle, newYork };
}

/** How long a deployer may take to serve a new champion after alias.changed. */
export const SWAP_LIMIT_MS = 1000;

/** One cycle of the demo loop: push, trigger, wait; `during` runs after the trigger (a fault). */
export async function cycle(h: Harness, label: string, file: string, during?: (runId: string) => Promise<void>): Promise<{ label: string; run: Run | undefined; problems: string[] }> {
  const pipeline = WORKLOADS.rain.pipeline;
  await push(h, pipeline, file);
  const runId = await trigger(h, pipeline, `chaos: ${label}`);
  h.say(`${label}: run ${runId} triggered`);
  await during?.(runId);
  const problems: string[] = [];
  const run = await waitRunEnds(h.c, runId, { timeoutMs: 10 * 60_000 }).catch((err: unknown) => {
    problems.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  });
  problems.push(...runProblems(run, label));
  if (run) h.say(`${label}: run ${runLine(run)}`);
  return { label, run, problems };
}

const runLine = (run: Run): string => `${run.runId} ${run.outcome || run.failureReason} ${run.modelVersion} in ${((finishedAt(run) - createdAt(run)) / 1000).toFixed(1)} s`;

/**
 * After the last run: waits (at most 5 s) until every deployer process serves the champion, then
 * measures, for each champion change, how long after its alias.changed each process first served
 * it; a process slower than {@link SWAP_LIMIT_MS} or that never did is a problem.
 */
export async function championSwaps(h: Harness, watch: ChampionWatch, finalVersion: string): Promise<{ latencies: Record<string, Record<string, number | null>>; problems: string[] }> {
  await watch.waitAll(finalVersion, 5000);
  const processes = h.stack.replicaAddresses.deployer.map((_, r) => processName('deployer', r));
  const latencies = swapLatencies(watch, await championChanges(h, WORKLOADS.rain.pipeline), processes);
  const problems: string[] = [];
  for (const [version, byProcess] of Object.entries(latencies)) {
    for (const [p, ms] of Object.entries(byProcess)) {
      if (ms === null) problems.push(`${p} never served ${version} after its alias.changed (it serves ${watch.serving.get(p) ?? 'nothing'})`);
      else if (ms > SWAP_LIMIT_MS) problems.push(`${p} served ${version} ${ms} ms after its alias.changed (limit ${SWAP_LIMIT_MS} ms)`);
    }
  }
  return { latencies, problems };
}

/** The checks every replica scenario ends with: quiet namespace, each event handled once, everyone up. */
export async function finalChecks(h: Harness): Promise<string[]> {
  await settle(h);
  return [...auditProblems(await h.audit()), ...downAtEnd(h.stack)];
}

/** The demo loop (Seattle → v1, New York → v2) with `replicas` processes of every service. */
export async function runLoop(h: Harness, replicas: number): Promise<{ metrics: Record<string, unknown>; problems: string[]; runs: ReturnType<typeof summarizeRun>[]; restarts: Record<string, number> }> {
  const data = demoData();
  const watch = watchChampions(h, WORKLOADS.rain.pipeline);
  try {
    await applySpec(h, WORKLOADS.rain.specYaml());
    const first = await cycle(h, 'first model', data.seattle);
    const second = await cycle(h, 'location shift', data.newYork);
    const swaps = await championSwaps(h, watch, 'v2');
    const runs = [first.run, second.run].filter((r): r is Run => r !== undefined).map(summarizeRun);
    const problems = [...first.problems, ...second.problems, ...swaps.problems, ...(await finalChecks(h))];
    return { metrics: { replicas, runMs: runs.map((r) => r.durationMs), loopMs: runs.reduce((n, r) => n + r.durationMs, 0), championSwapMs: swaps.latencies }, problems, runs, restarts: restartsOf(h.stack) };
  } finally {
    await watch.stop();
  }
}
