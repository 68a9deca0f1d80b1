import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue.js';

describe('the event queue', () => {
  it('gives events in time order; at the same instant a finishing run, the period end, holds, deferrals, then clock policies', () => {
    const q = new EventQueue();
    q.push({ kind: 'slot', at: 10, policyIndex: 0 });
    q.push({ kind: 'period-end', at: 10, period: 0 });
    q.push({ kind: 'age', at: 5, policyIndex: 1, trainedAt: 0 });
    q.push({ kind: 'deferred', at: 10 });
    q.push({ kind: 'run-done', at: 10, runId: 'r1' });
    q.push({ kind: 'slot', at: 10, policyIndex: 2 });
    q.push({ kind: 'hold', at: 10, runId: 'r1', step: 0 });
    const order: string[] = [];
    for (let e = q.pop(); e; e = q.pop()) order.push(`${e.at}:${e.kind}${'policyIndex' in e ? e.policyIndex : ''}`);
    expect(order).toEqual(['5:age1', '10:run-done', '10:period-end', '10:hold', '10:deferred', '10:slot0', '10:slot2']);
    expect(q.peek()).toBeUndefined();
  });
});
