// bench/cli-start: how long the `refit` CLI takes from `node cli/bin/refit.js …` to its exit, a new
// process each time (the OS file cache warm, as for someone typing commands):
// - `refit --help` (target under 300 ms): no service, only the command tree;
// - `refit --json runs list` (target under 500 ms): one call to a real trigger service, of the
//   stack this bench starts (seven service processes, TLS and tokens on, in their own namespace
//   on the real Postgres, NATS and S3) after it applied a pipeline, pushed a batch and triggered
//   a run, so the list has a run in it.
// Each runs BENCH_STARTS times (default 20) on the machine as it is (its load average is saved),
// then again with BENCH_BUSY busy loops (default 2, this machine's core count) competing for the
// CPU. Each start's CPU time (GNU time) is saved too: it hardly depends on the machine's load.
// For comparison, `--help` also runs BENCH_SOURCE_STARTS times (default 3) through the bin's
// fallback, the TypeScript sources under tsx in a second process. It needs the compiled CLI and
// builds nothing itself: run `npm run build:cli` first. Prints p50/p95, saves
// bench/results/cli-start.json.
// Run: node --conditions=@refit/source --import tsx bench/cli-start.ts
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, dataPush, waitForRun } from '@refit/cli';
import { REPO_ROOT, startStack, stopStackAndClean, writeWeatherSlice } from '@refit/stack';

const STARTS = Number(process.env.BENCH_STARTS ?? 20);
const SOURCE_STARTS = Number(process.env.BENCH_SOURCE_STARTS ?? 3);
const BUSY = Number(process.env.BENCH_BUSY ?? 2);
const TARGETS = { helpMs: 300, runsListMs: 500 };
const BIN = join(REPO_ROOT, 'cli/bin/refit.js');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (x: number) => Math.round(x * 10) / 10;

// The bin's own choice, so the bench never times the slow path by mistake: checked before every
// series, since a source edited meanwhile sends the bin to its fallback.
type PickEntry = (o: { cliDir: string; libsDir: string }) => { kind: 'dist' | 'source'; why?: string };
const { pickEntry } = (await import(pathToFileURL(join(REPO_ROOT, 'cli/bin/pick-entry.js')).href)) as { pickEntry: PickEntry };
/** Why the bin would not run the compiled CLI now, or undefined when it would. */
function staleBuild(): string | undefined {
  const entry = pickEntry({ cliDir: join(REPO_ROOT, 'cli'), libsDir: join(REPO_ROOT, 'libs') });
  return entry.kind === 'dist' ? undefined : `${entry.why}: run \`npm run build:cli\` first`;
}
const notBuilt = staleBuild();
if (notBuilt) {
  console.error(`bench/cli-start needs the compiled CLI, current (${notBuilt})`);
  process.exit(2);
}

// The child is a plain Node: nothing of this process' tsx or export conditions carries over.
const childEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete e.NODE_OPTIONS;
  return e;
};

// CPU time (user + system, every thread) hardly depends on what else runs, unlike wall time on a
// busy machine, so each start is also timed by GNU time where it is installed.
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const scratch = mkdtempSync(join(tmpdir(), 'refit-bench-cli-'));
const cpuFile = join(scratch, 'cpu');

/** Wall time of one process from spawn to exit, and its CPU time; fails unless it exits 0. */
function timeOnce(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; cpuMs?: number; stdout: string }> {
  const [file, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%U %S', '-o', cpuFile, process.execPath, ...args]] : [process.execPath, args];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, argv, { env, cwd: REPO_ROOT, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      const elapsed = performance.now() - t0;
      if (err) return reject(new Error(`node ${args.join(' ')} failed: ${stderr || err.message}`));
      const cpu = GNU_TIME ? readFileSync(cpuFile, 'utf8').trim().split('\n').pop()?.split(' ').map(Number) : undefined;
      resolve({ ms: elapsed, cpuMs: cpu ? (cpu[0] + cpu[1]) * 1000 : undefined, stdout });
    });
  });
}

type Stats = { p50: number; p95: number; min: number; max: number; raw: number[] };
const stats = (raw: number[]): Stats => ({ p50: ms(pct(raw, 50)), p95: ms(pct(raw, 95)), min: ms(Math.min(...raw)), max: ms(Math.max(...raw)), raw: raw.map(ms) });

