/**
 * Transactional outbox, read side: publishes committed outbox rows to JetStream in order and
 * stamps them published. Rows are claimed with FOR UPDATE SKIP LOCKED so several replicas can run
 * a relay at once; a crash between publish and stamp only causes a re-publish, which JetStream
 * drops thanks to `Nats-Msg-Id` (the event id) within the stream's duplicate window.
 */
import { headers as natsHeaders } from 'nats';
import type { JetStreamClient, NatsConnection } from 'nats';
import type pg from 'pg';
import type { Logger } from '../logger.js';
import { withTransaction } from '../pg/pool.js';
import { HEADER_EVENT_ID, HEADER_SOURCE } from './headers.js';
import { backoffMs, createWaker } from './waker.js';

/** Options of {@link startRelay}. */
export interface RelayOptions {
  /** Pool of the service schema holding the `outbox` table. */
  pool: pg.Pool;
  /** NATS connection to publish on. */
  nc: NatsConnection;
  /** Logger (outcomes at debug, failures at warn). */
  logger: Logger;
  /** Service name, sent as `Refit-Source` unless the row already carries one. */
  source: string;
  /** Interval between outbox polls in ms when idle (default 200). */
  pollMs?: number;
  /** Most rows published per transaction (default 100). */
  batchSize?: number;
  /** Longest wait between retries while NATS or Postgres is down, in ms (default 5000). */
  maxBackoffMs?: number;
  /** How long a JetStream publish may wait for its ack, in ms (default 5000). */
  publishTimeoutMs?: number;
  /** Published rows older than this are deleted, in ms (default 86400000 = 1 day). */
  retainPublishedMs?: number;
}

/** A running relay. */
export interface Relay {
  /** Publish now instead of at the next poll; call right after committing events. */
  kick(): void;
  /** Stops polling and waits for the batch in flight. */
  stop(): Promise<void>;
  /** Same as {@link Relay.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

interface OutboxRow {
  id: string;
  subject: string;
  payload: Buffer;
  headers: Record<string, string>;
}

const PRUNE_EVERY_MS = 60_000;

/** Publishes one batch; returns how many rows it claimed and the first publish failure. */
async function publishBatch(pool: pg.Pool, js: JetStreamClient, source: string, batchSize: number): Promise<{ claimed: number; error?: unknown }> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<OutboxRow>(
      `SELECT id, subject, payload, headers FROM outbox
        WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [batchSize],
    );
    if (rows.length === 0) return { claimed: 0 };
    // Pipelined: all publishes go out on the connection in seq order, then we await the acks.
    const results = await Promise.allSettled(
      rows.map((row) => {
        const h = natsHeaders();
        for (const [k, v] of Object.entries(row.headers)) h.set(k, v);
        h.set(HEADER_EVENT_ID, row.id);
        if (!h.has(HEADER_SOURCE)) h.set(HEADER_SOURCE, source);
        return js.publish(row.subject, row.payload, { msgID: row.id, headers: h });
      }),
    );
    const published = rows.filter((_, i) => results[i].status === 'fulfilled').map((r) => r.id);
    if (published.length > 0) {
      await tx.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])', [published]);
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    return { claimed: rows.length, error: failed?.reason };
  });
}

/**
 * Starts publishing the service's outbox to JetStream. Never loses an event: rows stay unpublished
 * until JetStream acknowledged them, and publishing retries with back-off while NATS is down.
 */
export function startRelay(opts: RelayOptions): Relay {
  const pollMs = opts.pollMs ?? 200;
  const batchSize = opts.batchSize ?? 100;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  const retainMs = opts.retainPublishedMs ?? 86_400_000;
  const js = opts.nc.jetstream({ timeout: opts.publishTimeoutMs ?? 5000 });
  const log = opts.logger.child({ component: 'outbox-relay' });
  const waker = createWaker();
  let stopped = false;
  let kicked = false;
  let failures = 0;
  let lastPrune = 0;

  const prune = async (): Promise<void> => {
    if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = Date.now();
    const { rowCount } = await opts.pool.query(
      `DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1)`,
      [retainMs / 1000],
    );
    if (rowCount) log.debug({ deleted: rowCount }, 'pruned published outbox rows');
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      kicked = false;
      let delay = pollMs;
      try {
        const { claimed, error } = await publishBatch(opts.pool, js, opts.source, batchSize);
        if (error !== undefined) throw error;
        if (claimed > 0) log.debug({ published: claimed }, 'published outbox events');
        if (failures > 0) log.info({ after: failures }, 'outbox relay recovered');
        failures = 0;
        // A full batch means more rows are probably waiting: go again at once.
        if (claimed === batchSize) delay = 0;
        await prune();
      } catch (err) {
        failures++;
        delay = backoffMs(failures, pollMs, maxBackoff);
        log.warn({ err, attempt: failures, retryInMs: delay }, 'outbox relay failed; will retry');
      }
      if (!stopped && !kicked && delay > 0) await waker.sleep(delay);
    }
  };

  const running = loop();

  const stop = async (): Promise<void> => {
    stopped = true;
    waker.wake();
    await running;
  };

  return {
    kick() {
      // While failing, keep the back-off: a kick per commit must not turn into a retry storm.
      if (failures > 0) return;
      kicked = true;
      waker.wake();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
