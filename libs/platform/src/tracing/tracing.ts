/**
 * OpenTelemetry traces of one service process: a tracer provider of its own (so several runtimes
 * in one process, as in tests, each report under their own `service.name`), spans exported over
 * OTLP/HTTP, W3C `traceparent` propagation. Off unless an endpoint (or a test exporter) is given:
 * then the API's no-op tracer is used and nothing is recorded.
 */
import { ProxyTracerProvider, SpanKind, SpanStatusCode, context, type Attributes, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';

/** Tracing settings of {@link BaseConfig} (`REFIT_OTEL_*`). */
export interface TracingConfig {
  /**
   * Base URL of an OTLP/HTTP collector (`REFIT_OTEL_EXPORTER_OTLP_ENDPOINT`, else the standard
   * `OTEL_EXPORTER_OTLP_ENDPOINT`), spans go to `<endpoint>/v1/traces` as OTLP JSON. Default none:
   * tracing off.
   */
  readonly otlpEndpoint?: string;
  /** Share of new traces recorded, 0-1 (`REFIT_OTEL_SAMPLE_RATIO`, default 1); a traced caller's decision is followed. */
  readonly sampleRatio: number;
}

/** Options of {@link createTracing}. */
export interface TracingOptions extends Partial<TracingConfig> {
  /** `service.name` of every span (`trigger`…). */
  service: string;
  /** Exports spans here, one by one as they end, instead of to `otlpEndpoint` (tests: an `InMemorySpanExporter`). */
  exporter?: SpanExporter;
}

/** Options of one span (see {@link Tracing.inSpan}). */
export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context (an extracted `traceparent`); default the active one. */
  parent?: Context;
  links?: Link[];
}

/** A service's tracer, and how to run work in spans of it. */
export interface Tracing {
  /** False when tracing is off: {@link Tracing.inSpan} then only calls `fn`. */
  readonly enabled: boolean;
  /** The tracer (the API's no-op one when off). */
  readonly tracer: Tracer;
  /**
   * Runs `fn` in a new span, active for everything `fn` awaits; ends it when `fn` settles, with
   * status ERROR and the exception recorded when it throws.
   */
  inSpan<T>(name: string, opts: SpanOptions, fn: (span?: Span) => Promise<T>): Promise<T>;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

const SCOPE = '@refit/platform';

/** A tracing that records nothing and costs nothing. */
export const TRACING_OFF: Tracing = Object.freeze({
  enabled: false,
  tracer: new ProxyTracerProvider().getTracer(SCOPE),
  inSpan: <T>(_name: string, _opts: SpanOptions, fn: (span?: Span) => Promise<T>): Promise<T> => fn(),
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
});

/** Records `err` on `span` and sets its status to ERROR. */
export function markFailed(span: Span | undefined, err: unknown): void {
  if (!span) return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

let contextManagerInstalled = false;

/** Parent-child links within a process follow async calls: one context manager per process, installed once. */
function installContextManager(): void {
  if (contextManagerInstalled) return;
  contextManagerInstalled = true;
  const manager = new AsyncLocalStorageContextManager();
  if (context.setGlobalContextManager(manager)) manager.enable();
}

/** Spans per OTLP export, and the most time a finished span waits for one. */
const EXPORT_BATCH = 64;
const EXPORT_EVERY_MS = 200;

/** Creates the tracing of one service process: {@link TRACING_OFF} without an endpoint or exporter. */
export function createTracing(opts: TracingOptions): Tracing {
  if (!opts.exporter && !opts.otlpEndpoint) return TRACING_OFF;
  installContextManager();
  const processor = opts.exporter
    ? new SimpleSpanProcessor({ exporter: opts.exporter })
    : new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${(opts.otlpEndpoint ?? '').replace(/\/+$/, '')}/v1/traces` }),
        // Small batches often: encoding 512 spans at once held the serving thread for tens of ms
        // (a serving replica's p99); 64 every 200 ms spreads the same work thin.
        maxExportBatchSize: EXPORT_BATCH,
        scheduledDelayMillis: EXPORT_EVERY_MS,
        maxQueueSize: 8192,
      });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.service }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(opts.sampleRatio ?? 1) }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer(SCOPE);
  let shut: Promise<void> | undefined;
  return {
    enabled: true,
    tracer,
    inSpan(name, spanOpts, fn) {
      const parent = spanOpts.parent ?? context.active();
      return tracer.startActiveSpan(name, { kind: spanOpts.kind ?? SpanKind.INTERNAL, attributes: spanOpts.attributes, links: spanOpts.links }, parent, async (span) => {
        try {
          return await fn(span);
        } catch (err) {
          markFailed(span, err);
          throw err;
        } finally {
          span.end();
        }
      });
    },
    flush: () => provider.forceFlush(),
    shutdown: () => (shut ??= provider.shutdown()),
  };
}
