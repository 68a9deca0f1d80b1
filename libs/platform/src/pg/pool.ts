/**
 * Postgres connection plumbing: one database per deployment, one schema per service. A pool's
 * connections are pinned to the service's schema with the `search_path` startup option so SQL
 * in the services never needs schema-qualified names.
 */
import pg from 'pg';
import { InvalidInputError, isRefitError } from '../errors.js';
import { clientFailure, connectFailure, connectionLostOf, describePgUrl, watchClient } from './connection-errors.js';

/** A `pg.Pool` pinned to one schema; `await using` ends it. */
export type PgPool = pg.Pool & AsyncDisposable;

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** Connection URL, e.g. `postgres://postgres@127.0.0.1:5432/refit`. */
  url: string;
  /** Schema every connection uses as `search_path` (must match `^[a-z_][a-z0-9_]*$`). */
  schema: string;
  /**
   * Most connections open at once (default {@link DEFAULT_POOL_MAX} = 10; services pass
   * `REFIT_PG_POOL_MAX`). Each consumer message in a transaction and each gRPC call querying holds one.
   */
  max?: number;
  /** Called once per connection that fails, idle or checked out (default: ignored; the pool replaces it). */
  onError?: (err: Error) => void;
  /** `application_name` of the connections, shown in `pg_stat_activity` (default `refit:<schema>`). */
  applicationName?: string;
  /** How long a new connection may take, in ms (default 10000); then the checkout fails as unavailable. */
  connectionTimeoutMs?: number;
}

/** Default size of a pool (`REFIT_PG_POOL_MAX`). */
export const DEFAULT_POOL_MAX = 10;

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

/**
 * The SQLSTATE of a Postgres error (also of one the pool wrapped, e.g. a lost connection's 57P01
 * inside an `UnavailableError`), or undefined for anything else.
 */
export const sqlState = (err: unknown): string | undefined => {
  if (err instanceof pg.DatabaseError) return err.code;
  return isRefitError(err) && err.cause instanceof pg.DatabaseError ? err.cause.code : undefined;
};

/** Runs `fn` with a single short-lived client. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  watchClient(client);
  try {
    await client.connect();
  } catch (err) {
    throw connectFailure(err, url);
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
  if (!name) throw new InvalidInputError(`Postgres URL ${describePgUrl(url)} names no database`);
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
 *
 * Every connection is watched for its whole life, idle or checked out (see {@link watchClient}):
 * a connection the server kills (a Postgres restart, `pg_terminate_backend`, a network cut) never
 * crashes the process, fails its caller with an `UnavailableError`, and is dropped from the pool.
 * `pool.connect()` and `pool.query()` report an unreachable server the same way.
 */
export function createPool(opts: PoolOptions): PgPool {
  assertSchemaName(opts.schema);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? DEFAULT_POOL_MAX,
    // A startup parameter rather than SET after connect: it applies before any query can run.
    options: `-c search_path=${opts.schema}`,
    application_name: opts.applicationName ?? `refit:${opts.schema}`,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    // TCP keep-alive finds a peer that vanished without closing (a cut network) on idle sockets.
    keepAlive: true,
  });
  const report = (err: Error): void => {
    try {
      opts.onError?.(err);
    } catch {
      // A failing reporter must not turn a handled connection loss into a crash.
    }
  };
  // Without a listener an idle connection dropped by the server would crash the process.
  pool.on('error', (err) => report(err));
  pool.on('connect', (client) => watchClient(client, report));
  const connect = pool.connect.bind(pool);
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const checkout = (): Promise<pg.PoolClient> =>
    connect().catch((err: unknown) => {
      throw connectFailure(err, opts.url);
    });
  return Object.assign(pool, {
    connect: ((...args: unknown[]) => (args.length > 0 ? (connect as (...a: unknown[]) => unknown)(...args) : checkout())) as typeof pool.connect,
    query: ((...args: unknown[]) => {
      const first = args[0] as { submit?: unknown } | undefined;
      if (typeof args[args.length - 1] === 'function' || typeof first?.submit === 'function') return query(...args);
      // Checked out here rather than by pg-pool so a failure is classified (and a statement error
      // does not cost the connection, which pg-pool's query() would destroy).
      return (async () => {
        const client = await checkout();
        try {
          return await (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          client.release(connectionLostOf(client));
        }
      })();
    }) as typeof pool.query,
    async [Symbol.asyncDispose](): Promise<void> {
      if (!pool.ended && !pool.ending) await pool.end();
    },
  });
}

/**
 * Runs `fn` inside BEGIN/COMMIT on one pooled connection; rolls back and rethrows when it throws.
 * A connection that failed (killed by the server, ROLLBACK impossible) is destroyed rather than
 * returned to the pool, and the caller gets an `UnavailableError` (transient: retry it).
 *
 * Keep `fn` short: it holds a connection and a transaction. Long work (training, S3 I/O, scoring)
 * goes before it (see the consumers' `work`/`effects`).
 */
/** In-memory effects waiting for the commit of each open {@link withTransaction}. */
const pendingEffects = new WeakMap<pg.PoolClient, Array<() => void>>();

/**
 * Runs `fn` once the transaction open on `tx` (by {@link withTransaction}) has committed, never
 * when it rolls back: for in-memory effects such as counting a decision, which a retried
 * transaction must not do twice. An effect that throws does not undo the commit (nor stop the
 * others); it is reported on stderr. Throws when `tx` is not inside {@link withTransaction}.
 */
export function afterCommit(tx: pg.PoolClient, fn: () => void): void {
  const effects = pendingEffects.get(tx);
  if (!effects) throw new Error('afterCommit: this client has no transaction open by withTransaction');
  effects.push(fn);
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw connectFailure(err);
  }
  // A pool not made by createPool: watch the connection from now on.
  watchClient(client);
  let broken: Error | undefined;
  try {
    try {
      await client.query('BEGIN');
    } catch (err) {
      broken = err as Error;
      throw err;
    }
    const effects: Array<() => void> = [];
    pendingEffects.set(client, effects);
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      pendingEffects.delete(client);
      for (const effect of effects) {
        try {
          effect();
        } catch (err) {
          process.stderr.write(`an after-commit effect failed: ${(err as Error).stack ?? String(err)}\n`);
        }
      }
      return result;
    } catch (err) {
      pendingEffects.delete(client);
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
      throw err;
    }
  } catch (err) {
    throw clientFailure(client, err);
  } finally {
    client.release(broken ?? connectionLostOf(client));
  }
}

/** Drops `schema` and everything in it, if it exists (tests and tear-down). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  assertSchemaName(schema);
  await withClient(url, async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  });
}
