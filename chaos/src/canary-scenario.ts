import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { processName, SERVICES, waitStageWorking, writeWeatherSlice } from '@refit/stack';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analysesPerTick, driveCanary, installRolloutProbe, waitAnalyses, waitRolloutActive, type Traffic } from './canary.js';
import { watchChampions, type ChampionWatch } from './champion-watch.js';
import { applySpec, restartsOf, waitExit, type Harness } from './harness.js';
import { championSwaps, cycle, demoData, finalChecks } from './replicas.js';
import { summarizeRun } from './result.js';
import { WORKLOADS } from './scenarios.js';

/** The deployer's analysis period in this scenario (the default 10 s would make the canary slow). */
export const CANARY_TICK_MS = 500;

/** The example spec with a canary rollout: half the traffic, then all of it, each step judged on accuracy. */
export function canarySpec(): string {
  const spec = parseYaml(WORKLOADS.rain.specYaml()) as Record<string, unknown>;
  spec.rollout = { strategy: 'canary', steps: [50, 100], minLabeled: 100, metric: 'accuracy', margin: 0.05, alpha: 0.05, holdMinutes: 10, onInconclusive: 'hold' };
  return stringifyYaml(spec);
}

/** New York 2014–2015 as live traffic with its true labels (the retrained model never saw 2015). */
function newYorkTraffic(): Traffic {
  const rows = writeWeatherSlice(join(mkdtempSync(join(tmpdir(), 'refit-chaos-traffic-')), 'ny.csv'), 'New York', 2014, 2015);
  return { rows: rows.map((r) => ({ temp_max: Number(r.temp_max), temp_min: Number(r.temp_min), wind: Number(r.wind) })), labels: rows.map((r) => (Number(r.precipitation) > 0 ? 1 : 0)) };
}

/**
 * kill -9 of one process of every service at once, from outside: replica 0, except for the
 * deployer the one that serves no champion if there is one (a restarted deployer restores what is
 * served from the database, so the canary can then start whichever deployer takes the request).
 */
async function killOneReplicaEach(h: Harness, watch: ChampionWatch): Promise<string[]> {
  const bare = h.stack.replicaAddresses.deployer.findIndex((_, r) => !watch.serving.has(processName('deployer', r)));
  const pids = SERVICES.map((s) => {
    const replica = s === 'deployer' && bare >= 0 ? bare : 0;
    return { name: processName(s, replica), pid: h.stack.pid(s, { replica }) };
  });
  const killed: string[] = [];
  for (const { name, pid } of pids) {
    if (pid === undefined) continue;
    process.kill(pid, 'SIGKILL');
    killed.push(`${name} (pid ${pid})`);
  }
  await Promise.all(pids.map(({ pid }) => (pid === undefined ? undefined : waitExit(h.stack, pid))));
  return killed;
}

/**
 * Two processes of every service run the demo loop with a canary rollout of the retrained model;
 * mid-way through the retrain (when training starts) one process of every service is killed with
 * kill -9 (see killOneReplicaEach). Checks: the run completes, each event is handled once, every deployer answers the
 * canary's weight, one analysis per tick, every deployer serves the new champion within 1 s.
 */
export async function runCanary(h: Harness): Promise<{ metrics: Record<string, unknown>; problems: string[]; runs: ReturnType<typeof summarizeRun>[]; restarts: Record<string, number>; notes: string[]; faultAt?: number }> {
  const { pipeline } = WORKLOADS.rain;
  const data = demoData();
  await installRolloutProbe(h);
  const watch = watchChampions(h, pipeline);
  const notes: string[] = [];
  const problems: string[] = [];
  let faultAt: number | undefined;
  try {
    await applySpec(h, canarySpec());
    const first = await cycle(h, 'first model', data.seattle);
    let canary: Awaited<ReturnType<typeof driveCanary>> | undefined;
    const second = await cycle(h, 'location shift (canary)', data.newYork, async (runId) => {
      await waitStageWorking(h.nc, { stream: h.ns.stream, service: 'trainer', timeoutMs: 180_000 });
      faultAt = Date.now();
      notes.push(`kill -9 of one replica of each service while training: ${(await killOneReplicaEach(h, watch)).join(', ')}`);
      const started = await waitRolloutActive(h, pipeline, runId, 300_000);
      if (!started.active) {
        problems.push(`the canary of the retrained model never became active: ${started.why}`);
        return;
      }
      // Before any traffic every analysis holds (no labels): a clean sample of how many run per tick.
      await waitAnalyses(h, 20, 20_000);
      canary = await driveCanary(h, { pipeline, runId, traffic: newYorkTraffic(), maxRounds: 40 });
      if (canary.status !== 'promoted') problems.push(`the canary ended ${canary.status} after ${canary.rounds.length} rounds of traffic`);
    });
    const swaps = await championSwaps(h, watch, 'v2');
    const analyses = await analysesPerTick(h, CANARY_TICK_MS);
    if (analyses.perTick !== null && analyses.perTick > 1.25) problems.push(`${analyses.analyses} analyses in ${analyses.ticks} ticks of ${CANARY_TICK_MS} ms: ${analyses.perTick.toFixed(2)} per tick, one expected`);
    problems.push(...first.problems, ...second.problems, ...(canary?.disagreements ?? []), ...swaps.problems, ...(await finalChecks(h)));
    const runs = [first.run, second.run].filter((r) => r !== undefined).map(summarizeRun);
    return { metrics: { rolloutTickMs: CANARY_TICK_MS, analyses, canaryRounds: canary?.rounds ?? [], championSwapMs: swaps.latencies }, problems, runs, restarts: restartsOf(h.stack), notes, faultAt };
  } finally {
    await watch.stop();
  }
}
