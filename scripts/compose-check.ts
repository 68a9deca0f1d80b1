// `npm run compose:check [-- --skip-build] [-- --skip-host-demo]`: proves the per-service images on
// this machine with podman (README, "Deploying"). Builds a local base image (Debian from debootstrap
// plus this machine's Node 20: image registries are not reachable here), builds the eight images
// from deploy/docker/Dockerfile, runs the demo loop on the host for comparison, then against the
// seven services running as containers (and the console), again with two trainers and two deployers
// while one container of each service is killed mid-run, and tears everything down. Prints the
// numbers and writes them to bench/results/compose-check.json. Not part of `npm test` (minutes).
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runDurationMs } from '@refit/cli';
import { ensureLocalCredentials } from '@refit/platform';
import { CONTAINER_PROCESS_LABEL, containerLaunch, REPO_ROOT, runDemo, SERVICES, waitFor, type DemoOptions, type Stack } from '@refit/stack';
import { freePort } from '@refit/testing';
import { buildBaseImage } from './compose-check-base.js';

const ENGINE = 'podman';
const BASE_IMAGE = 'localhost/refit-base:node20-bookworm';
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGES = [...SERVICES, 'console'] as const;
const WORK = '/tmp/refit-compose-check';
const RESULTS = join(REPO_ROOT, 'bench/results/compose-check.json');
// The check's own namespace: it never touches the demo's or a test's.
const NAMESPACE = { REFIT_SCHEMA_PREFIX: 'refit_ccheck_', REFIT_STREAM: 'REFIT_CCHECK', REFIT_SUBJECT_PREFIX: 'refitccheck', REFIT_S3_BUCKET: 'refit-ccheck' };
const IMAGE_UID = 1000;

const say = (line: string) => console.log(`[compose:check] ${line}`);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** podman with a containers.conf that asks for no rlimits (this sandbox cannot raise them). */
function engineEnv(): Record<string, string> {
  let conf = process.env.CONTAINERS_CONF;
  if (!conf) {
    conf = join(WORK, 'containers.conf');
    mkdirSync(WORK, { recursive: true });
    writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');
  }
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', CONTAINERS_CONF: conf };
}

const engine = (env: Record<string, string>, ...args: string[]): string => execFileSync(ENGINE, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Gives the credentials to the images' user: the containers run as uid 1000 and read them. */
function chownTree(dir: string): void {
  chownSync(dir, IMAGE_UID, IMAGE_UID);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) chownTree(join(dir, e.name));
    else chownSync(join(dir, e.name), IMAGE_UID, IMAGE_UID);
  }
}

/** Runs the demo loop; returns its wall time, its time to all SERVING and each run's duration. */
async function timedDemo(label: string, opts: DemoOptions) {
  say(`demo loop: ${label}`);
  // A fresh object store each time: the namespace reset empties Postgres and the stream, and a
  // ledger checkpoint left in the bucket would no longer match.
  rmSync(join(opts.stack?.workDir ?? WORK, 's3'), { recursive: true, force: true });
  const started = Date.now();
  let upMs = 0;
  const result = await runDemo({
    ...opts,
    env: NAMESPACE,
    onStackUp: async (stack) => {
      upMs = Date.now() - started;
      say(`  all ${Object.values(stack.replicaAddresses).flat().length} service processes SERVING after ${seconds(upMs)} s`);
      await opts.onStackUp?.(stack);
    },
  });
  const runs = result.runs.map((r) => ({ label: r.label, status: r.run.status, durationMs: runDurationMs(r.run) }));
  const totalMs = Date.now() - started;
  say(`  done in ${seconds(totalMs)} s; runs: ${runs.map((r) => `${r.durationMs} ms`).join(', ')}; model ${result.predictions.before.version} → ${result.predictions.after.version}`);
  return { label, upToServingS: seconds(upMs), loopS: seconds(runs.reduce((n, r) => n + r.durationMs, 0)), totalS: seconds(totalMs), runs };
}

/** Containers of the running check, by process name (`trainer`, `trainer-2`…). */
const containersOf = (env: Record<string, string>, name: string): string[] => engine(env, 'ps', '-q', '--filter', `label=${CONTAINER_PROCESS_LABEL}=${name}`).split('\n').filter(Boolean);

/** The console as a container beside the stack's; returns its id once GET /healthz answers. */
async function startConsole(env: Record<string, string>, stack: Stack, workDir: string): Promise<{ id: string; port: number }> {
  const port = await freePort();
  const vars: Record<string, string> = { REFIT_CONSOLE_HOST: '127.0.0.1', REFIT_CONSOLE_PORT: String(port), REFIT_TLS_CA: join(workDir, 'ca/ca.crt') };
  for (const s of SERVICES) vars[`REFIT_${s.toUpperCase()}_ADDR`] = stack.env[`REFIT_${s.toUpperCase()}_ADDR`];
  const args = ['run', '-d', '--network', 'host', '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--label', `${CONTAINER_PROCESS_LABEL}=console`, '-v', `${workDir}:${workDir}:ro`];
  for (const [k, v] of Object.entries(vars)) args.push('-e', `${k}=${v}`);
  const id = engine(env, ...args, `refit-console:${VERSION}`);
  await waitFor('the console container', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000, 250);
  return { id, port };
}

