/**
 * Transactional outbox, read side: publishes committed outbox rows to JetStream in order and
 * stamps them published. Rows are claimed with FOR UPDATE SKIP LOCKED so several replicas can run
 * a relay at once; a crash between publish and stamp only causes a re-publish, which JetStream
 * drops thanks to `Nats-Msg-Id` (the event id) within the stream's duplicate window.
 *
 * A row that can never be published (larger than NATS's max_payload, on a subject NATS refuses,
 * or failing `maxAttempts` times while NATS is up) is moved to `outbox_dead` with the reason, and
 * the run it belongs to fails with that reason (a `run.failed` event, which every service may
 * publish): one bad row never holds up the others. While NATS is down, rows wait as they are.
 */
import { context } from '@opentelemetry/api';
import { ErrorCode, NatsError, headers as natsHeaders } from 'nats';
import type { JetStreamClient, NatsConnection } from 'nats';
import type pg from 'pg';
import { isPermanent } from '../errors.js';
import { EVENTS, subjectOf } from '../events.js';
import type { Logger } from '../logger.js';
import type { RelayObserver } from '../metrics/observers.js';
import { withTransaction } from '../pg/pool.js';
import { isTransient } from '../transient.js';
import { errorText, isDeadLetterSubject } from './dead-letter.js';
import { extractTraceContext } from '../tracing/propagation.js';
import { cloudEventHeaders, HEADER_EVENT_ID, HEADER_NATS_MSG_ID, HEADER_RUN_ID, HEADER_SOURCE, HEADER_TRACE_ID, headerValue } from './headers.js';
import { jsErrCode } from './nats-errors.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, deterministicEventId, encodedHeadersBytes, enqueueEvent, eventName, formatBytes } from './outbox.js';
import { HEADER_SIGNATURE, type EventSigner } from './signing.js';
import { backoffMs, createWaker } from './waker.js';

/** Options of {@link startRelay}. */
export interface RelayOptions {
  /** Pool of the service schema holding the `outbox` table. */
  pool: pg.Pool;
  /** NATS connection to publish on; its server's `max_payload` bounds what can be published. */
  nc: NatsConnection;
  /** Logger (outcomes at debug, failures at warn, rows moved aside at error). */
  logger: Logger;
  /** Service name, sent as `Refit-Source` (whatever the row's headers say); the stage of the run.failed events it sends for rows moved aside. */
  source: string;
  /** Signs every event with the service's key (`Refit-Signature`). Default: unsigned (development). */
  signer?: EventSigner;
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
  /** How long stop() keeps publishing what is committed before it returns, in ms (default 5000). */
  drainTimeoutMs?: number;
  /**
   * Failed publishes of one row, for a reason that is neither an outage nor known to be final,
   * after which it is moved aside to `outbox_dead` (default 5).
   */
  maxAttempts?: number;
  /** Told what each round published and failed to, and how long it took (metrics). Default: none. */
  observer?: RelayObserver;
}

/** A running relay. */
export interface Relay {
  /** Publish now instead of at the next poll; call right after committing events. */
  kick(): void;
  /**
   * Stops polling, then publishes what is committed (batch after batch, for at most
   * `drainTimeoutMs`) so that events of work finished before shutdown do not wait for the next
   * process. What could not be published stays in the outbox for the next relay.
   */
  stop(): Promise<void>;
  /** Same as {@link Relay.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

interface OutboxRow {
  id: string;
  subject: string;
  type: string;
  headers: Record<string, string>;
  /** The row's own failed publishes so far. */
  attempts: number;
  /** Bytes of the payload. */
  size: number;
  /** Null when the payload alone is larger than NATS takes (it is then never loaded). */
  payload: Buffer | null;
  /** When the event was written (CloudEvents `time`). */
  created_at: Date;
}

