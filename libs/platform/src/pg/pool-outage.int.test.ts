import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startTcpProxy, waitFor, type TestEnv } from '@refit/testing';
import { UnavailableError } from '../errors.js';
import { isTransient } from '../transient.js';
import { migrate } from './migrate.js';
import { createPool, withTransaction, type PgPool } from './pool.js';

let env: TestEnv;
let dir: string;
let pool: PgPool;
let admin: pg.Client;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => void uncaught.push(err);

beforeAll(async () => {
  env = await createTestEnv({ name: 'pool-outage' });
  dir = await mkdtemp(join(tmpdir(), 'refit-pool-outage-'));
  await writeFile(join(dir, '001_t.sql'), 'CREATE TABLE t (v text);');
  pool = createPool({ url: env.pgUrl, schema: env.schema('po') });
  await migrate(pool, { schema: env.schema('po'), dir });
  admin = new pg.Client({ connectionString: env.pgUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await admin?.end();
  await pool?.end();
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  // Each test answers for the process-level errors raised while it ran.
  expect(uncaught.splice(0)).toEqual([]);
});

const terminate = async (pid: number): Promise<void> => {
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  await waitFor(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, { what: `backend ${pid} gone` });
};
const pidOf = async (c: pg.ClientBase): Promise<number> => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;

describe('a pool whose connections the server kills', () => {
  it('rejects a transaction whose backend is terminated while it is open (idle in transaction) with UnavailableError', async () => {
    let pid = 0;
    const err = await withTransaction(pool, async (tx) => {
      pid = await pidOf(tx);
      await tx.query(`INSERT INTO t VALUES ('lost')`);
      // Long work inside the transaction (as the trainer did): the server goes away meanwhile.
      await terminate(pid);
      await new Promise((r) => setImmediate(r));
      await tx.query(`INSERT INTO t VALUES ('after')`);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(isTransient(err)).toBe(true);
    // The broken connection is not handed out again, and the pool goes on working.
    for (let i = 0; i < 3; i++) {
      const c = await pool.connect();
      try {
        expect(await pidOf(c)).not.toBe(pid);
      } finally {
        c.release();
      }
    }
    expect((await pool.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(0);
  });

  it('rejects a transaction whose backend is terminated during a query with UnavailableError', async () => {
    const err = await withTransaction(pool, async (tx) => {
      const pid = await pidOf(tx);
      const sleeping = tx.query('SELECT pg_sleep(30)').then(() => undefined, (e: unknown) => e);
      await waitFor(async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%' AND state = 'active'`, [pid])).rowCount === 1);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const failure = await sleeping;
      if (failure) throw failure;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('a cancelled statement is transient and leaves the connection usable', async () => {
    const err = await withTransaction(pool, async (tx) => {
      const pid = await pidOf(tx);
      const sleeping = tx.query('SELECT pg_sleep(30)').then(() => undefined, (e: unknown) => e);
      await waitFor(async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%' AND state = 'active'`, [pid])).rowCount === 1);
      await admin.query('SELECT pg_cancel_backend($1)', [pid]);
      const failure = await sleeping;
      if (failure) throw failure;
    }).catch((e: unknown) => e);
    expect(isTransient(err)).toBe(true);
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('a client checked out with pool.connect() survives its backend being terminated', async () => {
    const c = await pool.connect();
    const pid = await pidOf(c);
    await terminate(pid);
    const err = await c.query('SELECT 1').catch((e: unknown) => e);
    expect(isTransient(err)).toBe(true);
    c.release(err as Error);
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('an idle pooled connection terminated by the server is dropped and replaced', async () => {
    const c = await pool.connect();
    const pid = await pidOf(c);
    c.release();
    const before = pool.totalCount;
    await terminate(pid);
    // The pool notices on its own (the connection's 'error'), without crashing, and drops it.
    await waitFor(() => pool.totalCount < before, { what: 'the dead idle connection dropped' });
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('reports Postgres going away as UnavailableError, and recovers when it is back', async () => {
    const url = new URL(env.pgUrl);
    await using proxy = await startTcpProxy({ targetPort: Number(url.port || 5432), targetHost: url.hostname });
    url.host = `127.0.0.1:${proxy.port}`;
    await using p = createPool({ url: url.toString(), schema: env.schema('po') });
    expect((await p.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    const open = withTransaction(p, async (tx) => {
      await tx.query('SELECT 1');
      await proxy.down();
      await tx.query('SELECT 2');
    }).catch((e: unknown) => e);
    expect(await open).toBeInstanceOf(UnavailableError);
    expect(await withTransaction(p, (tx) => tx.query('SELECT 1')).catch((e: unknown) => e)).toBeInstanceOf(UnavailableError);
    expect(isTransient(await p.query('SELECT 1').catch((e: unknown) => e))).toBe(true);
    await proxy.up();
    expect((await p.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });
});
