/**
 * Spans of gRPC calls: a SERVER span per served call, child of the caller's `traceparent`
 * metadata, and a CLIENT span per outbound call whose context goes out in the call's metadata.
 */
import { SpanKind, SpanStatusCode, context, trace, type Context, type Span } from '@opentelemetry/api';
import { status, type Metadata } from '@grpc/grpc-js';
import { HEADER_TRACEPARENT, HEADER_TRACESTATE, extractTraceContext, injectTraceContext } from './propagation.js';
import type { Tracing } from './tracing.js';

/** A call's span: the context to run its work in, and how to end it. */
export interface CallSpan {
  /** Runs `fn` with the call's span active. */
  within<T>(fn: () => T): T;
  /** Ends the span with the call's status code (and the error, when there is one). */
  end(code: status, err?: unknown): void;
}

// Server-side failures (OpenTelemetry's gRPC conventions): a caller's mistake is not the server's error.
const SERVER_ERRORS = new Set([status.UNKNOWN, status.DEADLINE_EXCEEDED, status.UNIMPLEMENTED, status.INTERNAL, status.UNAVAILABLE, status.DATA_LOSS]);

function attributesOf(path: string): Record<string, string> {
  const [service = '', method = ''] = path.replace(/^\//, '').split('/');
  return { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method };
}

function callSpan(span: Span, ctx: Context, isError: (code: status) => boolean): CallSpan {
  let ended = false;
  return {
    within: (fn) => context.with(ctx, fn),
    end(code, err) {
      if (ended) return;
      ended = true;
      span.setAttribute('rpc.grpc.status_code', code);
      if (err instanceof Error) span.recordException(err);
      if (isError(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : status[code] });
      span.end();
    },
  };
}

/** Starts the SERVER span of a served call (undefined when tracing is off). */
export function startServerSpan(tracing: Tracing | undefined, path: string, metadata: Metadata): CallSpan | undefined {
  if (!tracing?.enabled) return undefined;
  const carrier: Record<string, string> = {};
  for (const key of [HEADER_TRACEPARENT, HEADER_TRACESTATE]) {
    const [v] = metadata.get(key);
    if (typeof v === 'string') carrier[key] = v;
  }
  const parent = extractTraceContext(carrier);
  const span = tracing.tracer.startSpan(path.replace(/^\//, ''), { kind: SpanKind.SERVER, attributes: attributesOf(path) }, parent);
  return callSpan(span, trace.setSpan(parent, span), (code) => SERVER_ERRORS.has(code));
}

/**
 * Starts the CLIENT span of an outbound call, child of the active span, and writes its
 * `traceparent` into `metadata` (undefined when tracing is off).
 */
export function startClientSpan(tracing: Tracing | undefined, path: string, metadata: Metadata): CallSpan | undefined {
  if (!tracing?.enabled) return undefined;
  const parent = context.active();
  const span = tracing.tracer.startSpan(path.replace(/^\//, ''), { kind: SpanKind.CLIENT, attributes: attributesOf(path) }, parent);
  const ctx = trace.setSpan(parent, span);
  const carrier: Record<string, string> = {};
  injectTraceContext(carrier, ctx);
  for (const [k, v] of Object.entries(carrier)) metadata.set(k, v);
  return callSpan(span, ctx, (code) => code !== status.OK);
}
