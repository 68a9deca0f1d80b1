/**
 * W3C trace context (`traceparent`, `tracestate`) in and out of gRPC metadata and event headers.
 * The propagator is used directly, not registered globally: nothing else in the process changes.
 */
import { ROOT_CONTEXT, SpanKind, context, isSpanContextValid, trace, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanOptions } from './tracing.js';

/** Header (and metadata key) carrying the W3C trace parent. */
export const HEADER_TRACEPARENT = 'traceparent';
/** Header (and metadata key) carrying vendor trace state. */
export const HEADER_TRACESTATE = 'tracestate';

const propagator = new W3CTraceContextPropagator();

const recordSetter: TextMapSetter<Record<string, string>> = { set: (carrier, key, value) => void (carrier[key] = value) };
const recordGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  // Header names are case-insensitive wherever they travelled (NATS, HTTP).
  get: (carrier, key) => carrier[key] ?? Object.entries(carrier).find(([k]) => k.toLowerCase() === key)?.[1],
};

/** Writes `ctx`'s span (default the active one) into `carrier`; writes nothing when there is none. */
export function injectTraceContext(carrier: Record<string, string>, ctx: Context = context.active()): void {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !isSpanContextValid(sc)) return;
  propagator.inject(ctx, carrier, recordSetter);
}

/** The context whose remote parent `carrier` names (the root context when it names none). */
export function extractTraceContext(carrier: Readonly<Record<string, string>>): Context {
  if (recordGetter.get(carrier, HEADER_TRACEPARENT) === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, carrier, recordGetter);
}

/**
 * The CONSUMER span of a batch of events: the child of its event's publisher when it holds one,
 * otherwise a new trace linked to each event's publisher (as messaging conventions have it).
 */
export function batchSpanOptions(durable: string, events: ReadonlyArray<{ headers: Readonly<Record<string, string>> }>): SpanOptions {
  const attributes = { 'messaging.system': 'nats', 'messaging.operation.type': 'process', 'messaging.consumer.group.name': durable, 'messaging.batch.message_count': events.length };
  if (events.length === 1) return { kind: SpanKind.CONSUMER, parent: extractTraceContext(events[0].headers), attributes };
  const links = events.flatMap((e) => {
    const sc = trace.getSpanContext(extractTraceContext(e.headers));
    return sc ? [{ context: sc }] : [];
  });
  return { kind: SpanKind.CONSUMER, parent: ROOT_CONTEXT, links, attributes };
}

/** `trace_id` and `span_id` of the active span, for log lines; undefined outside any span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  if (!sc || !isSpanContextValid(sc)) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