/** What became of one claimed row: published, moved aside, failed on its own (counted), or waiting out an outage. */
type Outcome = { row: OutboxRow } & ({ kind: 'published' } | { kind: 'dead'; reason: string } | { kind: 'failed' | 'outage'; error: unknown });

/** A row moved to `outbox_dead`. */
interface DeadRow {
  row: OutboxRow;
  reason: string;
  attempts: number;
}

/** What the relay publishes with, fixed for its life. */
interface Publisher {
  nc: NatsConnection;
  js: JetStreamClient;
  source: string;
  signer?: EventSigner;
  maxAttempts: number;
}

/** What one batch did. */
interface BatchResult {
  claimed: number;
  /** Rows published or moved aside: how far the outbox moved on. */
  done: number;
  dead: DeadRow[];
  /** The first failure of a row left in the outbox. */
  error?: unknown;
}

const PRUNE_EVERY_MS = 60_000;
const PREFIX = /^[A-Za-z0-9_-]+$/;
/** JetStream's "message size exceeds maximum allowed" (the stream's max_msg_size). */
const JS_MESSAGE_TOO_LARGE = 10054;
/** nats.js refusals of the message itself, final whatever the server's state. */
const REFUSED = new Set<string>([ErrorCode.BadSubject, ErrorCode.BadHeader, ErrorCode.BadPayload, ErrorCode.PermissionsViolation]);

/** The row's headers as published: its own plus the relay's identity headers and the CloudEvents attributes. */
function headersOf(p: Publisher, row: OutboxRow & { payload: Buffer }): Record<string, string> {
  const h: Record<string, string> = { ...row.headers, [HEADER_EVENT_ID]: row.id, [HEADER_NATS_MSG_ID]: row.id };
  // The publisher is always this service: a copied header (a dead letter's) cannot claim another.
  h[HEADER_SOURCE] = p.source;
  Object.assign(h, cloudEventHeaders({ id: row.id, type: row.type, source: p.source, time: row.created_at }));
  if (p.signer) h[HEADER_SIGNATURE] = p.signer.sign({ subject: row.subject, id: row.id, type: row.type, runId: row.headers[HEADER_RUN_ID], payload: row.payload });
  return h;
}

/** Publishes one row; any failure, even one thrown while preparing it, is a rejection. */
async function publishRow(p: Publisher, row: OutboxRow & { payload: Buffer }, h: Record<string, string>): Promise<void> {
  const mh = natsHeaders();
  for (const [k, v] of Object.entries(h)) mh.set(k, v);
  await p.js.publish(row.subject, row.payload, { msgID: row.id, headers: mh });
}

/** What a failed publish says about its row (`othersStored`: other rows of the batch were stored). */
function classify(row: OutboxRow, err: unknown, publishedBytes: number, maxPayload: number, othersStored: boolean): Outcome {
  const code = err instanceof NatsError ? err.code : undefined;
  if (code === ErrorCode.MaxPayloadExceeded) return { row, kind: 'dead', reason: `it is ${formatBytes(publishedBytes)} with its headers; NATS takes at most ${formatBytes(maxPayload)} (max_payload)` };
  if (code === ErrorCode.PermissionsViolation) return { row, kind: 'dead', reason: `NATS refuses its subject ${row.subject}: ${errorText(err)}` };
  if ((code !== undefined && REFUSED.has(code)) || jsErrCode(err) === JS_MESSAGE_TOO_LARGE || isPermanent(err)) return { row, kind: 'dead', reason: errorText(err) };
  // "No responders" also answers a subject no stream captures: so it means while others are stored.
  if (isTransient(err)) return { row, kind: othersStored && code === ErrorCode.NoResponders ? 'failed' : 'outage', error: err };
  // Any other JetStream refusal (storage full, a stream limit) is the stream's state, not the row's.
  if (jsErrCode(err) !== undefined) return { row, kind: 'outage', error: err };
  return { row, kind: 'failed', error: err };
}

