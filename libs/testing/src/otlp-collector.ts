/**
 * A tiny OpenTelemetry collector for tests and benchmarks: an HTTP server taking OTLP/HTTP JSON
 * trace exports (`POST /v1/traces`, what `@opentelemetry/exporter-trace-otlp-http` sends) and
 * keeping the spans, flattened, in memory. Point services at it with
 * `REFIT_OTEL_EXPORTER_OTLP_ENDPOINT=<collector.endpoint>`.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One received span, with the service that sent it. */
export interface CollectedSpan {
  /** `service.name` of the span's resource. */
  service: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  /** String, number and boolean attributes. */
  attributes: Record<string, string | number | boolean>;
}

/** A running collector. */
export interface OtlpCollector {
  /** Base URL to give as the OTLP endpoint (`http://127.0.0.1:<port>`). */
  readonly endpoint: string;
  /** Every span received so far. */
  readonly spans: readonly CollectedSpan[];
  /** Export requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type OtlpAttribute = { key: string; value?: OtlpValue };
type OtlpRequest = {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{ spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number; attributes?: OtlpAttribute[] }> }>;
  }>;
};

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    const v = value?.stringValue ?? (value?.intValue !== undefined ? Number(value.intValue) : undefined) ?? value?.doubleValue ?? value?.boolValue;
    if (v !== undefined) out[key] = v;
  }
  return out;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts a collector on a free port of 127.0.0.1 (`keep: false` counts requests and drops the spans: for benchmarks). */
export async function startOtlpCollector(opts: { keep?: boolean } = {}): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = [];
  let requests = 0;
  const server = createServer((req, res) => {
    bodyOf(req).then(
      (body) => {
        requests++;
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        if (opts.keep !== false) {
          const parsed = JSON.parse(body) as OtlpRequest;
          for (const rs of parsed.resourceSpans ?? []) {
            const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
            for (const ss of rs.scopeSpans ?? []) {
              for (const s of ss.spans ?? []) {
                spans.push({ service, name: s.name, kind: s.kind ?? 0, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', attributes: attributesOf(s.attributes) });
              }
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get spans() {
      return spans;
    },
    get requests() {
      return requests;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
