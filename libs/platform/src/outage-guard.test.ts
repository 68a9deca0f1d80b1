import { EventEmitter } from 'node:events';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { installOutageGuard } from './outage-guard.js';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('installOutageGuard', () => {
  it('survives an uncaught transient failure (a dead connection) and exits on anything else', () => {
    const target = new EventEmitter();
    const exits: number[] = [];
    const remove = installOutageGuard({ logger, target, exit: (c) => exits.push(c) });
    target.emit('uncaughtException', Object.assign(new pg.DatabaseError('terminating connection due to administrator command', 1, 'error'), { code: '57P01' }));
    target.emit('uncaughtException', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(exits).toEqual([]);
    target.emit('uncaughtException', new TypeError('x is undefined'));
    expect(exits).toEqual([1]);
    remove();
    expect(target.listenerCount('uncaughtException')).toBe(0);
  });
});
