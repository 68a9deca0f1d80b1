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
