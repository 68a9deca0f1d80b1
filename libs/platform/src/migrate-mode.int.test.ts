import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigrationFolders, createTestEnv, type MigrationFolders, type TestEnv } from '@refit/testing';
import { FailedPreconditionError } from './errors.js';
import { createLogger } from './logger.js';
import { prepareSchema, runMigrationsOnly } from './migrate-mode.js';
import { checkMigrations, migrate, verifyMigrations } from './pg/migrate.js';
import { createPool } from './pg/pool.js';
import { PLATFORM_MIGRATIONS } from './pg/platform-migration.js';
import { startRuntime } from './runtime.js';

let env: TestEnv;
let folders: MigrationFolders;
const logger = createLogger({ service: 'migrate-test', level: 'silent' });
const PLATFORM = PLATFORM_MIGRATIONS.map((m) => m.version);

beforeAll(async () => {
  env = await createTestEnv({ name: 'migrate-mode' });
  folders = await createMigrationFolders('migrate-mode');
});
afterAll(async () => {
  await env.cleanup();
  await folders.remove();
});

const migrationsDir = (files: Record<string, string>): Promise<string> => folders.write(files);

type Roles = { ownerUrl: string; appUrl: string };

/**
 * Two new login roles set up as the README's "Migrations" section says: an owner that may create
 * schemas (the migrate Job's), and the services' user, which gets DML rights on whatever the owner
 * creates through default privileges, and nothing else.
 */
