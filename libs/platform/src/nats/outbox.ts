/**
 * Transactional outbox, write side: a service records its outgoing events in its own database, in
 * the same transaction as the state change that caused them. The relay publishes them later, so
 * either both the state and its events exist or neither does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import type pg from 'pg';
import { InvalidInputError } from '../errors.js';
import { HEADER_EVENT_TYPE, HEADER_RUN_ID, HEADER_TRACE_ID, headerValue } from './headers.js';

/** An event to publish, as given to {@link enqueueEvent}. */
export interface OutgoingEvent<T extends DescMessage> {
  /** Full subject, e.g. `refit.run.requested` (must start with the configured subject prefix). */
  subject: string;
  /** Generated protobuf schema of the payload, e.g. `RunRequestedSchema`. */
  schema: T;
  /** The payload (a message or its init shape). */
  message: MessageInitShape<T>;
  /** Run the event belongs to (header `Refit-Run-Id`). */
  runId?: string;
  /** Trace id to propagate (header `Refit-Trace-Id`). */
  traceId?: string;
  /** Event id, a UUID (default: a random one). Pass a stable id to make emission idempotent. */
  eventId?: string;
}

/** A pre-encoded event row (dead letters, forwarding). */
export interface RawOutgoingEvent {
  /** Event id (UUID). */
  id: string;
  /** Full subject. */
  subject: string;
  /** Protobuf type name of the payload. */
  type: string;
  /** Encoded payload. */
  payload: Uint8Array;
  /** Extra headers (the relay adds `Refit-Event-Id` and `Refit-Source`). */
  headers?: Record<string, string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Subject tokens: no wildcards or whitespace, no empty tokens.
const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

/**
 * Writes one outbox row with `client` (which must be inside the caller's transaction) and returns
 * the event id. Re-enqueueing an id that is already in the outbox is a no-op.
 *
 * @example
 * await withTransaction(pool, async (tx) => {
 *   await tx.query('UPDATE runs SET state = $2 WHERE id = $1', [runId, 'training']);
 *   await enqueueEvent(tx, { subject: `${prefix}.run.started`, schema: RunStartedSchema, message: { runId }, runId });
 * });
 * relay.kick();
 */
export async function enqueueEvent<T extends DescMessage>(client: pg.ClientBase, ev: OutgoingEvent<T>): Promise<string> {
  const headers: Record<string, string> = {};
  if (ev.runId) headers[HEADER_RUN_ID] = headerValue(ev.runId);
  if (ev.traceId) headers[HEADER_TRACE_ID] = headerValue(ev.traceId);
  return enqueueRawEvent(client, {
    id: ev.eventId ?? randomUUID(),
    subject: ev.subject,
    type: ev.schema.typeName,
    payload: toBinary(ev.schema, create(ev.schema, ev.message)),
    headers,
  });
}

/** Writes an already-encoded event to the outbox (see {@link enqueueEvent}); returns its id. */
export async function enqueueRawEvent(client: pg.ClientBase, ev: RawOutgoingEvent): Promise<string> {
  if (!UUID.test(ev.id)) throw new InvalidInputError(`event id ${JSON.stringify(ev.id)} is not a UUID`);
  if (!SUBJECT.test(ev.subject)) throw new InvalidInputError(`invalid event subject ${JSON.stringify(ev.subject)}`);
  const headers = { ...ev.headers, [HEADER_EVENT_TYPE]: ev.type };
  await client.query(
    `INSERT INTO outbox (id, subject, type, payload, headers) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO NOTHING`,
    [ev.id, ev.subject, ev.type, Buffer.from(ev.payload.buffer, ev.payload.byteOffset, ev.payload.byteLength), JSON.stringify(headers)],
  );
  return ev.id;
}

/**
 * A UUID derived from `parts` (same parts → same id), for events that must be emitted at most once
 * per cause, e.g. `deterministicEventId('run.completed', runId)`.
 */
export function deterministicEventId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  // Shape it as an RFC 9562 version 8 (custom) UUID so it passes uuid validation anywhere.
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
