// `npm run compose:check [-- --compose] [-- --rebuild | --skip-build] [-- --skip-host-demo]`: proves the per-service images on
// this machine with podman (README, "Deploying"). Builds a local base image (Debian from debootstrap
// plus this machine's Node 20: image registries are not reachable here), builds the eight images
// from deploy/docker/Dockerfile, runs the demo loop on the host for comparison, then against the
// seven services running as containers (and the console), again with two trainers and two deployers
// while one container of each service is killed mid-run, and tears everything down. Prints the
// numbers and writes them to bench/results/compose-check.json. Not part of `npm test` (minutes).
// The eight images are built when one is missing (or with --rebuild), else reused.
//
// --compose: starts deploy/compose/docker-compose.yml itself instead, with `docker-compose` (v1)
// against podman's API socket: builds local stand-ins for the file's Postgres, NATS and MinIO
// images (deploy/compose/check/Containerfile) tagged with the names the file gives them, `up -d`,
// waits for the seven services' health checks (gRPC SERVING), runs the demo loop against the
// published ports, scales the trainer and the deployer to two (`up -d --scale`), runs the loop again
// killing one container of each service during its second run (compose's restart policy brings
// them back), and `down -v`. Its numbers go under `compose` in the same results file.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, demoLoop, runDemo, runDurationMs, type DemoOptions, type LoopRun } from '@refit/cli';
import { ensureLocalCredentials } from '@refit/platform';
import {
  buildInfraStandins,
  composeClientEnv,
  composeProject,
  CONTAINER_PROCESS_LABEL,
  containerLaunch,
  driveHealthchecks,
  REPO_ROOT,
  SERVICES,
  startPodmanService,
  waitFor,
  type ComposeProject,
  type Stack,
} from '@refit/stack';
import { freePort } from '@refit/testing';
import { makeComposeCredentials } from '../deploy/compose/make-credentials.js';
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

const COMPOSE_FILE = join(REPO_ROOT, 'deploy/compose/docker-compose.yml');
const COMPOSE_PROJECT = 'refit-ccheck';
/** Replica numbers (1-based) of the containers the replicated run kills: the first of each service. */
const KILLED_REPLICA = 1;

