/**
 * Header names carried by every Refit event on JetStream. Payloads are protobuf; everything a
 * consumer needs to route, de-duplicate and trace an event without decoding it is a header.
 */

/** Unique id of the event (a UUID); also sent as `Nats-Msg-Id` so JetStream drops duplicates. */
export const HEADER_EVENT_ID = 'Refit-Event-Id';
/** Protobuf message type name of the payload, e.g. `refit.events.v1.RunRequested`. */
export const HEADER_EVENT_TYPE = 'Refit-Event-Type';
/** Service that published the event, e.g. `trigger`. */
export const HEADER_SOURCE = 'Refit-Source';
/** Run the event belongs to, when it belongs to one. */
export const HEADER_RUN_ID = 'Refit-Run-Id';
/**
 * Correlation id propagated from the request that caused the event (the run id for a run's
 * events). The OpenTelemetry trace travels beside it as W3C `traceparent` (see tracing/).
 */
export const HEADER_TRACE_ID = 'Refit-Trace-Id';
/** On a dead letter: message of the error that made the consumer give up. */
export const HEADER_ERROR = 'Refit-Error';
/** On a dead letter: subject the original event was published on. */
export const HEADER_ORIGINAL_SUBJECT = 'Refit-Original-Subject';
/** On a dead letter: id of the original event (the dead letter has its own id). */
export const HEADER_ORIGINAL_EVENT_ID = 'Refit-Original-Event-Id';
/** On a dead letter: service that published the original event. */
export const HEADER_ORIGINAL_SOURCE = 'Refit-Original-Source';
/** On a dead letter: durable consumer that gave up on the event. */
export const HEADER_CONSUMER = 'Refit-Consumer';
/** JetStream's de-duplication header (set by the relay through `msgID`). */
export const HEADER_NATS_MSG_ID = 'Nats-Msg-Id';

/**
 * CloudEvents attributes of an event, in the binary content mode of the CloudEvents NATS binding
 * (`ce-` headers, the protobuf payload as the data): `specversion` 1.0, `type` the payload's
 * protobuf type name, `source` `/refit/<service>`, `id` the event id, `time` when it was written
 * (RFC 3339), `datacontenttype` `application/protobuf`.
 */
export function cloudEventHeaders(ev: { id: string; type: string; source: string; time: Date }): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-type': ev.type,
    'ce-source': `/refit/${ev.source}`,
    'ce-id': ev.id,
    'ce-time': ev.time.toISOString(),
    'ce-datacontenttype': 'application/protobuf',
  };
}

/** Strips CR/LF (illegal in NATS headers) and bounds the length of a header value. */
export function headerValue(value: string, max = 1024): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
