/** OpenTelemetry traces: a tracer per service process and W3C trace context propagation. */
export { createTracing, markFailed, TRACING_OFF } from './tracing.js';
export type { SpanOptions, Tracing, TracingConfig, TracingOptions } from './tracing.js';
export { activeTraceIds, extractTraceContext, HEADER_TRACEPARENT, HEADER_TRACESTATE, injectTraceContext } from './propagation.js';
export { traceStore } from './storage-spans.js';
/** Keeps finished spans in memory, for tests that look at them (`startRuntime({ spanExporter })`). */
export { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
