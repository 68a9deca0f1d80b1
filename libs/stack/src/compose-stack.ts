/**
 * deploy/compose/docker-compose.yml started for real by `docker-compose` (v1) against podman's
 * Docker-compatible API, for `npm run compose:check -- --compose`: the podman API service on a
 * socket of its own, the compose project's commands, its published ports, its containers, and the
 * health checks that podman runs from systemd timers elsewhere (there is no systemd here: without
 * them every container would stay `starting` and `depends_on: service_healthy` would never let the
 * services start). The demo loop against the published gRPC ports is the CLI's `demoLoop`.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { DEFAULT_PORTS } from '@refit/platform';
import { waitFor } from './infra.js';
import { REPO_ROOT, SERVICES } from './stack.js';

const run = promisify(execFile);

/** The podman API service `docker-compose` talks to (DOCKER_HOST=unix://<socket>). */
export type PodmanService = { dockerHost: string; stop(): Promise<void> };

/** Starts `podman system service --time=0` on `socket` and waits for it to answer. */
export async function startPodmanService(o: { socket: string; engineEnv: Record<string, string>; log?: string }): Promise<PodmanService> {
  rmSync(o.socket, { force: true });
  const child: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${o.socket}`], { env: o.engineEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exited) child.kill('SIGKILL');
    }
    if (o.log) writeFileSync(o.log, stderr);
    rmSync(o.socket, { force: true });
  };
  try {
    await waitFor(
      `podman system service on ${o.socket}`,
      async () => existsSync(o.socket) && (await pingSocket(o.socket)),
      30_000,
      200,
      () => (exited ? new Error(`podman system service exited: ${stderr}`) : undefined),
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { dockerHost: `unix://${o.socket}`, stop };
}

