/**
 * Leases for singleton work in a replicated service (a scheduler tick, rollout analysis,
 * retention, webhook delivery): a row in the service schema's `leases` table names the replica
 * that holds it until `expires_at`. The holder renews it every third of the TTL; any replica
 * takes it over once it expired. A holder that cannot renew (Postgres down, network cut) stops
 * its work before the lease can expire, so two replicas never run it at once; when Postgres
 * comes back the lease is taken again (by whoever asks first).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { InvalidInputError } from '../errors.js';
import type { Logger } from '../logger.js';

/** What the leased work gets. */
export interface LeaseContext {
  /** Aborted when the lease is lost or stopped: stop promptly (within a third of the TTL). */
  signal: AbortSignal;
  /** Fencing token: grows at every acquisition, so writes can refuse an older holder's. */
  token: number;
  /** Who holds it (this process). */
  holder: string;
}

/** Options of {@link startLeased}. */
export interface LeaseOptions {
  /** Lease name, unique within the service schema, e.g. `rollout-analysis`. */
  name: string;
  /** How long a lease lasts without renewal, in ms (default 15000; at least 300). */
  ttlMs?: number;
  /**
   * The singleton work, started each time this process acquires the lease. It should run until
   * `signal` aborts; if it returns or throws while the lease is held it is started again one
   * renewal period later.
   */
  run: (ctx: LeaseContext) => Promise<void>;
  /** Logs acquisitions and losses. Default: none. */
  logger?: Logger;
  /** Identity of this process (default `<host>:<pid>:<random>`). */
  holder?: string;
}

/** A running lease loop. */
export interface Lease {
  /** True while this process holds the lease (and its work runs). */
  readonly held: boolean;
  /** This process's holder id. */
  readonly holder: string;
  /** Stops the work, then releases the lease so another replica takes it at once. */
  stop(): Promise<void>;
  /** Same as {@link Lease.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Rejects after `ms` unless `p` settles first. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/**
 * Runs `run` in exactly one replica at a time: the one holding the lease `name` in `pool`'s
 * schema (the platform's `leases` table). Returns at once; the work starts when the lease is won.
 *
 * @example
 * const lease = startLeased(rt.pool, { name: 'scheduler', ttlMs: 15_000, logger, run: ({ signal }) => schedulerLoop(signal) });
 * rt.onClose(() => lease.stop());
 */
export function startLeased(pool: pg.Pool, opts: LeaseOptions): Lease {
  const ttlMs = opts.ttlMs ?? 15_000;
  if (!(ttlMs >= 300)) throw new InvalidInputError(`lease ttlMs must be at least 300, got ${ttlMs}`);
  const every = Math.floor(ttlMs / 3);
  const holder = opts.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const log = opts.logger?.child({ lease: opts.name, holder });
  let stopped = false;
  let wake: () => void = () => undefined;
  // While held: the local time before which the lease is surely still ours.
  let deadline = 0;
  let work: { abort: AbortController; done: Promise<void> } | undefined;

  const acquire = async (): Promise<number | undefined> => {
    const { rows } = await within(
      pool.query<{ token: string }>(
        `INSERT INTO leases AS l (name, holder, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
           token = l.token + 1, acquired_at = now(), renewed_at = now()
         WHERE l.expires_at < now() OR l.holder = excluded.holder
         RETURNING token`,
        [opts.name, holder, ttlMs / 1000],
      ),
      every,
    );
    return rows.length > 0 ? Number(rows[0].token) : undefined;
  };
  const renew = async (): Promise<boolean> => {
    const { rowCount } = await within(
      pool.query('UPDATE leases SET expires_at = now() + make_interval(secs => $3), renewed_at = now() WHERE name = $1 AND holder = $2', [opts.name, holder, ttlMs / 1000]),
      every,
    );
    return (rowCount ?? 0) > 0;
  };

  const startWork = (token: number): void => {
    const abort = new AbortController();
    const done = (async () => {
      while (!abort.signal.aborted) {
        try {
          await opts.run({ signal: abort.signal, token, holder });
          if (!abort.signal.aborted) log?.warn('leased work returned while the lease is held; starting it again');
        } catch (err) {
          if (!abort.signal.aborted) log?.error({ err }, 'leased work failed; starting it again');
        }
        if (!abort.signal.aborted) await new Promise<void>((r) => setTimeout(r, every));
      }
    })();
    work = { abort, done };
  };
  const stopWork = async (why: string): Promise<void> => {
    const w = work;
    if (!w) return;
    w.abort.abort(new Error(why));
    await w.done;
    work = undefined;
  };

  const tick = async (): Promise<void> => {
    const sentAt = Date.now();
    if (!work) {
      const token = await acquire();
      if (token === undefined || stopped) return;
      deadline = sentAt + ttlMs;
      log?.info({ token }, 'lease acquired');
      startWork(token);
      return;
    }
    if (await renew()) {
      deadline = sentAt + ttlMs;
      return;
    }
    log?.warn('lease taken over by another replica; stopping the leased work');
    await stopWork('lease lost');
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        await tick();
      } catch (err) {
        // Cannot reach Postgres: keep the work only while the lease surely is still ours.
        if (work && Date.now() + every >= deadline) {
          log?.warn({ err }, 'could not renew the lease in time; stopping the leased work');
          await stopWork('lease could not be renewed');
        } else {
          log?.debug({ err }, 'lease query failed; will retry');
        }
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, every);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const running = loop().catch((err: unknown) => log?.error({ err }, 'lease loop crashed'));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      wake();
      await running;
      const had = work !== undefined;
      await stopWork('lease stopped');
      if (!had) return;
      await within(pool.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [opts.name, holder]), every).catch((err: unknown) =>
        log?.warn({ err }, 'could not release the lease; it expires by itself'),
      );
      log?.info('lease released');
    })();
    return stopping;
  };
  return {
    get held() {
      return work !== undefined && !work.abort.signal.aborted;
    },
    holder,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
