import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { evaluateSchedule, nextSlot } from '../../services/trigger/src/policies.js';
import { TriggerBook } from './trigger-book.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const t0 = Date.parse('2013-01-07T03:00:00Z');

const hygiene = (h: Record<string, unknown>) =>
  parseSpec(`apiVersion: refit/v1
kind: Pipeline
name: p
schema: { columns: [{ name: x, type: number }, { name: y, type: integer }] }
label: { column: y }
features: [{ name: x, type: number }]
model: { kind: logistic }
hygiene: ${JSON.stringify(h)}
`).hygiene;

const fired = (reason = 'it fired', evidenceKey?: string) => ({ fired: true, reason, measured: {}, thresholds: {}, evidenceKey });

describe('the trigger book (the trigger service without its database), on a virtual clock', () => {
  it('counts the daily budget over the last 24 virtual hours, not the wall clock', () => {
    const book = new TriggerBook(hygiene({ maxRunsPerDay: 2 }));
    const run = (at: number) => book.decide({ policyIndex: 0, policy: 'schedule', evaluation: fired(), now: at });
    const first = run(t0);
    book.endRun(first.started?.id ?? '', 'succeeded', 'promoted', t0 + 10 * MIN);
    const second = run(t0 + HOUR);
    book.endRun(second.started?.id ?? '', 'succeeded', 'promoted', t0 + HOUR + 10 * MIN);
    expect(run(t0 + 2 * HOUR).decision).toMatchObject({ action: 'suppress', reason: 'it fired; budget: 2 runs in the last 24 h, at most 2' });
    // The first run's start leaves the window exactly 24 virtual hours later.
    expect(run(t0 + DAY - 1).decision.action).toBe('suppress');
    expect(run(t0 + DAY).decision.action).toBe('start');
  });

  it('lets a weekly schedule replayed over a year start every one of its 52 runs under the default budget of 24 a day', () => {
    const policy = { kind: 'schedule' as const, cron: '0 3 * * 1', timezone: 'UTC', catchUp: 'latest' as const };
    const book = new TriggerBook(hygiene({}));
    let since = Date.parse('2013-01-01T00:00:00Z');
    for (let week = 0; week < 52; week++) {
      const now = nextSlot(policy, new Date(since)).getTime();
      for (const evaluation of evaluateSchedule(policy, new Date(since), new Date(now))) {
        const { started } = book.decide({ policyIndex: 1, policy: 'schedule', evaluation, now });
        if (started) book.endRun(started.id, 'succeeded', 'promoted', now + 10 * MIN);
      }
      since = now;
    }
    expect(book.runs).toHaveLength(52);
    expect(book.decisions.filter((d) => d.action !== 'start')).toEqual([]);
  });

  it('defers a trigger during the cool-down to its end in virtual minutes, and starts that one run then', () => {
    const book = new TriggerBook(hygiene({ cooldownMinutes: 30 }));
    const { started } = book.decide({ policyIndex: 0, policy: 'volume', evaluation: fired(), now: t0 });
    const end = t0 + 10 * MIN;
    book.endRun(started?.id ?? '', 'succeeded', 'rejected', end);
    const early = book.decide({ policyIndex: 0, policy: 'volume', evaluation: fired(), now: end + 29 * MIN });
    expect(early.decision.action).toBe('defer');
    expect(early.decision.reason).toBe(`it fired; cool-down: the last run ended 29.0 min ago, 30 min must pass; deferred: a run starts at ${new Date(end + 30 * MIN).toISOString()}`);
    expect(book.deferredUntil()).toBe(end + 30 * MIN);
    expect(book.decide({ policyIndex: 1, policy: 'schedule', evaluation: fired(), now: end + 29.5 * MIN }).decision.action).toBe('coalesce');
    expect(book.startDeferred(end + 30 * MIN - 1)).toBeUndefined();
    const deferred = book.startDeferred(end + 30 * MIN);
    expect(deferred).toMatchObject({ trigger: 'deferred', startedAt: end + 30 * MIN, decisionId: early.decision.id });
    // A person is not held by the cool-down.
    book.endRun(deferred?.id ?? '', 'succeeded', 'promoted', end + 40 * MIN);
    expect(book.decide({ policyIndex: -1, policy: 'manual', evaluation: fired(), now: end + 41 * MIN, manual: true }).decision.action).toBe('start');
  });

  it('debounces over consecutive evaluations, decides the same evidence once and queues behind a run in its rollout', () => {
    const book = new TriggerBook(hygiene({ debounce: 2 }));
    expect(book.decide({ policyIndex: 0, policy: 'drift', evaluation: fired('drift', 'w1'), now: t0 }).decision.action).toBe('suppress');
    expect(book.decide({ policyIndex: 0, policy: 'drift', evaluation: fired('drift', 'w1'), now: t0 + MIN }).decision.action).toBe('duplicate');
    const { started } = book.decide({ policyIndex: 0, policy: 'drift', evaluation: fired('drift', 'w2'), now: t0 + HOUR });
    expect(started?.id).toBe('r1');
    book.inRollout('r1');
    expect(book.facts(t0 + 2 * HOUR)).toMatchObject({ inFlightRunId: 'r1', inFlightInRollout: true, runsLast24h: 1 });
    book.decide({ policyIndex: 0, policy: 'drift', evaluation: fired('drift', 'w3'), now: t0 + 2 * HOUR });
    expect(book.decide({ policyIndex: 0, policy: 'drift', evaluation: fired('drift', 'w4'), now: t0 + 3 * HOUR }).decision.action).toBe('queue');
    const next = book.endRun('r1', 'failed', 'deployer: rolled back', t0 + DAY);
    expect(next).toMatchObject({ id: 'r2', trigger: 'queued', startedAt: t0 + DAY });
  });
});
