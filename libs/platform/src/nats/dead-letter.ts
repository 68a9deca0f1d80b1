/**
 * Dead letters: when a consumer gives up on an event it records that in the same transaction as
 * "handled", lets the service react (e.g. fail the run), and queues a copy of the event on
 * `${prefix}.dlq.${service}` for operators, with the reason in headers.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../pg/pool.js';
import {
  HEADER_CONSUMER,
  HEADER_ERROR,
  HEADER_EVENT_ID,
  HEADER_ORIGINAL_EVENT_ID,
  HEADER_ORIGINAL_SOURCE,
  HEADER_ORIGINAL_SUBJECT,
  HEADER_SOURCE,
  headerValue,
} from './headers.js';
import { clearAttempts } from './attempts.js';
import { enqueueRawEvent } from './outbox.js';
import type { ReceivedEvent } from './received-event.js';

/** Called inside the dead-letter transaction; services use it to enqueue e.g. a run.failed event. */
export type DeadLetterHook = (ev: ReceivedEvent, error: unknown, tx: pg.PoolClient) => Promise<void>;

/** Where dead letters of `source` go. */
export const deadLetterSubject = (subjectPrefix: string, source: string): string => `${subjectPrefix}.dlq.${source}`;

/** True for a subject under `${subjectPrefix}.dlq.`. */
export const isDeadLetterSubject = (subjectPrefix: string, subject: string): boolean => subject.startsWith(`${subjectPrefix}.dlq.`);

/** Message text of anything thrown. */
export const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * In one transaction: marks `ev` handled by `consumer`, runs `hook`, and enqueues the dead letter.
 * Returns false (and does nothing) when the event was already handled, e.g. by another replica.
 */
export async function recordDeadLetter(opts: {
  pool: pg.Pool;
  consumer: string;
  subjectPrefix: string;
  source: string;
  ev: ReceivedEvent;
  error: unknown;
  hook?: DeadLetterHook;
}): Promise<boolean> {
  const { ev } = opts;
  return withTransaction(opts.pool, async (tx) => {
    const { rowCount } = await tx.query(
      'INSERT INTO handled_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [opts.consumer, ev.id],
    );
    if (rowCount === 0) return false;
    await clearAttempts(tx, opts.consumer, ev.id);
    if (opts.hook) await opts.hook(ev, opts.error, tx);
    // A dead letter that fails in a catch-all consumer is not dead-lettered again: that could loop.
    if (isDeadLetterSubject(opts.subjectPrefix, ev.subject)) return true;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(ev.headers)) {
      // JetStream's own headers (Nats-Msg-Id…) and our identity headers describe the original
      // message, not the dead letter; the original values are kept under Refit-Original-*.
      if (k.toLowerCase().startsWith('nats-') || k === HEADER_EVENT_ID || k === HEADER_SOURCE) continue;
      headers[k] = v;
    }
    headers[HEADER_ERROR] = headerValue(errorText(opts.error));
    headers[HEADER_ORIGINAL_SUBJECT] = ev.subject;
    headers[HEADER_ORIGINAL_EVENT_ID] = headerValue(ev.id);
    if (ev.source) headers[HEADER_ORIGINAL_SOURCE] = ev.source;
    headers[HEADER_CONSUMER] = opts.consumer;
    await enqueueRawEvent(tx, {
      id: randomUUID(),
      subject: deadLetterSubject(opts.subjectPrefix, opts.source),
      type: ev.type,
      payload: ev.data,
      headers,
    });
    return true;
  });
}
