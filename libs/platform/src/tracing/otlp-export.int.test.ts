import { SpanKind } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { startOtlpCollector, waitFor } from '@refit/testing';
import { createTracing } from './tracing.js';

describe('OTLP export', () => {
  it('sends spans as OTLP/HTTP JSON to <endpoint>/v1/traces under the service name', async () => {
    await using collector = await startOtlpCollector();
    const tracing = createTracing({ service: 'feature', otlpEndpoint: `${collector.endpoint}/`, sampleRatio: 1 });
    await tracing.inSpan('outer', {}, () => tracing.inSpan('inner', { kind: SpanKind.CLIENT, attributes: { 'refit.run_id': 'r-1' } }, () => Promise.resolve()));
    await tracing.shutdown();
    await waitFor(() => collector.spans.length === 2);
    const outer = collector.spans.find((s) => s.name === 'outer');
    expect(collector.spans.find((s) => s.name === 'inner')).toMatchObject({ service: 'feature', kind: 3, traceId: outer?.traceId, parentSpanId: outer?.spanId, attributes: { 'refit.run_id': 'r-1' } });
  });

  it('records no new trace at sample ratio 0', async () => {
    await using collector = await startOtlpCollector();
    const tracing = createTracing({ service: 'feature', otlpEndpoint: collector.endpoint, sampleRatio: 0 });
    await tracing.inSpan('dropped', {}, () => Promise.resolve());
    await tracing.shutdown();
    expect(collector.spans).toHaveLength(0);
  });
});