/** GET /_ping on a unix socket: true once the API answers OK. */
function pingSocket(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Options of {@link composeProject}. */
export type ComposeProjectOptions = {
  /** Compose files, the first one the project's own (deploy/compose/docker-compose.yml). */
  files: readonly string[];
  /** `--project-directory`: where relative paths resolve and `.env` is read from. */
  projectDir: string;
  /** `-p`: the project's name (prefix of its containers, networks and volumes). */
  project: string;
  /** The podman API service. */
  dockerHost: string;
  /** The engine's own environment (CONTAINERS_CONF, PATH), for podman commands. */
  engineEnv: Record<string, string>;
  /** Variables the compose files interpolate, besides the project's `.env`. */
  env?: Record<string, string>;
};

/** One container of a compose project. */
export type ComposeContainer = {
  id: string;
  name: string;
  service: string;
  /** `running`, `exited`… */
  state: string;
  /** `healthy`, `unhealthy`, `starting`, or `none` without a HEALTHCHECK. */
  health: string;
  /** When it (last) started, in seconds since the epoch. */
  startedAt: number;
};

/** A compose project's commands, and what podman knows of its containers. */
export type ComposeProject = ReturnType<typeof composeProject>;

/** Runs `docker-compose` on a project, and podman on its containers (by compose's labels). */
export function composeProject(o: ComposeProjectOptions) {
  // Only what the compose files need: none of this process's REFIT_* variables leak in.
  const env = { PATH: o.engineEnv.PATH ?? process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', DOCKER_HOST: o.dockerHost, COMPOSE_HTTP_TIMEOUT: '600', ...o.env };
  const base = ['-p', o.project, '--project-directory', o.projectDir, ...o.files.flatMap((f) => ['-f', f])];
  const podman = async (...args: string[]) => (await run('podman', args, { env: o.engineEnv, maxBuffer: 16 << 20 })).stdout.trim();
  const label = `label=com.docker.compose.project=${o.project}`;

  const containers = async (service?: string): Promise<ComposeContainer[]> => {
    const filters = ['--filter', label, ...(service ? ['--filter', `label=com.docker.compose.service=${service}`] : [])];
    const listed = JSON.parse((await podman('ps', '-a', ...filters, '--format', 'json')) || '[]') as Array<{ Id: string; Names: string[]; State: string; Status: string; StartedAt: number; Labels: Record<string, string> | null }>;
    return listed
      .map((c) => ({
        id: c.Id,
        name: c.Names[0] ?? c.Id,
        service: c.Labels?.['com.docker.compose.service'] ?? '',
        state: c.State,
        health: /\((healthy|unhealthy|starting)\)/.exec(c.Status)?.[1] ?? 'none',
        startedAt: c.StartedAt,
      }))
      .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  };

  return {
    /** `docker-compose <args>`; its output goes to `onOutput` (default this process's stderr). */
    compose: (args: readonly string[], onOutput: (chunk: string) => void = (c) => process.stderr.write(c)): Promise<void> =>
      new Promise((resolve, reject) => {
        const child = spawn('docker-compose', [...base, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.on('data', (b: Buffer) => onOutput(b.toString()));
        child.stderr.on('data', (b: Buffer) => onOutput(b.toString()));
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker-compose ${args.join(' ')} exited with ${code}`))));
      }),
    /** `docker-compose port`: the published `host:port` of a service's replica (index from 1). */
    port: async (service: string, port: number, index = 1): Promise<string> => {
      const { stdout } = await run('docker-compose', [...base, 'port', `--index=${index}`, service, String(port)], { env });
      const addr = stdout.trim().replace(/^0\.0\.0\.0:/, '127.0.0.1:');
      if (!/^[\d.]+:\d+$/.test(addr)) throw new Error(`docker-compose port ${service} ${port}: no published port (${JSON.stringify(stdout)})`);
      return addr;
    },
    /** The project's containers (all states), by name. */
    containers,
    /** Runs a container's HEALTHCHECK once (podman healthcheck run): true when it passes. */
    healthy: async (id: string): Promise<boolean> =>
      podman('healthcheck', 'run', id).then(
        () => true,
        () => false,
      ),
    /** Plain podman commands (kill, inspect…) with the engine's environment. */
    podman,
  };
}

/**
 * Runs the HEALTHCHECK of every running container of `project` that is not healthy yet, every
 * `everyMs`, as podman's systemd timers would: `podman healthcheck run` records the result, which
 * is what compose's `depends_on: service_healthy` and `podman ps` read. Healthy containers are
 * left alone (each check is a Node process in the container: on two cores they would cost the loop).
 */
export function driveHealthchecks(p: ComposeProject, everyMs = 2000): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const pending = (await p.containers()).filter((c) => c.state === 'running' && (c.health === 'starting' || c.health === 'unhealthy'));
        await Promise.all(pending.map((c) => p.healthy(c.id)));
      } catch {
        // A container that went away between ps and healthcheck: the next round sees the new state.
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** The CLI's environment for a compose project: its `.refit/` and each service's published port. */
export async function composeClientEnv(p: ComposeProject, home: string): Promise<Record<string, string>> {
  const env: Record<string, string> = { REFIT_HOME: home };
  for (const s of SERVICES) env[`REFIT_${s.toUpperCase()}_ADDR`] = await p.port(s, DEFAULT_PORTS[s]);
  return env;
}

/** The infrastructure services of deploy/compose/docker-compose.yml, each stood in for by a target of deploy/compose/check/Containerfile. */
export const INFRA_SERVICES = ['postgres', 'nats', 'minio'] as const;

/**
 * Builds the local stand-ins of the compose file's infrastructure images (deploy/compose/check/
 * Containerfile on `baseImage`) and tags each with the exact name the compose file gives it, so
 * that compose uses them without pulling (no image registry is reachable here). Reuses the tagged
 * images when they were built from the same files. Returns the names and build time.
 */
export async function buildInfraStandins(o: { composeFile: string; baseImage: string; engineEnv: Record<string, string>; workDir: string; say: (line: string) => void }): Promise<{ images: Record<string, string>; builtS: number | 'cached' }> {
  const podman = async (...args: string[]) => (await run('podman', args, { env: o.engineEnv, maxBuffer: 64 << 20 })).stdout.trim();
  const compose = parse(readFileSync(o.composeFile, 'utf8')) as { services: Record<string, { image: string }> };
  const images = Object.fromEntries(INFRA_SERVICES.map((s) => [s, compose.services[s].image]));

  const src = join(REPO_ROOT, 'deploy/compose/check');
  const s3Server = join(REPO_ROOT, 'libs/testing/src/s3-server.ts');
  const hash = createHash('sha256').update(o.baseImage);
  const hashTree = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) hashTree(join(dir, e.name));
      else hash.update(e.name).update(readFileSync(join(dir, e.name)));
    }
  };
  hashTree(src);
  hash.update(readFileSync(s3Server)).update(readFileSync(join(REPO_ROOT, 'node_modules/s3rver/package.json')));
  const digest = hash.digest('hex').slice(0, 16);
  const LABEL = 'io.refit.standin.hash';
  const current = await Promise.all(Object.values(images).map((i) => podman('image', 'inspect', '--format', `{{index .Labels "${LABEL}"}}`, i).catch(() => '')));
  if (current.every((h) => h === digest)) {
    o.say(`infrastructure stand-ins already built: ${Object.values(images).join(', ')}`);
    return { images, builtS: 'cached' };
  }

  const started = Date.now();
  const ctx = join(o.workDir, 'standins');
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(o.workDir, { recursive: true });
  cpSync(src, ctx, { recursive: true });
  // The S3 stand-in: the tests' S3 server compiled to one ES module, s3rver bundled (it and its
  // dependencies, CommonJS) into one file where the server's require('s3rver') finds it.
  const esbuild = join(REPO_ROOT, 'node_modules/.bin/esbuild');
  const s3rver = join(ctx, 's3/node_modules/s3rver');
  mkdirSync(s3rver, { recursive: true });
  await run(esbuild, [s3Server, '--format=esm', '--platform=node', '--target=node20', '--log-level=warning', `--outfile=${join(ctx, 's3/s3-server.mjs')}`]);
  execFileSync(esbuild, ['--bundle', '--platform=node', '--format=cjs', '--target=node20', '--log-level=warning', `--outfile=${join(s3rver, 'index.js')}`], {
    cwd: REPO_ROOT,
    input: "module.exports = require('s3rver');\nmodule.exports.AWSAccount = require('s3rver/lib/models/account');\n",
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  writeFileSync(join(s3rver, 'package.json'), '{ "name": "s3rver", "private": true, "main": "index.js" }\n');
  for (const s of INFRA_SERVICES) {
    o.say(`building the ${s} stand-in → ${images[s]}`);
    await podman('build', '--format', 'docker', '-f', join(ctx, 'Containerfile'), '--target', s, '--build-arg', `BASE_IMAGE=${o.baseImage}`, '--build-arg', `STANDIN_HASH=${digest}`, '-t', images[s], ctx);
  }
  rmSync(ctx, { recursive: true, force: true });
  return { images, builtS: Math.round((Date.now() - started) / 100) / 10 };
}