/** Publishes the claimed rows, pipelined (all go out on the connection in seq order, then the acks are awaited). */
async function publishRows(p: Publisher, rows: OutboxRow[], maxPayload: number): Promise<Outcome[]> {
  const prepared = rows.map((row) => (row.payload === null ? undefined : { row: { ...row, payload: row.payload }, h: {} as Record<string, string> }));
  const settled = await Promise.allSettled(
    prepared.map(async (x) => {
      if (!x) return;
      x.h = headersOf(p, x.row);
      await publishRow(p, x.row, x.h);
    }),
  );
  const stored = settled.filter((s, i) => s.status === 'fulfilled' && prepared[i]).length;
  return rows.map((row, i): Outcome => {
    const s = settled[i];
    if (row.payload === null) return { row, kind: 'dead', reason: `it is ${formatBytes(row.size)}; NATS takes at most ${formatBytes(maxPayload)} (max_payload)` };
    if (s.status === 'fulfilled') return { row, kind: 'published' };
    const outcome = classify(row, s.reason, row.size + encodedHeadersBytes(prepared[i]?.h ?? {}), maxPayload, stored > 0);
    if (outcome.kind !== 'failed' || row.attempts + 1 < p.maxAttempts) return outcome;
    return { row, kind: 'dead', reason: `publishing it failed ${row.attempts + 1} times, lastly: ${errorText(outcome.error)}` };
  });
}

/** Moves `dead` to outbox_dead (the payload stays in Postgres) and fails the runs they belong to. */
async function moveAside(tx: pg.PoolClient, source: string, dead: DeadRow[]): Promise<void> {
  await tx.query(
    `WITH d(id, reason, attempts) AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[])),
     moved AS (DELETE FROM outbox o USING d WHERE o.id = d.id
               RETURNING o.seq, o.id, o.subject, o.type, o.payload, o.headers, o.created_at, d.attempts, d.reason)
     INSERT INTO outbox_dead (seq, id, subject, type, payload, headers, created_at, attempts, reason)
     SELECT seq, id, subject, type, payload, headers, created_at, attempts, reason FROM moved`,
    [dead.map((d) => d.row.id), dead.map((d) => d.reason), dead.map((d) => d.attempts)],
  );
  for (const { row, reason } of dead) {
    const runId = row.headers[HEADER_RUN_ID];
    // Every Refit subject is `<prefix>.<name>` with a one-token prefix (see config.ts).
    const prefix = row.subject.slice(0, Math.max(0, row.subject.indexOf('.')));
    // A run.failed that cannot go out must not beget another; a dead letter's run was already dealt with.
    if (!runId || !PREFIX.test(prefix) || row.type === EVENTS.runFailed.schema.typeName || isDeadLetterSubject(prefix, row.subject)) continue;
    // The run.failed continues the trace of the event it replaces.
    await context.with(extractTraceContext(row.headers), () => enqueueEvent(tx, {
      subject: subjectOf(prefix, EVENTS.runFailed),
      schema: EVENTS.runFailed.schema,
      message: { runId, stage: source, reason: headerValue(`event ${eventName(row.subject)} could not be published: ${reason}`, 2000) },
      runId,
      traceId: row.headers[HEADER_TRACE_ID],
      eventId: deterministicEventId('outbox-dead', row.id),
    }));
  }
}

