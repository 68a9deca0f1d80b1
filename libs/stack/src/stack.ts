import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHealth, DEFAULT_PORTS, ensureLocalCredentials, type LocalCredentials } from '@refit/platform';
import { freePort } from '@refit/testing';
import { DEFAULT_BACKOFF, exitWords, type BackoffPolicy } from './backoff.js';
import { waitFor } from './infra.js';
import { tailFile } from './log-tail.js';
import { startStackInfra, stopStackInfra, type StackInfra } from './stack-infra.js';
import { superviseService, type ServiceLaunch } from './service-process.js';
import type { ExitRecord, Supervised } from './supervisor.js';

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
  /** Fixed default ports (50051…; replica n ≥ 2 at 100·(n−1) above) instead of free ephemeral ones. Default false. */
  defaultPorts?: boolean;
  /** Start an S3 server process unless REFIT_S3_URL is set. Default true. */
  startS3?: boolean;
  /** Seconds to wait for each service to report SERVING. Default 60. */
  startTimeoutS?: number;
  /** Runs once the infrastructure is up, before the services start (e.g. to reset a namespace). */
  prepare?: (env: Record<string, string>) => Promise<void>;
  /**
   * Processes of each service (all, or per service), each on its own port, sharing the stack's
   * Postgres schemas, stream and bucket — and so the services' durable consumers. Default 1.
   */
  replicas?: number | Partial<Record<ServiceName, number>>;
  /** Restart a service process that exits without being asked (crash, kill -9). Default true. */
  supervise?: boolean;
  /** Restart delays of the supervision. Default 0.5 s doubling to 30 s, reset after 30 s serving. */
  backoff?: Partial<BackoffPolicy>;
  /**
   * Start a private Postgres (embedded, on a free port, data under `<workDir>/postgres`), nats-server
   * and S3 server whatever REFIT_PG_URL, REFIT_NATS_URL and REFIT_S3_URL say, so that a harness can
   * stop and start them (see {@link Stack.infra}). Default false: use the servers that answer.
   */
  privateInfra?: boolean;
  /** Where the stack says what it does (e.g. why it restarts a service). Default stderr. */
  log?: (line: string) => void;
  /** How each service process is started (e.g. `containerLaunch`: its image). Default Node with tsx on its sources. */
  launch?: ServiceLaunch;
};

/** Which process of a service: `replica` 0 (default) to replicas − 1. */
export type ReplicaOption = { replica?: number };