/** The services' and the console's containers of the project, once every one is running and healthy. */
async function waitAllHealthy(p: ComposeProject, expected: Record<string, number>, timeoutMs: number): Promise<void> {
  let last = '';
  await waitFor(
    `the compose services healthy (${JSON.stringify(expected)})`,
    async () => {
      const cs = await p.containers();
      last = cs.map((c) => `${c.name}=${c.state}/${c.health}`).join(' ');
      return Object.entries(expected).every(([svc, n]) => cs.filter((c) => c.service === svc && c.state === 'running' && c.health === 'healthy').length === n);
    },
    timeoutMs,
    500,
  ).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; last seen: ${last}`);
  });
}

/** Runs the demo loop against the compose project's published ports; returns its timings. */
async function timedComposeLoop(label: string, p: ComposeProject, home: string, pipeline: string, during?: (runId: string) => Promise<void>) {
  say(`demo loop: ${label}`);
  const started = Date.now();
  const result = await demoLoop({ clients: async () => connect(await composeClientEnv(p, home)), pipeline, during, log: (l) => say(`  ${l}`) });
  const runs = result.runs.map((r: LoopRun) => ({ label: r.label, status: r.run.status, durationMs: runDurationMs(r.run) }));
  const totalMs = Date.now() - started;
  say(`  done in ${seconds(totalMs)} s; runs: ${runs.map((r) => `${r.durationMs} ms`).join(', ')}; model ${result.predictions.before.version} → ${result.predictions.after.version}`);
  return { label, loopS: seconds(runs.reduce((n, r) => n + r.durationMs, 0)), totalS: seconds(totalMs), runs, servedBefore: result.predictions.before.version, servedAfter: result.predictions.after.version };
}

/**
 * `--compose`: deploy/compose/docker-compose.yml started by docker-compose against podman's socket,
 * in a project folder of its own under WORK (its own .refit/ and .env: the user's are untouched).
 */
async function composeCheck(env: Record<string, string>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { composeFile: 'deploy/compose/docker-compose.yml', tool: execFileSync('docker-compose', ['version', '--short'], { encoding: 'utf8' }).trim(), project: COMPOSE_PROJECT };
  const standins = await buildInfraStandins({ composeFile: COMPOSE_FILE, baseImage: BASE_IMAGE, engineEnv: env, workDir: WORK, say });
  out.infraStandins = { images: standins.images, buildS: standins.builtS, from: `${BASE_IMAGE} + Debian bookworm's postgresql-15 and nats-server 2.9, and the tests' S3 server (deploy/compose/check/Containerfile)` };

  // The repository's layout under WORK/compose: the file's ../nats/nats-server.conf and ./.refit resolve there.
  const root = join(WORK, 'compose');
  const projectDir = join(root, 'deploy/compose');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'deploy/nats'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'deploy/nats/nats-server.conf'), join(root, 'deploy/nats/nats-server.conf'));
  const creds = await makeComposeCredentials({ dir: projectDir });

  const service = await startPodmanService({ socket: join(WORK, 'podman.sock'), engineEnv: env, log: join(WORK, 'podman-service.log') });
  // Every published port ephemeral: replicas each need their own, and nothing clashes with a stack on this machine.
  const publish = Object.fromEntries([...SERVICES, 'console'].map((s) => [`REFIT_${s.toUpperCase()}_PUBLISH_PORT`, '']));
  const p = composeProject({ files: [COMPOSE_FILE], projectDir, project: COMPOSE_PROJECT, dockerHost: service.dockerHost, engineEnv: env, env: publish });
  const health = driveHealthchecks(p);
  const composeLog = (chunk: string) => process.stdout.write(chunk.replace(/^(?=.)/gm, '[compose] '));
  const one = Object.fromEntries([...SERVICES, 'console', 'postgres', 'nats', 'minio'].map((s) => [s, 1]));
  let up = false;
  try {
    say(`docker-compose -p ${COMPOSE_PROJECT} -f deploy/compose/docker-compose.yml up -d (DOCKER_HOST=${service.dockerHost})`);
    let t = Date.now();
    await p.compose(['up', '-d', '--no-build'], composeLog);
    up = true;
    out.upCommandS = seconds(Date.now() - t);
    await waitAllHealthy(p, one, 300_000);
    out.upToAllServingS = seconds(Date.now() - t);
    say(`  all seven services SERVING (healthy) and the console up ${out.upToAllServingS} s after compose up`);

    out.loop = await timedComposeLoop('against the compose stack through its published ports', p, creds.home, 'weather-rain');

    say('docker-compose up -d --scale trainer=2 --scale deployer=2');
    t = Date.now();
    await p.compose(['up', '-d', '--no-build', '--scale', 'trainer=2', '--scale', 'deployer=2'], composeLog);
    await waitAllHealthy(p, { ...one, trainer: 2, deployer: 2 }, 300_000);
    out.scaleUpToServingS = seconds(Date.now() - t);
    const replicas = await p.containers();
    out.scaledContainers = replicas.map((c) => c.name);
    say(`  ${replicas.length} containers healthy ${out.scaleUpToServingS} s later: ${replicas.map((c) => c.name).join(', ')}`);

    const killed: Record<string, { container: string; msAfterTrigger: number }> = {};
    let backS = 0;
    // The victims and their processes are looked up beforehand: the run takes about a second, and
    // the kills must land while it is under way.
    const victims = await Promise.all(
      SERVICES.map(async (s) => {
        const v = (await p.containers(s))[KILLED_REPLICA - 1];
        return { ...v, pid: Number(await p.podman('inspect', '--format', '{{.State.Pid}}', v.id)) };
      }),
    );
    out.scaledKilledLoop = await timedComposeLoop('trainer and deployer ×2, one container of each service killed during the second run', p, creds.home, 'weather-rain-scaled', async () => {
      const triggered = Date.now();
      // SIGKILL to each container's main process from outside, as a crash or the OOM killer would:
      // `podman kill` counts as stopping it on purpose, which restart policies leave alone.
      for (const v of victims) {
        process.kill(v.pid, 'SIGKILL');
        killed[v.service] = { container: v.name, msAfterTrigger: Date.now() - triggered };
      }
      say(`  killed ${victims.map((v) => v.name).join(', ')}; waiting for the restart policy (unless-stopped) to start them again…`);
      const back = Date.now();
      // Restarted (a later start time) and healthy again: each check runs in the container itself.
      await waitFor(
        'the killed containers restarted and SERVING',
        async () => {
          const now = await p.containers();
          const states = victims.map((v) => now.find((c) => c.id === v.id));
          if (!states.every((c, i) => c && c.state === 'running' && c.startedAt > victims[i].startedAt)) return false;
          return (await Promise.all(victims.map((v) => p.healthy(v.id)))).every(Boolean);
        },
        300_000,
        500,
      );
      backS = seconds(Date.now() - back);
      say(`  all seven restarted and SERVING again after ${backS} s`);
    });
    out.killed = killed;
    // The run's own duration (trigger to end, the trigger's clock) against the last kill: mid-run if it ended after.
    const killedRunMs = (out.scaledKilledLoop as { runs: Array<{ durationMs: number }> }).runs[1].durationMs;
    out.killedDuringTheRun = killedRunMs > Math.max(...Object.values(killed).map((k) => k.msAfterTrigger));
    out.killedBackToServingS = backS;
    const restarts = JSON.parse(await p.podman('inspect', '--format', 'json', ...(await p.containers()).map((c) => c.id))) as Array<{ Name: string; RestartCount: number }>;
    out.restartCounts = Object.fromEntries(restarts.map((c) => [c.Name, c.RestartCount]));
  } catch (e) {
    if (up) {
      say('failed; the last lines of each container:');
      await p.compose(['logs', '--no-color', '--tail=20'], composeLog).catch(() => undefined);
    }
    throw e;
  } finally {
    say('docker-compose down -v');
    const t = Date.now();
    await p.compose(['down', '-v', '--remove-orphans'], composeLog).catch((e: unknown) => say(`  down failed: ${e instanceof Error ? e.message : String(e)}`));
    out.downS = seconds(Date.now() - t);
    await health.stop();
    const left = await p.containers();
    const volumes = (await p.podman('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${COMPOSE_PROJECT}`)).split('\n').filter(Boolean);
    const networks = (await p.podman('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${COMPOSE_PROJECT}`)).split('\n').filter(Boolean);
    if (left.length > 0) await p.podman('rm', '-f', ...left.map((c) => c.id));
    out.leftAfterDown = { containers: left.length, volumes: volumes.length, networks: networks.length };
    say(`  torn down in ${out.downS} s; left behind: ${JSON.stringify(out.leftAfterDown)}`);
    await service.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}

/** The eight images: built when one is missing or with --rebuild (never with --skip-build). */
function ensureImages(env: Record<string, string>, out: Record<string, unknown>): void {
  const missing = IMAGES.filter((s) => engine(env, 'images', '-q', `refit-${s}:${VERSION}`) === '');
  const build = !process.argv.includes('--skip-build') && (process.argv.includes('--rebuild') || missing.length > 0);
  if (build) {
    say(`building the eight images from deploy/docker/Dockerfile on ${BASE_IMAGE}…`);
    const t = Date.now();
    execFileSync('sh', ['deploy/docker/images.sh', '--build-arg', `BASE_IMAGE=${BASE_IMAGE}`], { cwd: REPO_ROOT, env: { ...process.env, ...env, REFIT_IMAGE_ENGINE: ENGINE }, stdio: 'inherit' });
    out.imagesBuildS = seconds(Date.now() - t);
  } else say(`reusing the eight images refit-<service>:${VERSION} already built (--rebuild builds them again)`);
  const sizes = Object.fromEntries(IMAGES.map((s) => [`refit-${s}`, Math.round(Number(engine(env, 'image', 'inspect', '--format', '{{.Size}}', `refit-${s}:${VERSION}`)) / 1e6)]));
  out.imageSizesMB = sizes;
  say(`image sizes (MB): ${JSON.stringify(sizes)}`);
}

/** The results file's fields so far: each mode rewrites what it measures and keeps the rest. */
const previousResults = (): Record<string, unknown> => (existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>) : {});

function writeResults(out: Record<string, unknown>): void {
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(out, null, 2)}\n`);
  say(`wrote ${RESULTS}`);
}

async function main(): Promise<void> {
  const env = engineEnv();
  const out: Record<string, unknown> = { ...previousResults(), version: VERSION, engine: `${ENGINE} ${engine(env, '--version').split(' ').pop()}`, baseImage: BASE_IMAGE };

  const t = Date.now();
  const hadBase = engine(env, 'images', '-q', BASE_IMAGE) !== '';
  if (!hadBase) buildBaseImage({ image: BASE_IMAGE, dir: join(WORK, 'base'), env, say });
  if (!hadBase || out.baseImageBuildS === undefined) out.baseImageBuildS = hadBase ? 'cached' : seconds(Date.now() - t);
  ensureImages(env, out);

  if (process.argv.includes('--compose')) {
    out.compose = { measuredAt: new Date().toISOString(), ...(await composeCheck(env)) };
    writeResults(out);
    return;
  }
  Object.assign(out, { network: 'host (the stack\'s Postgres, NATS and S3 on 127.0.0.1)', measuredAt: new Date().toISOString() });

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

  writeResults(out);
}

main().catch((err: unknown) => {
  console.error(`compose:check failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
