/** Connecting to NATS and declaring the JetStream stream all Refit events live in. */
import { connect, nanos, RetentionPolicy, StorageType } from 'nats';
import type { NatsConnection, StreamConfig } from 'nats';
import { InvalidInputError, UnavailableError } from '../errors.js';
import { JS_ERR, jsErrCode, natsFailure } from './nats-errors.js';

/** A NATS connection that `await using` drains. */
export type RefitNatsConnection = NatsConnection & AsyncDisposable;

/** Options of {@link connectNats}. */
export interface ConnectNatsOptions {
  /** Server URL, e.g. `nats://127.0.0.1:4222`. */
  url: string;
  /** Connection name shown by the server's monitoring (use the service name). */
  name: string;
  /** Timeout of the first connection attempt in ms (default 5000). */
  timeoutMs?: number;
  /** User name, when the server authenticates its clients (REFIT_NATS_USER). */
  user?: string;
  /** Password of {@link ConnectNatsOptions.user} (REFIT_NATS_PASSWORD). */
  pass?: string;
}

/**
 * Connects to NATS. After the first success the client reconnects forever (publishes buffer
 * meanwhile), so a NATS restart never kills a service.
 *
 * @throws UnavailableError "cannot reach NATS at …" when the first attempt fails.
 */
export async function connectNats(opts: ConnectNatsOptions): Promise<RefitNatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.url,
      name: opts.name,
      timeout: opts.timeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      ...(opts.user ? { user: opts.user, pass: opts.pass ?? '' } : {}),
    });
  } catch (err) {
    throw new UnavailableError(`cannot reach NATS at ${opts.url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return Object.assign(nc, {
    async [Symbol.asyncDispose](): Promise<void> {
      // drain() lets in-flight publishes and acks go out; it throws if already closed.
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  });
}

/** Options of {@link ensureStream}. */
export interface EnsureStreamOptions {
  /** Stream name, e.g. `REFIT`. */
  name: string;
  /** The stream captures `${subjectPrefix}.>`. */
  subjectPrefix: string;
  /** Window in which JetStream drops a second message with the same `Nats-Msg-Id` (default 120000 = 2 min). */
  duplicateWindowMs?: number;
  /** Age after which messages are removed (default 0 = kept until limits; limits retention). */
  maxAgeMs?: number;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * Creates the stream (file storage, limits retention) or updates its subjects and windows when it
 * exists. Idempotent; safe when several services call it at start-up together.
 */
export async function ensureStream(nc: NatsConnection, opts: EnsureStreamOptions): Promise<void> {
  if (!TOKEN.test(opts.name)) throw new InvalidInputError(`invalid stream name ${JSON.stringify(opts.name)}`);
  if (!TOKEN.test(opts.subjectPrefix)) throw new InvalidInputError(`invalid subject prefix ${JSON.stringify(opts.subjectPrefix)}`);
  const want = {
    subjects: [`${opts.subjectPrefix}.>`],
    duplicate_window: nanos(opts.duplicateWindowMs ?? 120_000),
    max_age: nanos(opts.maxAgeMs ?? 0),
  };
  const what = `cannot declare stream ${opts.name}`;
  try {
    const jsm = await nc.jetstreamManager();
    let current: StreamConfig | undefined;
    try {
      current = (await jsm.streams.info(opts.name)).config;
    } catch (err) {
      if (jsErrCode(err) !== JS_ERR.streamNotFound) throw err;
    }
    if (!current) {
      try {
        await jsm.streams.add({ name: opts.name, storage: StorageType.File, retention: RetentionPolicy.Limits, ...want });
        return;
      } catch (err) {
        // Lost a creation race with another service using a slightly different config: update it.
        if (jsErrCode(err) !== JS_ERR.streamNameInUse) throw err;
        current = (await jsm.streams.info(opts.name)).config;
      }
    }
    const same =
      current.subjects?.length === 1 &&
      current.subjects[0] === want.subjects[0] &&
      current.duplicate_window === want.duplicate_window &&
      current.max_age === want.max_age;
    if (!same) await jsm.streams.update(opts.name, { ...current, ...want });
  } catch (err) {
    throw natsFailure(err, what);
  }
}
