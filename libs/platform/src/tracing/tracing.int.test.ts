import { Writable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { TriggerService } from '@refit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '@refit/testing';
import { loadBaseConfig } from '../config.js';
import { EVENTS } from '../events.js';
import { implement } from '../grpc/handlers.js';
import { notImplemented } from '../grpc/test-handlers.js';
import { createLogger } from '../logger.js';
import { withTransaction } from '../pg/pool.js';
import { startRuntime } from '../runtime.js';

let env: TestEnv;
let dir: string;

beforeAll(async () => {
  env = await createTestEnv({ name: 'tracing' });
  dir = await mkdtemp(join(tmpdir(), 'refit-tracing-'));
});
afterAll(async () => {
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** A logger whose lines a test reads back. */
function capturedLogger(service: string): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ service, level: 'info', destination }), lines };
}

const configOf = (service: string) => loadBaseConfig(service, { defaultGrpcPort: 0, env: env.env });
const byName = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const span = spans.find((s) => s.name === name);
  if (!span) throw new Error(`no span ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
};

describe('traces across gRPC, the outbox and NATS', () => {
  it('makes one trace of a call from A to B whose handler publishes an event that A consumes', async () => {
    const spansA = new InMemorySpanExporter();
    const spansB = new InMemorySpanExporter();
    const a = capturedLogger('trainer');
    await using rtA = await startRuntime({ config: configOf('trainer'), logger: a.logger, migrationsDir: dir, spanExporter: spansA });
    await using rtB = await startRuntime({ config: configOf('trigger'), logger: createLogger({ service: 'trigger', level: 'silent' }), migrationsDir: dir, spanExporter: spansB });

    // B: TriggerRun stores an object and publishes run.requested in its transaction.
    await rtB.serve(
      implement(TriggerService, {
        ...notImplemented(TriggerService),
        triggerRun: async (req) => {
          await rtB.store.put('traced/request', req.reason);
          await withTransaction(rtB.pool, (tx) => rtB.publish(tx, EVENTS.runRequested, { context: { runId: 'run-t1', pipeline: req.pipeline } }, { runId: 'run-t1', traceId: 'run-t1' }));
          rtB.relay.kick();
          return { action: 'start' };
        },
      }),
    );
    // A: consumes run.requested and notes the span it runs in.
    let seen: { traceId: string; spanId: string; refitTraceId?: string } | undefined;
    await rtA.consume({
      name: 'traced',
      event: EVENTS.runRequested,
      handle: async (ev, _tx, ctx) => {
        const sc = trace.getActiveSpan()?.spanContext();
        if (sc) seen = { traceId: sc.traceId, spanId: sc.spanId, refitTraceId: ev.traceId };
        ctx.logger.info('handling run.requested');
      },
    });

    // Start-up (the bucket check) is a trace of its own.
    spansA.reset();
    spansB.reset();
    const client = rtA.connect(TriggerService, rtB.server?.address ?? '');
    await rtA.tracing.inSpan('test root', {}, () => client.triggerRun({ pipeline: 'p1', reason: 'test' }));
    client.close();
    await waitFor(() => seen, { timeoutMs: 15_000 });
    await waitFor(() => spansA.getFinishedSpans().some((s) => s.kind === SpanKind.CONSUMER));

    const all = [...spansA.getFinishedSpans(), ...spansB.getFinishedSpans()];
    const root = byName(all, 'test root');
    const clientSpan = all.find((s) => s.kind === SpanKind.CLIENT);
    const serverSpan = all.find((s) => s.kind === SpanKind.SERVER);
    const producer = all.find((s) => s.kind === SpanKind.PRODUCER);
    const consumer = all.find((s) => s.kind === SpanKind.CONSUMER);
    expect(clientSpan?.name).toBe('refit.trigger.v1.TriggerService/TriggerRun');
    expect(serverSpan?.name).toBe('refit.trigger.v1.TriggerService/TriggerRun');
    expect(producer?.name).toBe(`publish ${env.subjectPrefix}.run.requested`);
    expect(consumer?.name).toBe(`process ${env.subjectPrefix}.run.requested`);

    // One trace, and each span the child of the one before it: A → B over gRPC, B → A through the outbox and NATS.
    for (const s of all) expect(s.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(clientSpan?.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanContext().spanId);
    expect(producer?.parentSpanContext?.spanId).toBe(serverSpan?.spanContext().spanId);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    // External calls are spans of their own.
    expect(byName(all, 'S3 put')).toMatchObject({ kind: SpanKind.CLIENT, attributes: { 'aws.s3.key': 'traced/request' }, parentSpanContext: { spanId: serverSpan?.spanContext().spanId } });
    expect(seen).toEqual({ traceId: root.spanContext().traceId, spanId: consumer?.spanContext().spanId, refitTraceId: 'run-t1' });

    // Each span reports under its own service; the handler's log line names its span.
    expect(serverSpan?.resource.attributes['service.name']).toBe('trigger');
    expect(consumer?.resource.attributes['service.name']).toBe('trainer');
    expect(consumer?.attributes).toMatchObject({ 'messaging.system': 'nats', 'refit.run_id': 'run-t1', 'messaging.consumer.group.name': 'trainer-traced' });
    expect(a.lines.find((l) => l.msg === 'handling run.requested')).toMatchObject({ runId: 'run-t1', trace_id: root.spanContext().traceId, span_id: consumer?.spanContext().spanId });
  });

  it('continues the publisher\'s trace in a batch consumer', async () => {
    const spans = new InMemorySpanExporter();
    await using rt = await startRuntime({ config: configOf('registry'), logger: createLogger({ service: 'registry', level: 'silent' }), migrationsDir: dir, spanExporter: spans });
    let handled = 0;
    await rt.consumeBatch({
      name: 'batch',
      event: EVENTS.modelRegistered,
      handle: async (events) => {
        handled += events.length;
      },
    });
    await rt.tracing.inSpan('root', {}, () => withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelRegistered, { context: { runId: 'run-b1', pipeline: 'p' } }, { runId: 'run-b1' })));
    rt.relay.kick();
    await waitFor(() => handled > 0 && spans.getFinishedSpans().some((s) => s.kind === SpanKind.CONSUMER), { timeoutMs: 15_000 });
    const all = spans.getFinishedSpans();
    const producer = all.find((s) => s.kind === SpanKind.PRODUCER);
    const consumer = all.find((s) => s.kind === SpanKind.CONSUMER);
    expect(consumer?.spanContext().traceId).toBe(producer?.spanContext().traceId);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
  });

  it('records nothing and sends no traceparent when tracing is off', async () => {
    await using rt = await startRuntime({ config: configOf('evaluator'), logger: createLogger({ service: 'evaluator', level: 'silent' }), migrationsDir: dir });
    expect(rt.tracing.enabled).toBe(false);
    await rt.tracing.inSpan('root', {}, () => withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelEvaluated, { context: { runId: 'run-off', pipeline: 'p' } }, { runId: 'run-off' })));
    const { rows } = await rt.pool.query<{ headers: Record<string, string> }>('SELECT headers FROM outbox');
    expect(rows).toHaveLength(1);
    expect(rows[0].headers).not.toHaveProperty('traceparent');
  });
});
