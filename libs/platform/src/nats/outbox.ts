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
import { injectTraceContext } from '../tracing/propagation.js';
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

/** NATS's default `max_payload` (1 MiB), assumed when the server's own is not known. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

// Room for the headers the relay adds at publish time (Refit-Event-Id, Nats-Msg-Id, Refit-Source
// and Refit-Signature take about 300 bytes, the CloudEvents ce-* about 250): NATS counts headers
// against max_payload too.
const RELAY_HEADER_BYTES = 768;

/** Options of {@link enqueueEvent}. */
export interface EnqueueOptions {
  /**
   * Largest message, headers included, that the NATS server takes: its `max_payload`, which
   * `nc.info.max_payload` reports (default {@link DEFAULT_MAX_PAYLOAD_BYTES}, 1 MiB).
   */
  maxPayloadBytes?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Subject tokens: no wildcards or whitespace, no empty tokens.
const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

/**
 * Writes one outbox row with `client` (which must be inside the caller's transaction) and returns
 * the event id. Re-enqueueing an id that is already in the outbox is a no-op. The active span's
 * W3C trace context, if any, goes into the row's headers (`traceparent`, `tracestate`).
 *
 * @throws InvalidInputError when the encoded event with its headers is larger than NATS takes
 *   (`opts.maxPayloadBytes`): it could never be published, so nothing is written and the caller's
 *   transaction should roll back.
 *
 * @example
 * await withTransaction(pool, async (tx) => {
 *   await tx.query('UPDATE runs SET state = $2 WHERE id = $1', [runId, 'training']);
 *   await enqueueEvent(tx, { subject: `${prefix}.run.started`, schema: RunStartedSchema, message: { runId }, runId }, { maxPayloadBytes: nc.info?.max_payload });
 * });
 * relay.kick();
 */
export async function enqueueEvent<T extends DescMessage>(client: pg.ClientBase, ev: OutgoingEvent<T>, opts: EnqueueOptions = {}): Promise<string> {
  const headers: Record<string, string> = {};
  if (ev.runId) headers[HEADER_RUN_ID] = headerValue(ev.runId);
  if (ev.traceId) headers[HEADER_TRACE_ID] = headerValue(ev.traceId);
  // The active span (W3C `traceparent`, `tracestate`) travels with the row: consumers continue its trace.
  injectTraceContext(headers);
  const payload = toBinary(ev.schema, create(ev.schema, ev.message));
  const size = payload.byteLength + encodedHeadersBytes({ ...headers, [HEADER_EVENT_TYPE]: ev.schema.typeName }) + RELAY_HEADER_BYTES;
  const max = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (size > max) {
    const of = ev.runId ? ` of run ${headerValue(ev.runId, 200)}` : '';
    throw new InvalidInputError(
      `event ${eventName(ev.subject)}${of} is ${formatBytes(size)}; NATS takes at most ${formatBytes(max)}: ` +
        `make what it carries smaller (shorter texts, fewer columns or rows) or raise the NATS server's max_payload`,
      { details: { subject: ev.subject, type: ev.schema.typeName, sizeBytes: size, maxPayloadBytes: max, ...(ev.runId ? { runId: ev.runId } : {}) } },
    );
  }
  return enqueueRawEvent(client, { id: ev.eventId ?? randomUUID(), subject: ev.subject, type: ev.schema.typeName, payload, headers });
}

/**
 * Writes an already-encoded event to the outbox (see {@link enqueueEvent}); returns its id. Its
 * size is not checked: one that NATS refuses is moved aside by the relay (see relay.ts).
 */
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

/** Bytes of `headers` as NATS encodes them: `NATS/1.0`, `\r\nKey: value` each, `\r\n\r\n`. */
export function encodedHeadersBytes(headers: Readonly<Record<string, string>>): number {
  let n = 'NATS/1.0'.length + 4;
  for (const [k, v] of Object.entries(headers)) n += 4 + Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/** A size for people: `2.6 MiB`, `1.05 MiB`, `1 MiB`, `900 KiB`, `12 bytes`. */
export function formatBytes(n: number): string {
  const trim = (x: number): string => x.toFixed(2).replace(/\.?0+$/, '');
  if (n >= 1024 * 1024) return `${trim(n / (1024 * 1024))} MiB`;
  if (n >= 1024) return `${trim(n / 1024)} KiB`;
  return `${n} bytes`;
}

/** The event's name below the deployment's prefix (`pipeline.applied` of `refit.pipeline.applied`). */
export function eventName(subject: string): string {
  return subject.slice(subject.indexOf('.') + 1);
}