async function series(args: string[], env: NodeJS.ProcessEnv, n: number): Promise<Stats & { cpuMs?: Stats }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await timeOnce(args, env);
    wall.push(r.ms);
    if (r.cpuMs !== undefined) cpu.push(r.cpuMs);
  }
  const stale = staleBuild();
  if (stale) throw new Error(`the build went stale during the bench, so some starts ran from sources (${stale})`);
  return { ...stats(wall), ...(cpu.length > 0 ? { cpuMs: stats(cpu) } : {}) };
}

/** Every series of one condition (the machine as it is, or with busy loops added). */
async function phase(name: string, env: NodeJS.ProcessEnv) {
  const load = ms(loadavg()[0]);
  const help = await series([BIN, '--help'], env, STARTS);
  const runsList = await series([BIN, '--json', 'runs', 'list'], env, STARTS);
  // The @refit/source condition makes the bin take its fallback: the sources under tsx.
  const fromSources = await series([BIN, '--help'], { ...env, NODE_OPTIONS: '--conditions=@refit/source' }, SOURCE_STARTS);
  const cpu = (s: Stats & { cpuMs?: Stats }) => (s.cpuMs ? `  CPU p50 ${s.cpuMs.p50} ms` : '');
  console.log(`${name} (load average ${load} at the start; wall time, then CPU time):`);
  console.log(`  refit --help            p50 ${help.p50} ms  p95 ${help.p95} ms${cpu(help)}  (target ${TARGETS.helpMs})`);
  console.log(`  refit --json runs list  p50 ${runsList.p50} ms  p95 ${runsList.p95} ms${cpu(runsList)}  (target ${TARGETS.runsListMs})`);
  console.log(`  --help, fallback (tsx)  p50 ${fromSources.p50} ms  p95 ${fromSources.p95} ms${cpu(fromSources)}  (without a current build)`);
  return { loadAverageAtStart: load, helpMs: help, runsListMs: runsList, helpFallbackMs: fromSources };
}

const id = randomBytes(3).toString('hex');
const env = { REFIT_SCHEMA_PREFIX: `benchcli_${id}_`, REFIT_STREAM: `BENCHCLI_${id}`, REFIT_SUBJECT_PREFIX: `benchcli${id}`, REFIT_S3_BUCKET: `benchcli-${id}`, REFIT_LOG_LEVEL: 'warn' };
const workDir = join(REPO_ROOT, '.refit', `bench-cli-${id}`);
const stack = await startStack({ env, workDir, startTimeoutS: 180 });
const busy: ChildProcess[] = [];
process.once('exit', () => busy.forEach((p) => p.kill('SIGKILL')));
try {
  const c = connect(stack.env);
  const quiet = { json: true, progress: false, out: () => undefined, err: () => undefined };
  await c.trigger.applyPipeline({ specYaml: readFileSync(join(REPO_ROOT, 'examples/weather-rain.yaml'), 'utf8') });
  const csv = join(scratch, 'seattle.csv');
  writeWeatherSlice(csv, 'Seattle', 2012, 2015);
  await dataPush(c, quiet, 'weather-rain', csv);
  // The run trains to its end before any timing, so it competes with none of the starts.
  const { run } = await c.trigger.triggerRun({ pipeline: 'weather-rain', reason: 'bench cli-start' });
  await waitForRun(c, run?.runId ?? '', { timeoutMs: 180_000 });

  const cliEnv = childEnv(stack.env);
  const listed = JSON.parse((await timeOnce([BIN, '--json', 'runs', 'list'], cliEnv)).stdout) as unknown[];
  if (listed.length === 0) throw new Error('refit runs list answered no runs');
  const asIs = await phase('without busy loops', cliEnv);
  for (let i = 0; i < BUSY; i++) busy.push(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
  const loaded = await phase(`with ${BUSY} busy loops`, cliEnv);

  const result = {
    bench: 'cli-start',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    starts: STARTS,
    sourceStarts: SOURCE_STARTS,
    runsListed: listed.length,
    // Other work on the machine shows in each condition's load average.
    withoutBusyLoops: asIs,
    [`with${BUSY}BusyLoops`]: loaded,
    targets: TARGETS,
  };
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/cli-start.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('saved bench/results/cli-start.json');
} finally {
  for (const p of busy) p.kill('SIGKILL');
  await stopStackAndClean(stack, env, workDir);
  rmSync(scratch, { recursive: true, force: true });
}
