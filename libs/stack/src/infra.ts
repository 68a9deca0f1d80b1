import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
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

/** Checks that Postgres answers at `url`; the error says how to start it. */
export async function checkPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url.replace(/\/[^/?]*(\?.*)?$/, '/postgres$1'), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (e) {
    throw new UnavailableError(
      `cannot reach PostgreSQL at ${url}: ${(e as Error).message}. Start it (on Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or point REFIT_PG_URL at one.`,
      { cause: e },
    );
  } finally {
    await client.end().catch(() => undefined);
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

