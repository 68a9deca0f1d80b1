import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startTcpProxy, waitFor, type TcpProxy, type TestEnv } from '@refit/testing';
import { createLogger } from '../logger.js';
import { startLeased, type LeaseContext } from './lease.js';
import { migrate } from './migrate.js';
import { createPool, type PgPool } from './pool.js';

const logger = createLogger({ service: 'test', level: process.env.REFIT_TEST_LOG_LEVEL ?? 'silent' });

let env: TestEnv;
let dir: string;
let pool: PgPool;
let schema: string;

beforeAll(async () => {
  env = await createTestEnv({ name: 'lease' });
  dir = await mkdtemp(join(tmpdir(), 'refit-lease-'));
  schema = env.schema('lease');
  pool = createPool({ url: env.pgUrl, schema });
  await migrate(pool, { schema, dir });
});
afterAll(async () => {
  await pool?.end();
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** Leased work that records who runs, and fails the test if two ever run at once. */
function tracker() {
  const running = new Set<string>();
  const runs: string[] = [];
  let overlaps = 0;
  const run =
    (who: string) =>
    async ({ signal }: LeaseContext): Promise<void> => {
      running.add(who);
      if (running.size > 1) overlaps++;
      runs.push(who);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      running.delete(who);
    };
  return { running, runs, run, overlaps: () => overlaps };
}

/** A pool whose Postgres the test can take away (a restart, as this holder sees it). */
async function poolBehindProxy(): Promise<{ proxy: TcpProxy; pool: PgPool }> {
  const url = new URL(env.pgUrl);
  const proxy = await startTcpProxy({ targetHost: url.hostname, targetPort: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  return { proxy, pool: createPool({ url: url.toString(), schema, connectionTimeoutMs: 1000 }) };
}

describe('startLeased', () => {
  it('runs the work in one of two holders, and the other takes over when the holder dies', async () => {
    const t = tracker();
    const behind = await poolBehindProxy();
    try {
      const a = startLeased(behind.pool, { name: 'takeover', ttlMs: 1500, run: t.run('a'), logger, holder: 'a' });
      await waitFor(() => a.held, { what: 'a holds the lease' });
      const since = (await pool.query<{ now: Date }>('SELECT now()')).rows[0].now;
      await using b = startLeased(pool, { name: 'takeover', ttlMs: 1500, run: t.run('b'), logger, holder: 'b' });
      // b tries every ttl/3 and fails while a renews: wait until a lease a held at b's start would have expired.
      await waitFor(async () => (await pool.query(`SELECT 1 FROM leases WHERE name = 'takeover' AND holder = 'a' AND renewed_at > $1::timestamptz + interval '1.6 seconds'`, [since])).rowCount === 1, {
        timeoutMs: 10_000,
      });
      expect(b.held).toBe(false);
      expect(t.runs).toEqual(['a']);
      // a's database goes away for good: it stops its work before its lease expires, b takes over.
      await behind.proxy.down();
      await waitFor(() => b.held, { timeoutMs: 10_000, what: 'b takes the lease over' });
      expect(a.held).toBe(false);
      expect(t.runs).toEqual(['a', 'b']);
      expect(t.overlaps()).toBe(0);
      await a.stop();
    } finally {
      await behind.proxy.stop();
      await behind.pool.end();
    }
  });

  it('hands the lease over at once when its holder stops', async () => {
    const t = tracker();
    const a = startLeased(pool, { name: 'handover', ttlMs: 60_000, run: t.run('a'), logger, holder: 'a' });
    await waitFor(() => a.held);
    await using b = startLeased(pool, { name: 'handover', ttlMs: 1200, run: t.run('b'), logger, holder: 'b' });
    const t0 = Date.now();
    await a.stop();
    // b's next attempt (every 400 ms) wins: not the 60 s a's lease would have lasted.
    await waitFor(() => b.held, { timeoutMs: 10_000 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(t.overlaps()).toBe(0);
  });

  it('survives a Postgres restart: the work stops while it cannot renew, and starts again after', async () => {
    const t = tracker();
    const behind = await poolBehindProxy();
    try {
      await using a = startLeased(behind.pool, { name: 'restart', ttlMs: 1500, run: t.run('a'), logger, holder: 'a' });
      await waitFor(() => a.held);
      await behind.proxy.down();
      await waitFor(() => !a.held, { timeoutMs: 10_000, what: 'the work stops without its lease' });
      expect(t.running.size).toBe(0);
      await behind.proxy.up();
      await waitFor(() => a.held, { timeoutMs: 10_000, what: 'the lease taken again' });
      expect(t.runs).toEqual(['a', 'a']);
      const { rows } = await pool.query<{ holder: string; token: string }>(`SELECT holder, token FROM leases WHERE name = 'restart'`);
      expect(rows[0].holder).toBe('a');
      expect(Number(rows[0].token)).toBeGreaterThanOrEqual(2);
    } finally {
      await behind.proxy.stop();
      await behind.pool.end();
    }
  });

  it('starts the work again when it throws, while the lease is held', async () => {
    let calls = 0;
    await using l = startLeased(pool, {
      name: 'rethrow',
      ttlMs: 600,
      logger,
      run: async ({ signal }) => {
        calls++;
        if (calls === 1) throw new Error('tick failed');
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      },
    });
    await waitFor(() => calls === 2, { timeoutMs: 10_000 });
    expect(l.held).toBe(true);
  });
});