/** The image's own HEALTHCHECK, run once in a container: true when it passes. */
function healthcheckPasses(env: Record<string, string>, id: string): boolean {
  try {
    engine(env, 'healthcheck', 'run', id);
    return true;
  } catch (e) {
    say(`  healthcheck of ${id.slice(0, 12)} failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return false;
  }
}

async function main(): Promise<void> {
  const env = engineEnv();
  const skipBuild = process.argv.includes('--skip-build');
  const out: Record<string, unknown> = { version: VERSION, engine: `${ENGINE} ${engine(env, '--version').split(' ').pop()}`, baseImage: BASE_IMAGE, network: 'host (the stack\'s Postgres, NATS and S3 on 127.0.0.1)', measuredAt: new Date().toISOString() };

  let t = Date.now();
  const hadBase = engine(env, 'images', '-q', BASE_IMAGE) !== '';
  if (!hadBase) buildBaseImage({ image: BASE_IMAGE, dir: join(WORK, 'base'), env, say });
  out.baseImageBuildS = hadBase ? 'cached' : seconds(Date.now() - t);

  if (!skipBuild) {
    say(`building the eight images from deploy/docker/Dockerfile on ${BASE_IMAGE}…`);
    t = Date.now();
    execFileSync('sh', ['deploy/docker/images.sh', '--build-arg', `BASE_IMAGE=${BASE_IMAGE}`], { cwd: REPO_ROOT, env: { ...process.env, ...env, REFIT_IMAGE_ENGINE: ENGINE }, stdio: 'inherit' });
    out.imagesBuildS = seconds(Date.now() - t);
  }
  const sizes = Object.fromEntries(IMAGES.map((s) => [`refit-${s}`, Math.round(Number(engine(env, 'image', 'inspect', '--format', '{{.Size}}', `refit-${s}:${VERSION}`)) / 1e6)]));
  out.imageSizesMB = sizes;
  say(`image sizes (MB): ${JSON.stringify(sizes)}`);

  if (!process.argv.includes('--skip-host-demo')) out.hostDemo = await timedDemo('the services as Node processes on the host (npm run demo)', { stack: { workDir: join(WORK, 'host') } });

  const workDir = join(WORK, 'containers');
  await ensureLocalCredentials(workDir);
  chownTree(workDir);
  // Every container shares the host's network: each needs a health port of its own.
  const names = [...SERVICES, 'trainer-2', 'deployer-2'];
  const healthPorts = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()] as const)));
  const launch = containerLaunch({ engine: ENGINE, image: (s) => `refit-${s}:${VERSION}`, mounts: [workDir], engineEnv: env, extraEnv: (n) => ({ REFIT_HEALTH_PORT: String(healthPorts[n]) }) });
  const stackOpts = { workDir, launch, startTimeoutS: 300 };

  try {
    const healthchecks: Record<string, boolean> = {};
    out.containerDemo = await timedDemo('the seven services as containers', {
      stack: stackOpts,
      onStackUp: async (stack) => {
        const consoleStart = Date.now();
        const c = await startConsole(env, stack, workDir);
        say(`  console container serving GET /healthz after ${seconds(Date.now() - consoleStart)} s more`);
        healthchecks.console = healthcheckPasses(env, c.id);
        for (const s of SERVICES) healthchecks[s] = healthcheckPasses(env, containersOf(env, s)[0]);
      },
    });
    out.imageHealthchecksPass = healthchecks;
    engine(env, 'rm', '-f', ...containersOf(env, 'console'));

    const killed: Record<string, number> = {};
    out.replicatedKilledDemo = await timedDemo('trainer and deployer ×2, one container of each service killed during the second run', {
      stack: { ...stackOpts, replicas: { trainer: 2, deployer: 2 } },
      duringSecondRun: async (stack) => {
        // All at once, right after the run was triggered: the loop takes a second or two.
        const triggered = Date.now();
        await Promise.all(
          SERVICES.map(async (s) => {
            await promisify(execFile)(ENGINE, ['kill', containersOf(env, s)[0]], { env });
            killed[s] = Date.now() - triggered;
          }),
        );
        say(`  killed one container of each service ${JSON.stringify(killed)} ms after the trigger; waiting for the supervision to start them again…`);
        const back = Date.now();
        await Promise.all(SERVICES.map((s) => stack.waitServing(s, { timeoutMs: 300_000 })));
        say(`  all seven SERVING again after ${seconds(Date.now() - back)} s`);
      },
    });
    out.killedContainersMsAfterTrigger = killed;
  } finally {
    const left = engine(env, 'ps', '-aq', '--filter', `label=${CONTAINER_PROCESS_LABEL}`).split('\n').filter(Boolean);
    if (left.length > 0) engine(env, 'rm', '-f', ...left);
    say(`torn down (${left.length} container(s) left behind by the stack removed)`);
  }

  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(out, null, 2)}\n`);
  say(`wrote ${RESULTS}`);
}

main().catch((err: unknown) => {
  console.error(`compose:check failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
