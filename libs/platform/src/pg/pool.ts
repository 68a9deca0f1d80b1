/**
 * Postgres connection plumbing: one database per deployment, one schema per service. A pool's
 * connections are pinned to the service's schema with the `search_path` startup option so SQL
 * in the services never needs schema-qualified names.
 */
import pg from 'pg';
import { InvalidInputError, UnavailableError } from '../errors.js';

/** A `pg.Pool` pinned to one schema; `await using` ends it. */
export type PgPool = pg.Pool & AsyncDisposable;

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** Connection URL, e.g. `postgres://postgres@127.0.0.1:5432/refit`. */
  url: string;
  /** Schema every connection uses as `search_path` (must match `^[a-z_][a-z0-9_]*$`). */
  schema: string;
  /** Most connections open at once (default 5). */
  max?: number;
  /** Called when an idle connection fails (default: ignored; pg replaces the connection). */
  onError?: (err: Error) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;
/** SQLSTATE of CREATE DATABASE when the database already exists. */
const DUPLICATE_DATABASE = '42P04';
/** SQLSTATEs of a concurrent CREATE SCHEMA/TABLE IF NOT EXISTS losing a race on the catalog. */
const UNIQUE_VIOLATION = '23505';

/** Throws InvalidInputError unless `schema` is a plain lower-case identifier (it is spliced into SQL). */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema) || schema.length > 63) {
    throw new InvalidInputError(`invalid schema name ${JSON.stringify(schema)}: expected ^[a-z_][a-z0-9_]*$, at most 63 characters`);
  }
}

/** The SQLSTATE of a Postgres error, or undefined for anything else. */
export const sqlState = (err: unknown): string | undefined =>
  err instanceof pg.DatabaseError ? err.code : undefined;

/** Where a URL points, without credentials, for error messages. */
const describe = (url: string): string => {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
};

/** Turns a connection failure into an UnavailableError; leaves SQL errors alone. */
function connectionError(err: unknown, url: string): unknown {
  if (err instanceof pg.DatabaseError) return err;
  return new UnavailableError(`cannot reach Postgres at ${describe(url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Runs `fn` with a single short-lived client. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    throw connectionError(err, url);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates the database named in `url` if it does not exist, by connecting to the `postgres`
 * database of the same server. Safe when several processes race to create it.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new InvalidInputError(`Postgres URL ${describe(url)} names no database`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  await withClient(admin.toString(), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } catch (err) {
      // Another process created it between our check and our CREATE: that is what we wanted.
      if (sqlState(err) !== DUPLICATE_DATABASE && sqlState(err) !== UNIQUE_VIOLATION) throw err;
    }
  });
}

/**
 * Creates a pool whose connections use `search_path = <schema>`. The schema itself is created by
 * {@link migrate}. `await pool.end()` (or `await using`) closes it.
 */
export function createPool(opts: PoolOptions): PgPool {
  assertSchemaName(opts.schema);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 5,
    // A startup parameter rather than SET after connect: it applies before any query can run.
    options: `-c search_path=${opts.schema}`,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // Without a listener an idle connection dropped by the server would crash the process.
  pool.on('error', (err) => opts.onError?.(err));
  return Object.assign(pool, {
    async [Symbol.asyncDispose](): Promise<void> {
      if (!pool.ended && !pool.ending) await pool.end();
    },
  });
}

/**
 * Runs `fn` inside BEGIN/COMMIT on one pooled connection; rolls back and rethrows when it throws.
 * A connection whose ROLLBACK fails is destroyed rather than returned to the pool.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    try {
      await client.query('BEGIN');
    } catch (err) {
      broken = err as Error;
      throw err;
    }
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}

/** Drops `schema` and everything in it, if it exists (tests and tear-down). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  assertSchemaName(schema);
  await withClient(url, async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  });
}
