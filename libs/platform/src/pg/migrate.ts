/**
 * Forward-only SQL migrations per service schema. Files are `NNN_name.sql` in one directory,
 * applied in order, each in its own transaction under an advisory lock so replicas starting at
 * the same moment apply each file exactly once. A checksum per file refuses edited history.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { FailedPreconditionError, InvalidInputError } from '../errors.js';
import { PLATFORM_MIGRATIONS, type Migration } from './platform-migration.js';
import { assertSchemaName, withTransaction } from './pool.js';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Schema to create and migrate (usually `config.pgSchema`). */
  schema: string;
  /** Directory holding the service's `NNN_name.sql` files. */
  dir: string;
}

/** Result of {@link migrate}. */
export interface MigrateResult {
  /** Versions applied by this call, in order (empty when the schema was up to date). */
  applied: string[];
}

const FILE_NAME = /^(\d{3})_[a-z0-9_]+\.sql$/;
// First key of the two-int advisory lock: a fixed namespace so we never collide with app locks.
const LOCK_NAMESPACE = 0x52464954; // "RFIT"

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Reads and validates the migration files of `dir`, sorted by version. */
export async function readMigrations(dir: string): Promise<Migration[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new InvalidInputError(`cannot read migration directory ${dir}`, { cause: err });
  }
  const seen = new Map<string, string>();
  const migrations: Migration[] = [];
  for (const name of names.filter((n) => n.endsWith('.sql')).sort()) {
    const match = FILE_NAME.exec(name);
    if (!match) throw new InvalidInputError(`migration file ${name} in ${dir} must be named NNN_name.sql (lower-case)`);
    const number = match[1];
    const version = name.slice(0, -'.sql'.length);
    if (seen.has(number)) throw new InvalidInputError(`migrations ${seen.get(number)} and ${version} in ${dir} share number ${number}`);
    if (PLATFORM_MIGRATIONS.some((m) => m.version === version)) {
      throw new InvalidInputError(`migration ${version} in ${dir} clashes with a platform migration`);
    }
    seen.set(number, version);
    migrations.push({ version, sql: await readFile(join(dir, name), 'utf8') });
  }
  return migrations;
}

/**
 * Creates `schema` and a `schema_migrations` table, then applies the platform's migrations and the
 * files of `dir` that are not applied yet, in order, one transaction each.
 *
 * @throws FailedPreconditionError when an applied migration's content changed since.
 * @throws InvalidInputError for a badly named file or a missing directory.
 */
export async function migrate(pool: pg.Pool, opts: MigrateOptions): Promise<MigrateResult> {
  assertSchemaName(opts.schema);
  const schema = pg.escapeIdentifier(opts.schema);
  const migrations = [...PLATFORM_MIGRATIONS, ...(await readMigrations(opts.dir))];
  const applied: string[] = [];
  for (const m of migrations) {
    const checksum = sha256(m.sql);
    const didApply = await withTransaction(pool, async (tx) => {
      // Serialises replicas per schema; released automatically at COMMIT/ROLLBACK.
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE, opts.schema]);
      await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await tx.query(`SET LOCAL search_path TO ${schema}`);
      await tx.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version    text PRIMARY KEY,
           sha256     text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await tx.query<{ sha256: string }>('SELECT sha256 FROM schema_migrations WHERE version = $1', [m.version]);
      if (rows.length > 0) {
        if (rows[0].sha256 !== checksum) {
          throw new FailedPreconditionError(
            `migration ${m.version} of schema ${opts.schema} changed after it was applied; add a new migration instead of editing it`,
            { details: { version: m.version, schema: opts.schema, applied: rows[0].sha256, current: checksum } },
          );
        }
        return false;
      }
      await tx.query(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, sha256) VALUES ($1, $2)', [m.version, checksum]);
      return true;
    });
    if (didApply) applied.push(m.version);
  }
  return { applied };
}

/** What a schema lacks of a service's migrations (see {@link checkMigrations}). */
export interface MigrationStatus {
  /** Versions not applied to the schema, in the order they would be (the platform's first). */
  missing: string[];
  /** Versions applied with another checksum than their file has now (edited after release). */
  changed: string[];
}

/**
 * Compares the migrations of `dir` (and the platform's) with what `schema` records, changing
 * nothing: it needs only USAGE on the schema and SELECT on its `schema_migrations`. Versions the
 * schema has beyond the files (a newer release migrated first) are not a problem: migrations are
 * additive, so the older code still runs on them during a rollout.
 *
 * @throws InvalidInputError for a badly named file or a missing directory.
 */
export async function checkMigrations(pool: pg.Pool, opts: MigrateOptions): Promise<MigrationStatus> {
  assertSchemaName(opts.schema);
  const migrations = [...PLATFORM_MIGRATIONS, ...(await readMigrations(opts.dir))];
  const table = `${pg.escapeIdentifier(opts.schema)}.schema_migrations`;
  const { rows: found } = await pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  const applied = new Map<string, string>();
  if (found[0]?.present) {
    const { rows } = await pool.query<{ version: string; sha256: string }>(`SELECT version, sha256 FROM ${table}`);
    for (const r of rows) applied.set(r.version, r.sha256);
  }
  const missing = migrations.filter((m) => !applied.has(m.version)).map((m) => m.version);
  const changed = migrations.filter((m) => applied.has(m.version) && applied.get(m.version) !== sha256(m.sql)).map((m) => m.version);
  return { missing, changed };
}

/** The message of a schema that is not migrated as its service needs: what is wrong and how to fix it. */
export function describeUnmigrated(schema: string, status: MigrationStatus): string {
  const problems = [
    ...(status.missing.length > 0 ? [`not applied: ${status.missing.join(', ')}`] : []),
    ...(status.changed.length > 0 ? [`changed since applied (the file differs from the checksum recorded): ${status.changed.join(', ')}`] : []),
  ];
  return (
    `REFIT_MIGRATE=verify: schema ${schema} is not migrated for this release (${problems.join('; ')}). ` +
    `Run this release's migrations first: the same image with REFIT_MIGRATE=only and the schema owner's REFIT_PG_URL ` +
    `(the refit-migrate Job of deploy/k8s/overlays/prod), or start with REFIT_MIGRATE=apply where the service may migrate itself. ` +
    `A changed migration is never re-applied: restore the released file and add a new one.`
  );
}

/**
 * Refuses a schema that lacks one of the service's migrations or has one with another checksum.
 *
 * @throws FailedPreconditionError naming the missing and changed versions and how to migrate.
 */
export async function verifyMigrations(pool: pg.Pool, opts: MigrateOptions): Promise<void> {
  const status = await checkMigrations(pool, opts);
  if (status.missing.length === 0 && status.changed.length === 0) return;
  throw new FailedPreconditionError(describeUnmigrated(opts.schema, status), { details: { schema: opts.schema, ...status } });
}
