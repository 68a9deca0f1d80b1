import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigrationFolders, createTestEnv, type MigrationFolders, type TestEnv } from '@refit/testing';
import { FailedPreconditionError, InvalidInputError, UnavailableError } from '../errors.js';
import { migrate } from './migrate.js';
import { afterCommit, createPool, dropSchema, ensureDatabase, withTransaction } from './pool.js';

let env: TestEnv;
let folders: MigrationFolders;

beforeAll(async () => {
  env = await createTestEnv({ name: 'pg' });
  folders = await createMigrationFolders('migrations');
});
afterAll(async () => {
  await env.cleanup();
  await folders.remove();
});

const migrationsDir = (files: Record<string, string>): Promise<string> => folders.write(files);

describe('migrate', () => {
  it('applies platform tables and files once, in order', async () => {
    const schema = env.schema('mig_order');
    await using pool = createPool({ url: env.pgUrl, schema });
    // 002 needs 001's table and 010 needs 002's column: only the right order works.
    const d = await migrationsDir({
      '010_c.sql': 'INSERT INTO runs (id, state) VALUES (1, $$new$$);',
      '001_a.sql': 'CREATE TABLE runs (id int PRIMARY KEY);',
      '002_b.sql': 'ALTER TABLE runs ADD COLUMN state text NOT NULL;',
      'README.md': 'ignored',
    });
    expect(await migrate(pool, { schema, dir: d })).toEqual({ applied: ['000_platform', '000_platform_resilience', '000_platform_outbox_dead', '001_a', '002_b', '010_c'] });
    expect(await migrate(pool, { schema, dir: d })).toEqual({ applied: [] });
    await writeFile(join(d, '011_d.sql'), 'ALTER TABLE runs ADD COLUMN note text;');
    expect(await migrate(pool, { schema, dir: d })).toEqual({ applied: ['011_d'] });

    const { rows } = await pool.query('SELECT version, sha256, applied_at FROM schema_migrations ORDER BY version');
    expect(rows.map((r: { version: string }) => r.version)).toEqual(['000_platform', '000_platform_outbox_dead', '000_platform_resilience', '001_a', '002_b', '010_c', '011_d']);
    expect((await pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n).toBe(1);
    // The platform tables are there, with the partial index on unpublished rows.
    await pool.query('SELECT seq, id, subject, type, payload, headers, created_at, published_at FROM outbox');
    await pool.query('SELECT consumer, event_id, handled_at FROM handled_events');
    const idx = await pool.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'outbox'`, [schema]);
    expect(idx.rows.map((r: { indexdef: string }) => r.indexdef).join('\n')).toMatch(/WHERE \(published_at IS NULL\)/);
  });

  it('lets replicas starting together apply each migration exactly once', async () => {
    const schema = env.schema('mig_race');
    const d = await migrationsDir({
      '001_a.sql': 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);',
      '002_b.sql': 'INSERT INTO t VALUES (2);',
    });
    const pools = Array.from({ length: 4 }, () => createPool({ url: env.pgUrl, schema }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, { schema, dir: d })));
      expect(results.flatMap((r) => r.applied).sort()).toEqual(['000_platform', '000_platform_outbox_dead', '000_platform_resilience', '001_a', '002_b']);
      expect((await pools[0].query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('refuses a migration whose content changed after it was applied', async () => {
    const schema = env.schema('mig_changed');
    await using pool = createPool({ url: env.pgUrl, schema });
    const d = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);', '002_b.sql': 'CREATE TABLE b (id int);' });
    await migrate(pool, { schema, dir: d });
    await writeFile(join(d, '001_a.sql'), 'CREATE TABLE a (id bigint);');
    await writeFile(join(d, '003_c.sql'), 'CREATE TABLE c (id int);');
    const err = await migrate(pool, { schema, dir: d }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toMatch(/001_a.*changed/);
    // Nothing after the changed migration was applied.
    const { rows } = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r: { version: string }) => r.version)).toEqual(['000_platform', '000_platform_outbox_dead', '000_platform_resilience', '001_a', '002_b']);
  });

  it('rolls back a failing migration and rejects badly named files', async () => {
    const schema = env.schema('mig_bad');
    await using pool = createPool({ url: env.pgUrl, schema });
    const failing = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int); SELECT * FROM missing_table;' });
    await expect(migrate(pool, { schema, dir: failing })).rejects.toThrow(/missing_table/);
    expect((await pool.query(`SELECT to_regclass('a') AS t`)).rows[0].t).toBeNull();
    await expect(migrate(pool, { schema, dir: await migrationsDir({ '1_a.sql': '' }) })).rejects.toThrow(InvalidInputError);
    await expect(migrate(pool, { schema, dir: await migrationsDir({ '001_a.sql': '', '001_b.sql': '' }) })).rejects.toThrow(/share number/);
    await expect(migrate(pool, { schema, dir: join(await migrationsDir({}), 'nope') })).rejects.toThrow(InvalidInputError);
  });
});

describe('pools and transactions', () => {
  it('pins connections to the schema and validates its name', async () => {
    const schema = env.schema('pool');
    await using pool = createPool({ url: env.pgUrl, schema, max: 2 });
    expect((await pool.query('SHOW search_path')).rows[0].search_path).toBe(schema);
    expect(() => createPool({ url: env.pgUrl, schema: 'Bad; DROP' })).toThrow(InvalidInputError);
  });

  it('commits on success and rolls back on error', async () => {
    const schema = env.schema('tx');
    await using pool = createPool({ url: env.pgUrl, schema });
    await migrate(pool, { schema, dir: await migrationsDir({ '001_t.sql': 'CREATE TABLE t (v text);' }) });
    expect(await withTransaction(pool, async (tx) => (await tx.query(`INSERT INTO t VALUES ('kept') RETURNING v`)).rows[0].v)).toBe('kept');
    await expect(
      withTransaction(pool, async (tx) => {
        await tx.query(`INSERT INTO t VALUES ('gone')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await pool.query('SELECT v FROM t')).rows).toEqual([{ v: 'kept' }]);
  });

  it('runs after-commit effects only once the transaction committed, and never for one that rolled back', async () => {
    const schema = env.schema('after');
    await using pool = createPool({ url: env.pgUrl, schema });
    await migrate(pool, { schema, dir: await migrationsDir({ '001_t.sql': 'CREATE TABLE parent (id int PRIMARY KEY); CREATE TABLE child (p int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);' }) });
    const ran: string[] = [];
    await withTransaction(pool, async (tx) => {
      afterCommit(tx, () => ran.push('first'));
      afterCommit(tx, () => {
        throw new Error('an effect that fails');
      });
      afterCommit(tx, () => ran.push('third'));
      expect(ran).toEqual([]);
    });
    expect(ran).toEqual(['first', 'third']);
    await expect(
      withTransaction(pool, async (tx) => {
        afterCommit(tx, () => ran.push('rolled back'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    // A commit the server refuses (a deferred constraint, a serialization failure) is a rollback too.
    await expect(
      withTransaction(pool, async (tx) => {
        afterCommit(tx, () => ran.push('refused at commit'));
        await tx.query('INSERT INTO child VALUES (1)');
      }),
    ).rejects.toThrow(/foreign key/);
    expect(ran).toEqual(['first', 'third']);
    const client = await pool.connect();
    try {
      expect(() => afterCommit(client, () => undefined)).toThrow(/no transaction open by withTransaction/);
    } finally {
      client.release();
    }
  });

  it('dropSchema removes a schema', async () => {
    const schema = env.schema('drop_me');
    await using pool = createPool({ url: env.pgUrl, schema });
    await migrate(pool, { schema, dir: await migrationsDir({}) });
    await dropSchema(env.pgUrl, schema);
    expect((await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount).toBe(0);
  });
});

describe('ensureDatabase', () => {
  it('creates a missing database, race-safe', async () => {
    const name = `refit_test_${randomBytes(3).toString('hex')}`;
    const url = new URL(env.pgUrl);
    url.pathname = `/${name}`;
    try {
      await Promise.all([ensureDatabase(url.toString()), ensureDatabase(url.toString()), ensureDatabase(url.toString())]);
      await ensureDatabase(url.toString());
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      await c.end();
    } finally {
      const admin = new pg.Client({ connectionString: env.pgUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
  });

  it('reports an unreachable server as UnavailableError', async () => {
    await expect(ensureDatabase('postgres://postgres@127.0.0.1:1/refit')).rejects.toThrow(UnavailableError);
  });
});