async function withRoles<T>(fn: (roles: Roles) => Promise<T>): Promise<T> {
  const id = randomBytes(4).toString('hex');
  const owner = `t_owner_${id}`;
  const app = `t_app_${id}`;
  const password = randomBytes(12).toString('hex');
  const admin = new pg.Client({ connectionString: env.pgUrl });
  await admin.connect();
  const [o, a] = [pg.escapeIdentifier(owner), pg.escapeIdentifier(app)];
  const database = pg.escapeIdentifier(decodeURIComponent(new URL(env.pgUrl).pathname.slice(1)));
  const urlOf = (role: string) => {
    const url = new URL(env.pgUrl);
    url.username = role;
    url.password = password;
    return url.toString();
  };
  try {
    await admin.query(`CREATE ROLE ${o} LOGIN PASSWORD '${password}'`);
    await admin.query(`CREATE ROLE ${a} LOGIN PASSWORD '${password}'`);
    await admin.query(`GRANT CREATE ON DATABASE ${database} TO ${o}`);
    await admin.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${o} GRANT USAGE ON SCHEMAS TO ${a}`);
    await admin.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${o} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${a}`);
    await admin.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${o} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${a}`);
    return await fn({ ownerUrl: urlOf(owner), appUrl: urlOf(app) });
  } finally {
    for (const r of [a, o]) {
      await admin.query(`DROP OWNED BY ${r} CASCADE`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
    }
    await admin.end();
  }
}

describe('checkMigrations and verifyMigrations', () => {
  it('names what a schema lacks, changes nothing, and passes once it is migrated', async () => {
    const schema = env.schema('verify_fresh');
    await using pool = createPool({ url: env.pgUrl, schema });
    const d = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);', '002_b.sql': 'CREATE TABLE b (id int);' });
    expect(await checkMigrations(pool, { schema, dir: d })).toEqual({ missing: [...PLATFORM, '001_a', '002_b'], changed: [] });
    // Read-only: not even the schema was created.
    expect((await pool.query('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [schema])).rows[0].n).toBe(0);
    await migrate(pool, { schema, dir: d });
    expect(await checkMigrations(pool, { schema, dir: d })).toEqual({ missing: [], changed: [] });
    await verifyMigrations(pool, { schema, dir: d });
  });

  it('refuses a missing or a changed migration, naming each and the Job that applies them', async () => {
    const schema = env.schema('verify_stale');
    await using pool = createPool({ url: env.pgUrl, schema });
    const d = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);' });
    await migrate(pool, { schema, dir: d });
    await writeFile(join(d, '001_a.sql'), 'CREATE TABLE a (id bigint);');
    await writeFile(join(d, '002_b.sql'), 'CREATE TABLE b (id int);');
    const err = await verifyMigrations(pool, { schema, dir: d }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as FailedPreconditionError).details).toEqual({ schema, missing: ['002_b'], changed: ['001_a'] });
    const message = (err as Error).message;
    expect(message).toContain(`schema ${schema} is not migrated`);
    expect(message).toMatch(/not applied: 002_b/);
    expect(message).toMatch(/changed since applied.*: 001_a/);
    expect(message).toContain('REFIT_MIGRATE=only');
    expect(message).toContain('refit-migrate Job');
  });

  it('accepts migrations beyond the files (a newer release migrated first, this one still rolling out)', async () => {
    const schema = env.schema('verify_newer');
    await using pool = createPool({ url: env.pgUrl, schema });
    const newer = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);', '002_b.sql': 'ALTER TABLE a ADD COLUMN note text;' });
    await migrate(pool, { schema, dir: newer });
    const older = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);' });
    await verifyMigrations(pool, { schema, dir: older });
  });
});

describe('REFIT_MIGRATE modes', () => {
  it('only: creates and migrates the schema with one connection, and says what it applied', async () => {
    const schema = env.schema('only');
    const d = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);' });
    const lines: string[] = [];
    const captured = createLogger({ service: 'migrate-test', destination: { write: (l: string) => lines.push(l) } });
    expect(await runMigrationsOnly({ config: { pgUrl: env.pgUrl, pgSchema: schema }, logger: captured, migrationsDir: d })).toEqual({ applied: [...PLATFORM, '001_a'] });
    expect(await runMigrationsOnly({ config: { pgUrl: env.pgUrl, pgSchema: schema }, logger: captured, migrationsDir: d })).toEqual({ applied: [] });
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; applied: string[] });
    expect(logged.map((l) => l.msg)).toEqual([`REFIT_MIGRATE=only: applied ${PLATFORM.length + 1} migration(s) to ${schema}`, `REFIT_MIGRATE=only: ${schema} was up to date`]);
    expect(logged[0].applied).toEqual([...PLATFORM, '001_a']);
  });

  it('verify: the services\' user (no DDL rights) starts on what the owner migrated, and is refused a stale schema', async () => {
    const config = { ...env.config('roles'), migrate: 'verify' as const };
    const schema = config.pgSchema;
    const d = await migrationsDir({
      '001_a.sql': `CREATE TABLE a (id bigserial PRIMARY KEY, v text);
        CREATE FUNCTION a_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := coalesce(NEW.v, 'stamped'); RETURN NEW; END $$;
        CREATE TRIGGER a_stamp BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION a_stamp();`,
    });
    await withRoles(async ({ ownerUrl, appUrl }) => {
      await runMigrationsOnly({ config: { pgUrl: ownerUrl, pgSchema: schema }, logger, migrationsDir: d });
      {
        await using rt = await startRuntime({ config: { ...config, pgUrl: appUrl }, logger, migrationsDir: d });
        // Its work is DML, through the sequence and the trigger, and on the platform's tables.
        expect((await rt.pool.query('INSERT INTO a DEFAULT VALUES RETURNING id, v')).rows).toEqual([{ id: '1', v: 'stamped' }]);
        await rt.pool.query('DELETE FROM a');
        await rt.pool.query(`INSERT INTO handled_events (consumer, event_id) VALUES ('c', 'e1')`);
        await rt.pool.query(`INSERT INTO leases (name, holder, expires_at) VALUES ('l', 'me', now()) ON CONFLICT (name) DO UPDATE SET holder = 'me'`);
        // And nothing else: it cannot migrate, so verify must not try.
        await expect(migrate(rt.pool, { schema, dir: d })).rejects.toThrow(/permission denied/);
        await expect(rt.pool.query('CREATE TABLE b (id int)')).rejects.toThrow(/permission denied/);
      }
      await writeFile(join(d, '002_b.sql'), 'CREATE TABLE b (id int);');
      await expect(startRuntime({ config: { ...config, pgUrl: appUrl }, logger, migrationsDir: d })).rejects.toThrow(/not applied: 002_b/);
      await runMigrationsOnly({ config: { pgUrl: ownerUrl, pgSchema: schema }, logger, migrationsDir: d });
      await using pool = createPool({ url: appUrl, schema });
      await prepareSchema({ config, logger, pool, migrationsDir: d });
      expect((await pool.query('SELECT count(*)::int AS n FROM b')).rows[0].n).toBe(0);
    });
  });

  it('startRuntime with verify refuses an unmigrated schema before it connects to NATS, and creates nothing', async () => {
    const config = { ...env.config('verifyrt'), migrate: 'verify' as const, natsUrl: 'nats://127.0.0.1:1' };
    const d = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);' });
    await expect(startRuntime({ config, logger, migrationsDir: d })).rejects.toThrow(FailedPreconditionError);
    await using pool = createPool({ url: env.pgUrl, schema: config.pgSchema });
    expect((await pool.query('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [config.pgSchema])).rows[0].n).toBe(0);
    await expect(startRuntime({ config: { ...config, migrate: 'only' }, logger, migrationsDir: d })).rejects.toThrow(/runMigrationsOnly/);
  });
});
