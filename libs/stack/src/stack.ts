import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHealth, DEFAULT_PORTS } from '@refit/platform';
import { ensureNats, ensurePostgres, startS3Process, waitFor } from './infra.js';
import { freePort } from '@refit/testing';

/** Postgres used when REFIT_PG_URL is not set. */
export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/refit';
/** NATS used when REFIT_NATS_URL is not set. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** The seven services, in the order the loop runs through them. */
export const SERVICES = ['trigger', 'ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'] as const;
/** A service name. */
export type ServiceName = (typeof SERVICES)[number];

/** The repository root (this file is libs/stack/src/stack.ts). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

/** Options of {@link startStack}. */
export type StackOptions = {
  /** REFIT_* settings shared by every service (namespace, URLs…); merged over process.env. */
  env?: Record<string, string>;
  /** Folder for logs and local S3 data. Default `<repo>/.refit`. */
  workDir?: string;
  /** Fixed default ports (50051…) instead of free ephemeral ones. Default false. */
  defaultPorts?: boolean;
  /** Start an S3 server process unless REFIT_S3_URL is set. Default true. */
  startS3?: boolean;
  /** Seconds to wait for each service to report SERVING. Default 60. */
  startTimeoutS?: number;
  /** Runs once the infrastructure is up, before the services start (e.g. to reset a namespace). */
  prepare?: (env: Record<string, string>) => Promise<void>;
};

/** A running stack of service processes. */
export type Stack = {
  /** gRPC address of each service. */
  readonly addresses: Record<ServiceName, string>;
  /** Environment for clients (REFIT_<SERVICE>_ADDR) and for the services themselves. */
  readonly env: Record<string, string>;
  /** Folder with one log file per process. */
  readonly logDir: string;
  /** Sends a signal to one service (e.g. SIGKILL to test crash recovery). */
  kill(service: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a service again (after kill) and waits until it serves. */
  restart(service: ServiceName): Promise<void>;
  /** Stops every process (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/**
 * Starts what is missing of the infrastructure (NATS from a local nats-server binary, an S3
 * server process) and the seven services as separate processes, then waits until each one's
 * gRPC health check says SERVING.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const workDir = opts.workDir ?? join(REPO_ROOT, '.refit');
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const base: Record<string, string> = { ...(process.env as Record<string, string>), ...opts.env };
  const extra: ChildProcess[] = [];

  const postgres = await ensurePostgres(base.REFIT_PG_URL ?? DEFAULT_PG_URL, join(workDir, 'postgres'));
  if (postgres) base.REFIT_PG_URL = postgres.url;
  const nats = await ensureNats(base.REFIT_NATS_URL ?? DEFAULT_NATS_URL, join(workDir, 'nats'));
  if (nats) extra.push(nats);
  if (!base.REFIT_S3_URL && opts.startS3 !== false) {
    const s3 = await startS3Process({ dir: join(workDir, 's3'), logFile: join(logDir, 's3.log'), entry: join(REPO_ROOT, 'libs/testing/src/s3-server-main.ts') });
    extra.push(s3.child);
    base.REFIT_S3_URL = s3.url;
  }

  await opts.prepare?.(base);

  const ports = {} as Record<ServiceName, number>;
  for (const s of SERVICES) ports[s] = opts.defaultPorts ? DEFAULT_PORTS[s] : await freePort();
  const addresses = Object.fromEntries(SERVICES.map((s) => [s, `127.0.0.1:${ports[s]}`])) as Record<ServiceName, string>;
  const env: Record<string, string> = { ...base };
  for (const s of SERVICES) {
    env[`REFIT_${s.toUpperCase()}_GRPC_PORT`] = String(ports[s]);
    env[`REFIT_${s.toUpperCase()}_ADDR`] = addresses[s];
  }

  const children = new Map<ServiceName, ChildProcess>();
  const spawnService = (s: ServiceName): ChildProcess => {
    const log = openSync(join(logDir, `${s}.log`), 'a');
    const child = spawn(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', join(REPO_ROOT, `services/${s}/src/main.ts`)], {
      env,
      cwd: REPO_ROOT,
      stdio: ['ignore', log, log],
    });
    children.set(s, child);
    return child;
  };
  const waitServing = async (s: ServiceName): Promise<void> => {
    const child = children.get(s);
    await waitFor(
      `the ${s} service at ${addresses[s]} (log: ${join(logDir, `${s}.log`)})`,
      async () => {
        if (child && child.exitCode !== null) throw new Error(`${s} exited with code ${child.exitCode}`);
        return (await checkHealth(addresses[s], '', 1000)) === 'SERVING';
      },
      (opts.startTimeoutS ?? 60) * 1000,
      100,
    );
  };

  const stop = async () => {
    await Promise.all([...children.values()].map((c) => stopProcess(c)));
    await Promise.all(extra.map((c) => stopProcess(c, 5000)));
    await postgres?.stop();
  };
  try {
    for (const s of SERVICES) spawnService(s);
    await Promise.all(SERVICES.map(waitServing));
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    addresses,
    env,
    logDir,
    async kill(s, signal = 'SIGKILL') {
      const child = children.get(s);
      if (!child) return;
      child.kill(signal);
      await exited(child);
    },
    async restart(s) {
      spawnService(s);
      await waitServing(s);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
