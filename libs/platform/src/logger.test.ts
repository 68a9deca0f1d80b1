import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

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
});
