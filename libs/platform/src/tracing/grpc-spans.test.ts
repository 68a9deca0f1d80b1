import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { IngestionService, TriggerService, refitFiles } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../errors.js';
import { createClient } from '../grpc/client.js';
import { implement } from '../grpc/handlers.js';
import { createGrpcServer } from '../grpc/server.js';
import { notImplemented } from '../grpc/test-handlers.js';
import type { GrpcLogger } from '../grpc/types.js';
import { createTracing } from './tracing.js';

const noop = (): void => {};
const logger: GrpcLogger = { debug: noop, info: noop, warn: noop, error: noop };

describe('gRPC spans', () => {
  it('links client and server spans of unary and client-streaming calls, the handler running in the server span, with the status code', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ service: 'test', exporter });
    let handlerSpan: string | undefined;
    await using server = await createGrpcServer({
      service: 'test',
      port: 0,
      logger,
      files: refitFiles,
      tracing,
      services: [
        implement(TriggerService, {
          ...notImplemented(TriggerService),
          getRun: () => {
            throw new NotFoundError('run r-0 not found');
          },
        }),
        implement(IngestionService, {
          ...notImplemented(IngestionService),
          pushData: async (requests) => {
            for await (const r of requests) void r;
            handlerSpan = trace.getActiveSpan()?.spanContext().spanId;
            return { rowsAccepted: 1n };
          },
        }),
      ],
    });
    using trigger = createClient(TriggerService, server.address, { tracing });
    using ingestion = createClient(IngestionService, server.address, { tracing });
    await expect(trigger.getRun({ runId: 'r-0' })).rejects.toThrow(NotFoundError);
    await ingestion.pushData([{ part: { case: 'header', value: { pipeline: 'p', format: 'csv' } } }]);
    await tracing.flush();

    const spans = exporter.getFinishedSpans();
    const of = (name: string, kind: SpanKind) => spans.find((s) => s.name === name && s.kind === kind);
    const getRunClient = of('refit.trigger.v1.TriggerService/GetRun', SpanKind.CLIENT);
    const getRunServer = of('refit.trigger.v1.TriggerService/GetRun', SpanKind.SERVER);
    expect(getRunServer?.parentSpanContext?.spanId).toBe(getRunClient?.spanContext().spanId);
    expect(getRunServer?.spanContext().traceId).toBe(getRunClient?.spanContext().traceId);
    // NOT_FOUND is the caller's failure: an error on the client side only.
    expect(getRunClient?.status.code).toBe(SpanStatusCode.ERROR);
    expect(getRunServer?.status.code).toBe(SpanStatusCode.UNSET);
    expect(getRunServer?.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'refit.trigger.v1.TriggerService', 'rpc.method': 'GetRun', 'rpc.grpc.status_code': 5 });

    const pushClient = of('refit.ingestion.v1.IngestionService/PushData', SpanKind.CLIENT);
    const pushServer = of('refit.ingestion.v1.IngestionService/PushData', SpanKind.SERVER);
    expect(pushServer?.parentSpanContext?.spanId).toBe(pushClient?.spanContext().spanId);
    expect(pushClient?.attributes['rpc.grpc.status_code']).toBe(0);
    expect(handlerSpan).toBe(pushServer?.spanContext().spanId);
  });

  it('sends no traceparent and records nothing without tracing', async () => {
    let traceparent: unknown = 'unset';
    await using server = await createGrpcServer({
      service: 'test',
      port: 0,
      logger,
      files: refitFiles,
      services: [
        implement(TriggerService, {
          ...notImplemented(TriggerService),
          getRun: (_req, ctx) => {
            traceparent = ctx.metadata.get('traceparent')[0];
            return {};
          },
        }),
      ],
    });
    using trigger = createClient(TriggerService, server.address);
    await trigger.getRun({ runId: 'r-0' });
    expect(traceparent).toBeUndefined();
  });
});