/** A running stack of service processes. */
export type Stack = {
  /** gRPC address (host:port) of each service's first process. */
  readonly addresses: Record<ServiceName, string>;
  /** gRPC address of every process of each service, replica 0 first. */
  readonly replicaAddresses: Record<ServiceName, string[]>;
  /**
   * Port of the Prometheus endpoint (`GET /metrics` on 127.0.0.1, `REFIT_METRICS_PORT`) of every
   * process of each service, replica 0 first: free ports, or with `defaultPorts` 9100 + the
   * service's index (replica n ≥ 2 at 100·(n−1) above).
   */
  readonly metricsPorts: Record<ServiceName, number[]>;
  /**
   * Environment for clients: REFIT_<SERVICE>_ADDR (with replicas an `ipv4:` list of every
   * replica, which gRPC fails over), the CA and the admin token (REFIT_TLS_CA, REFIT_TOKEN_FILE),
   * the namespace, and NATS as its admin user. Each service runs with this plus its own credentials.
   */
  readonly env: Record<string, string>;
  /** The security material the stack runs with (under `<workDir>/`). */
  readonly credentials: LocalCredentials;
  /** Folder with one log file per process (`trainer.log`, `trainer-2.log`…). */
  readonly logDir: string;
  /** Infrastructure the stack started itself, each stoppable and startable again. */
  readonly infra: StackInfra;
  /** Every exit of a service process so far, asked for or not, oldest first. */
  readonly exits: readonly ExitRecord[];
  /** Restarts the supervision made on its own (of one service, or of all). */
  restarts(service?: ServiceName): number;
  /** Process id of a service's process now (undefined while it is down). */
  pid(service: ServiceName, opts?: ReplicaOption): number | undefined;
  /**
   * Sends a signal to one process (default SIGKILL, replica 0) and waits until it has exited. By
   * default it stays down until {@link Stack.restart}; with `restart: true` it is a crash like any
   * other and the supervision starts it again.
   */
  kill(service: ServiceName, signal?: NodeJS.Signals, opts?: ReplicaOption & { restart?: boolean }): Promise<void>;
  /** Starts a process again (after kill) and waits until it serves. */
  restart(service: ServiceName, opts?: ReplicaOption): Promise<void>;
  /** Waits until a process answers its health check with SERVING. */
  waitServing(service: ServiceName, opts?: ReplicaOption & { timeoutMs?: number }): Promise<void>;
  /** Stops every process (SIGTERM, then SIGKILL after a grace period), then the infrastructure it started. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** First metrics port with `defaultPorts` (trigger 9100, ingestion 9101 … in SERVICES order). */
const METRICS_PORT_BASE = 9100;

/** The name of a service's process in logs: `trainer`, then `trainer-2`, `trainer-3`… */
export const processName = (s: ServiceName, replica: number): string => (replica === 0 ? s : `${s}-${replica + 1}`);

function replicaCounts(r: StackOptions['replicas']): Record<ServiceName, number> {
  const counts = Object.fromEntries(SERVICES.map((s) => [s, typeof r === 'number' ? r : (r?.[s] ?? 1)])) as Record<ServiceName, number>;
  for (const [s, n] of Object.entries(counts)) if (!Number.isInteger(n) || n < 1) throw new RangeError(`replicas of ${s} must be a whole number ≥ 1, got ${n}`);
  return counts;
}

/**
 * Starts what is missing of the infrastructure (an embedded Postgres, NATS from a local
 * nats-server binary, an S3 server process) and the seven services as separate processes (or
 * `replicas` of each), supervised, then waits until each one's gRPC health check says SERVING.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const workDir = opts.workDir ?? join(REPO_ROOT, '.refit');
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const say = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const base: Record<string, string> = { ...(process.env as Record<string, string>), ...opts.env };
  if (opts.privateInfra) for (const k of ['REFIT_PG_URL', 'REFIT_NATS_URL', 'REFIT_NATS_USER', 'REFIT_NATS_PASSWORD', 'REFIT_S3_URL']) delete base[k];

  const credentials = await ensureLocalCredentials(workDir);
  Object.assign(base, credentials.cliEnv);
  const infra = await startStackInfra({ base, given: opts.env ?? {}, workDir, logDir, credentials, defaultPorts: opts.defaultPorts ?? false, startS3: opts.startS3 !== false, privateInfra: opts.privateInfra ?? false, warn: (l) => console.warn(l) });
  const counts = replicaCounts(opts.replicas);
  const supervisors = new Map<string, Supervised>();
  const exits: ExitRecord[] = [];
  const key = (s: ServiceName, replica = 0): string => {
    if (!Number.isInteger(replica) || replica < 0 || replica >= counts[s]) throw new RangeError(`${s} has ${counts[s]} replica(s); there is no replica ${replica}`);
    return `${s}#${replica}`;
  };
  // If the process that owns the stack dies without stopping it, its services go with it.
  const killAll = (): void => {
    for (const p of supervisors.values()) p.child?.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const stop = async (): Promise<void> => {
    await Promise.all([...supervisors.values()].map((p) => p.stop()));
    await stopStackInfra(infra);
    process.off('exit', killAll);
  };

  try {
    await opts.prepare?.(base);
    const replicaAddresses = {} as Record<ServiceName, string[]>;
    for (const s of SERVICES) {
      replicaAddresses[s] = [];
      for (let r = 0; r < counts[s]; r++) replicaAddresses[s].push(`127.0.0.1:${opts.defaultPorts ? DEFAULT_PORTS[s] + 100 * r : await freePort()}`);
    }
    const addresses = Object.fromEntries(SERVICES.map((s) => [s, replicaAddresses[s][0]])) as Record<ServiceName, string>;
    const metricsPorts = {} as Record<ServiceName, number[]>;
    for (const [i, s] of SERVICES.entries()) {
      metricsPorts[s] = [];
      for (let r = 0; r < counts[s]; r++) metricsPorts[s].push(opts.defaultPorts ? METRICS_PORT_BASE + i + 100 * r : await freePort());
    }
    const env: Record<string, string> = { ...base };
    for (const s of SERVICES) {
      const list = replicaAddresses[s];
      env[`REFIT_${s.toUpperCase()}_ADDR`] = list.length === 1 ? list[0] : `ipv4:${list.join(',')}`;
    }
    // Without the stack's own NATS there are no per-service users: services connect as the caller's environment says.
    const natsUser: Record<string, string> = base.REFIT_NATS_USER === 'admin' ? {} : { REFIT_NATS_USER: base.REFIT_NATS_USER ?? '', REFIT_NATS_PASSWORD: base.REFIT_NATS_PASSWORD ?? '' };
    const ca = credentials.cliEnv.REFIT_TLS_CA;
    const backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };

    const startProcess = (s: ServiceName, r: number): void => {
      const address = replicaAddresses[s][r];
      const own = { [`REFIT_${s.toUpperCase()}_GRPC_PORT`]: address.split(':')[1], REFIT_METRICS_PORT: String(metricsPorts[s][r]), ...credentials.serviceEnv(s), ...natsUser };
      const entry = join(REPO_ROOT, `services/${s}/src/main.ts`);
      const restart = opts.supervise !== false;
      supervisors.set(key(s, r), superviseService({ service: s, launch: opts.launch, name: processName(s, r), entry, cwd: REPO_ROOT, logDir, address, env: { ...env, ...own }, ca, backoff, restart, say, onExit: (e) => exits.push(e) }));
    };

    const waitServing = async (s: ServiceName, o: ReplicaOption & { timeoutMs?: number; failFast?: boolean } = {}): Promise<void> => {
      const r = o.replica ?? 0;
      const name = processName(s, r);
      const address = replicaAddresses[s][r];
      const logFile = join(logDir, `${name}.log`);
      await waitFor(
        `the ${name} service at ${address} (log: ${logFile})`,
        async () => (await checkHealth(address, '', 1000, ca)) === 'SERVING',
        o.timeoutMs ?? (opts.startTimeoutS ?? 60) * 1000,
        100,
        () => {
          const died = o.failFast ? exits.find((e) => e.process === name && !e.requested) : undefined;
          return died && new Error(`${name} ${exitWords(died.code, died.signal)} before serving; the last lines of ${logFile}:\n${tailFile(logFile).join('\n')}`);
        },
      );
    };

    for (const s of SERVICES) for (let r = 0; r < counts[s]; r++) startProcess(s, r);
    await Promise.all(SERVICES.flatMap((s) => replicaAddresses[s].map((_, r) => waitServing(s, { replica: r, failFast: true }))));

    return {
      addresses,
      replicaAddresses,
      metricsPorts,
      env,
      credentials,
      logDir,
      infra,
      exits,
      restarts: (s) => [...supervisors.entries()].filter(([k]) => !s || k.startsWith(`${s}#`)).reduce((n, [, p]) => n + p.restarts, 0),
      pid: (s, o = {}) => supervisors.get(key(s, o.replica))?.child?.pid,
      async kill(s, signal = 'SIGKILL', o = {}) {
        await supervisors.get(key(s, o.replica))?.kill(signal, { restart: o.restart ?? false });
      },
      async restart(s, o = {}) {
        supervisors.get(key(s, o.replica))?.start();
        await waitServing(s, o);
      },
      waitServing: (s, o) => waitServing(s, o),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