/** Publishes one batch: stamps what was stored, moves aside what never can be, counts rows' own failures. */
async function publishBatch(pool: pg.Pool, p: Publisher, batchSize: number): Promise<BatchResult> {
  const maxPayload = p.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD_BYTES;
  return withTransaction(pool, async (tx) => {
    // Rows that failed before come after the others: a bad row cannot hold up a whole batch.
    const { rows } = await tx.query<OutboxRow>(
      `SELECT id, subject, type, headers, attempts, created_at, octet_length(payload) AS size,
              CASE WHEN octet_length(payload) <= $2 THEN payload END AS payload
         FROM outbox WHERE published_at IS NULL ORDER BY attempts, seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [batchSize, maxPayload],
    );
    if (rows.length === 0) return { claimed: 0, done: 0, dead: [] };
    const outcomes = await publishRows(p, rows, maxPayload);
    const published = outcomes.filter((o) => o.kind === 'published').map((o) => o.row.id);
    if (published.length > 0) await tx.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])', [published]);
    const failed = outcomes.flatMap((o) => (o.kind === 'failed' ? [{ id: o.row.id, error: headerValue(errorText(o.error), 2000) }] : []));
    if (failed.length > 0) {
      await tx.query(
        `UPDATE outbox SET attempts = attempts + 1, last_error = f.error
           FROM unnest($1::uuid[], $2::text[]) AS f(id, error) WHERE outbox.id = f.id`,
        [failed.map((f) => f.id), failed.map((f) => f.error)],
      );
    }
    const dead = outcomes.flatMap((o) => (o.kind === 'dead' ? [{ row: o.row, reason: o.reason, attempts: o.row.attempts + 1 }] : []));
    if (dead.length > 0) await moveAside(tx, p.source, dead);
    const left = outcomes.find((o): o is Extract<Outcome, { error: unknown }> => o.kind === 'failed' || o.kind === 'outage');
    return { claimed: rows.length, done: published.length + dead.length, dead, error: left?.error };
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

  const publisher: Publisher = { nc: opts.nc, js, source: opts.source, signer: opts.signer, maxAttempts: opts.maxAttempts ?? 5 };

  /** One batch; logs each row moved aside once that is committed. Throws when the outbox did not move on. */
  const batch = async (): Promise<BatchResult> => {
    const started = performance.now();
    const result = await publishBatch(opts.pool, publisher, batchSize);
    opts.observer?.({ published: result.done - result.dead.length, failed: result.claimed - result.done + result.dead.length, seconds: (performance.now() - started) / 1000 });
    for (const { row, reason, attempts } of result.dead) {
      const runId = row.headers[HEADER_RUN_ID];
      log.error({ eventId: row.id, subject: row.subject, type: row.type, runId, attempts, reason }, `event ${eventName(row.subject)} cannot be published, moved to outbox_dead: ${reason}`);
    }
    if (result.error !== undefined && result.done === 0) throw result.error;
    return result;
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      kicked = false;
      let delay = pollMs;
      try {
        const { claimed, done, error } = await batch();
        if (error !== undefined) log.warn({ err: error }, 'some outbox events could not be published; will retry');
        if (claimed > 0) log.debug({ claimed, done }, 'published outbox events');
        if (failures > 0) log.info({ after: failures }, 'outbox relay recovered');
        failures = 0;
        // A full batch means more rows are probably waiting, a partial failure that the rest go next: go again at once.
        if (claimed === batchSize || error !== undefined) delay = 0;
        await prune();
      } catch (err) {
        failures++;
        delay = backoffMs(failures, pollMs, maxBackoff);
        log.warn({ err, attempt: failures, retryInMs: delay }, 'outbox relay failed; will retry');
      }
      if (!stopped && !kicked && delay > 0) await waker.sleep(delay);
    }
  };

  const running = loop().catch((err: unknown) => log.error({ err }, 'outbox relay loop crashed'));

  /** A last, bounded round of publishing after the loop ended. */
  const drain = async (): Promise<void> => {
    const deadline = Date.now() + (opts.drainTimeoutMs ?? 5000);
    let published = 0;
    try {
      while (Date.now() < deadline && !opts.nc.isClosed()) {
        const { claimed, done } = await batch();
        published += done;
        if (claimed < batchSize) break;
      }
      if (published > 0) log.info({ published }, 'published the outbox before stopping');
    } catch (err) {
      log.warn({ err, published }, 'could not publish the whole outbox before stopping; the next relay will');
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      waker.wake();
      await running;
      await drain();
    })();
    return stopping;
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
