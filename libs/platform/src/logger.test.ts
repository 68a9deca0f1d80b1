import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { createTracing } from './tracing/tracing.js';

function capture(): { lines: Array<Record<string, unknown>>; destination: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON with service, pid, level label and child fields', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'trainer', level: 'debug', destination });
    log.child({ runId: 'run-1' }).info({ n: 1 }, 'started');
    log.debug('dbg');
    expect(lines[0]).toMatchObject({ service: 'trainer', pid: process.pid, level: 'info', runId: 'run-1', n: 1, msg: 'started' });
    expect(typeof lines[0].time).toBe('string');
    expect(lines[1]).toMatchObject({ level: 'debug', msg: 'dbg' });
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 's', level: 'warn', destination });
    log.info('hidden');
    log.error({ err: new Error('boom') }, 'shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', err: { message: 'boom', type: 'Error' } });
  });

  it('names the active span in lines written inside one, and nothing outside', async () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'trainer', destination });
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ service: 'trainer', exporter });
    let ids: { traceId: string; spanId: string } | undefined;
    await tracing.inSpan('work', {}, async (span) => {
      ids = span?.spanContext();
      await new Promise((r) => setTimeout(r, 1));
      log.child({ runId: 'r' }).info('inside');
    });
    log.info('outside');
    await tracing.flush();
    expect(ids?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[0]).toMatchObject({ msg: 'inside', runId: 'r', trace_id: ids?.traceId, span_id: ids?.spanId });
    expect(lines[1].msg).toBe('outside');
    expect(lines[1]).not.toHaveProperty('trace_id');
    expect(exporter.getFinishedSpans().map((s) => s.spanContext().spanId)).toEqual([ids?.spanId]);
  });
});
