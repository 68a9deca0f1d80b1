/**
 * Readiness: whether this process can do its job right now, i.e. reach Postgres, NATS and (when
 * its work needs it) the object store. A light probe runs every couple of seconds — `SELECT 1` on a
 * dedicated connection (a busy pool must not look like a dead database), a NATS round trip and a
 * stat of one object key — and NATS status events flip it at once.
 * The runtime reports it as the gRPC health status, so a load balancer or Kubernetes stops
 * sending work to a replica that cannot serve it and sends it again once it can.
 */
import type { NatsConnection } from 'nats';
import pg from 'pg';
import type { Logger } from './logger.js';
import { watchClient } from './pg/connection-errors.js';

/** What the probes found last. */
export interface ReadinessState {
  /** Postgres answered the last probe. */
  readonly postgres: boolean;
  /** NATS is connected and answered the last round trip. */
  readonly nats: boolean;
  /** The object store answered the last probe (always true when it is not probed). */
  readonly s3: boolean;
  /** All of them. */
  readonly ready: boolean;
}

/** Options of {@link startReadiness}. */
export interface ReadinessOptions {
  /** Postgres URL (the probe opens one connection of its own). */
  pgUrl: string;
  /** `application_name` of the probe's connection (default `refit:readiness`). */
  applicationName?: string;
  /** The service's NATS connection. */
  nc: NatsConnection;
  /**
   * Asks the object store something cheap (resolves when it answers, even "not found"); absent:
   * the store is not part of readiness (a service that can do its job without it).
   */
  probeStore?: () => Promise<unknown>;
  logger: Logger;
  /** Time between probes, in ms (default 2000). */
  intervalMs?: number;
  /** How long a probe may take before it counts as failed, in ms (default 1500). */
  timeoutMs?: number;
  /** Called at every change of the state (after it is logged). */
  onChange?: (state: ReadinessState) => void;
}

/** A running readiness probe. */
export interface Readiness {
  /** The current state; both parts start true (the runtime connected to both to start). */
  readonly state: ReadinessState;
  /** Stops probing and closes the probe's connection. */
  stop(): Promise<void>;
  /** Same as {@link Readiness.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Rejects after `ms` unless `p` settles first. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Starts probing; `onChange` hears every transition, each logged once. */
export function startReadiness(opts: ReadinessOptions): Readiness {
  const intervalMs = opts.intervalMs ?? 2000;
  const timeoutMs = opts.timeoutMs ?? 1500;
  const log = opts.logger.child({ component: 'readiness' });
  let postgres = true;
  let nats = !opts.nc.isClosed();
  let s3 = true;
  let client: pg.Client | undefined;
  let stopped = false;
  const state = (): ReadinessState => ({ postgres, nats, s3, ready: postgres && nats && s3 });
  const NAMES = { postgres: 'Postgres', nats: 'NATS', s3: 'the object store' } as const;

  const set = (part: 'postgres' | 'nats' | 's3', ok: boolean, err?: unknown): void => {
    if ((part === 'postgres' ? postgres : part === 'nats' ? nats : s3) === ok || stopped) return;
    if (part === 'postgres') postgres = ok;
    else if (part === 'nats') nats = ok;
    else s3 = ok;
    const name = NAMES[part];
    if (ok) log.info({ ...state() }, `${name} is reachable again${state().ready ? ': ready' : ''}`);
    else log.warn({ err, ...state() }, `${name} is unreachable: not ready`);
    try {
      opts.onChange?.(state());
    } catch (hookErr) {
      log.error({ err: hookErr }, 'readiness listener failed');
    }
  };

  const dropClient = (): void => {
    const c = client;
    client = undefined;
    c?.end().catch(() => undefined);
  };

  const probePostgres = async (): Promise<void> => {
    try {
      if (!client) {
        const c = new pg.Client({ connectionString: opts.pgUrl, application_name: opts.applicationName ?? 'refit:readiness', connectionTimeoutMillis: timeoutMs, keepAlive: true });
        watchClient(c, () => {
          if (client === c) client = undefined;
        });
        client = c;
        await within(c.connect(), timeoutMs, 'Postgres');
      }
      await within(client.query('SELECT 1'), timeoutMs, 'Postgres');
      set('postgres', true);
    } catch (err) {
      dropClient();
      set('postgres', false, err);
    }
  };

  const probeNats = async (): Promise<void> => {
    if (opts.nc.isClosed()) return set('nats', false, new Error('connection closed'));
    try {
      await within(opts.nc.flush(), timeoutMs, 'NATS');
      set('nats', true);
    } catch (err) {
      set('nats', false, err);
    }
  };

  const probeStore = async (): Promise<void> => {
    if (!opts.probeStore) return;
    try {
      await within(opts.probeStore(), timeoutMs, 'the object store');
      set('s3', true);
    } catch (err) {
      set('s3', false, err);
    }
  };

  // Status events make a lost connection visible at once, not at the next probe.
  void (async () => {
    for await (const s of opts.nc.status()) {
      if (s.type === 'disconnect') set('nats', false, new Error(`disconnected from ${String(s.data)}`));
      else if (s.type === 'reconnect') set('nats', true);
    }
  })().catch((err: unknown) => log.debug({ err }, 'NATS status events ended'));

  let probing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    probing = probing
      .then(() => Promise.all([probePostgres(), probeNats(), probeStore()]))
      .then(() => undefined)
      .catch((err: unknown) => log.error({ err }, 'readiness probe failed'));
  }, intervalMs);
  timer.unref();

  const stop = async (): Promise<void> => {
    stopped = true;
    clearInterval(timer);
    await probing;
    dropClient();
  };
  return {
    get state() {
      return state();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
