/**
 * Postgres connections that die: a server restart (57P01 admin shutdown), `pg_terminate_backend`,
 * a network cut. pg reports those as an 'error' event on the client — fatal to the process when
 * nobody listens, which is the case while pg-pool has the client checked out — and as plain
 * `Error`s on the queries. Here every client gets a listener for its whole life and such failures
 * become `UnavailableError`s, so callers can tell "retry later" from a broken query.
 */
import pg from 'pg';
import { UnavailableError } from '../errors.js';
import { isPgConnectionState, PG_CONNECTION_LOST } from '../transient.js';

/** On a watched client: the first error its connection raised (it is unusable from then on). */
const LOST = Symbol('refit.pg.lost');
/** On a watched client: set once the listener is attached. */
const WATCHED = Symbol('refit.pg.watched');

type Watched = pg.ClientBase & { [LOST]?: Error; [WATCHED]?: true; connection?: { stream?: { destroyed?: boolean } } };

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Marks an error object as a lost Postgres connection (read by `isTransient`). */
function markLost(err: unknown): void {
  if (err !== null && typeof err === 'object') {
    try {
      Object.defineProperty(err, PG_CONNECTION_LOST, { value: true, configurable: true });
    } catch {
      // A frozen error object stays unmarked; its class or code still classifies it.
    }
  }
}

/**
 * Gives `client` an 'error' listener for the rest of its life (idempotent) and makes its query
 * failures caused by a lost connection `UnavailableError`s. `report` hears each connection's
 * first failure (logging).
 */
export function watchClient(client: pg.ClientBase, report?: (err: Error) => void): void {
  const c = client as Watched;
  if (c[WATCHED]) return;
  c[WATCHED] = true;
  c.on('error', (err: Error) => {
    markLost(err);
    if (c[LOST]) return;
    c[LOST] = err;
    report?.(err);
  });
  const original = c.query.bind(c) as (...args: unknown[]) => unknown;
  c.query = ((...args: unknown[]) => {
    const first = args[0] as { submit?: unknown } | undefined;
    if (typeof first?.submit === 'function') return original(...args);
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      const callback = last as (err: unknown, res: unknown) => void;
      args[args.length - 1] = (err: unknown, res: unknown) => callback(err ? clientFailure(c, err) : err, res);
      return original(...args);
    }
    return (original(...args) as Promise<unknown>).catch((err: unknown) => {
      throw clientFailure(c, err);
    });
  }) as typeof c.query;
}

/** The error that made `client` unusable, if its connection was lost. */
export function connectionLostOf(client: pg.ClientBase): Error | undefined {
  const c = client as Watched;
  if (c[LOST]) return c[LOST];
  // The socket already closed but pg has not emitted its 'error' yet (same tick).
  if (c.connection?.stream?.destroyed) return new Error('connection closed');
  return undefined;
}

/**
 * What a query on `client` that failed with `err` should throw: an `UnavailableError` when the
 * connection is lost (the cause keeps the original), `err` itself for a statement that failed.
 */
export function clientFailure(client: pg.ClientBase, err: unknown): unknown {
  if (err instanceof UnavailableError) return err;
  const lost = connectionLostOf(client);
  // Only the client's own state and Postgres' own codes count: `err` may come from anything the
  // caller did inside its transaction (an S3 call's ECONNREFUSED is not a Postgres problem).
  if (!lost && !(err instanceof pg.DatabaseError && isPgConnectionState(err.code))) return err;
  markLost(err);
  const why = lost && lost !== err ? `${messageOf(lost)}; ${messageOf(err)}` : messageOf(err);
  return new UnavailableError(`lost the Postgres connection: ${why}`, { cause: err });
}

/** Where a URL points, without credentials, for error messages. */
export const describePgUrl = (url: string): string => {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
};

/**
 * What a failed checkout should throw: a SQL refusal that is not about availability (bad
 * password, missing database) as it is; anything else — refused, timed out, reset, "the database
 * system is starting up", too many clients — as an `UnavailableError`.
 */
export function connectFailure(err: unknown, url?: string): unknown {
  if (err instanceof UnavailableError) return err;
  if (err instanceof pg.DatabaseError && !isPgConnectionState(err.code)) return err;
  markLost(err);
  const where = url ? ` at ${describePgUrl(url)}` : '';
  return new UnavailableError(`cannot reach Postgres${where}: ${messageOf(err)}`, { cause: err });
}
