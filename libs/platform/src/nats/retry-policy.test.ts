import { describe, expect, it } from 'vitest';
import { ConflictError, FailedPreconditionError, InvalidInputError, NotFoundError, UnavailableError } from '../errors.js';
import { classifyFailure, decideRetry, retryDelayMs, type RetryPolicy } from './retry-policy.js';

const policy: RetryPolicy = { baseMs: 1000, maxDelayMs: 30_000, horizonMs: 600_000 };

describe('retryDelayMs', () => {
  it('doubles from the base, caps at the maximum and jitters within [0.5, 1)', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(policy, n, () => 0))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000]);
    expect([1, 6, 50].map((n) => retryDelayMs(policy, n, () => 0.999999))).toEqual([999, 29999, 29999]);
    for (let i = 0; i < 100; i++) {
      const d = retryDelayMs(policy, 3);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThan(4000);
    }
  });
});

describe('classifyFailure', () => {
  it('tells permanent, transient and unknown failures apart', () => {
    for (const e of [new InvalidInputError('x'), new NotFoundError('x'), new FailedPreconditionError('x'), new ConflictError('x')]) expect(classifyFailure(e)).toBe('permanent');
    expect(classifyFailure(new UnavailableError('x'))).toBe('transient');
    expect(classifyFailure(Object.assign(new Error('socket'), { code: 'ECONNRESET' }))).toBe('transient');
    expect(classifyFailure(new Error('bug'))).toBe('unknown');
    expect(classifyFailure(new TypeError('x is undefined'))).toBe('unknown');
  });
});

describe('decideRetry', () => {
  const history = { failures: 0, retries: 1, failingMs: 0 };
  const random = () => 0;
  it('dead-letters a permanent failure at once', () => {
    const error = new InvalidInputError('no label column');
    expect(decideRetry({ error, kind: 'permanent', history, maxDeliver: 5, policy })).toEqual({ action: 'dead-letter', reason: error });
  });

  it('waits a transient failure out whatever the number of deliveries, until the horizon', () => {
    const error = new UnavailableError('registry down');
    expect(decideRetry({ error, kind: 'transient', history: { failures: 0, retries: 40, failingMs: 599_999 }, maxDeliver: 5, policy, random })).toEqual({ action: 'retry', delayMs: 15_000 });
    const past = decideRetry({ error, kind: 'transient', history: { failures: 0, retries: 41, failingMs: 600_000 }, maxDeliver: 5, policy });
    expect(past.action).toBe('dead-letter');
    const reason = (past as { reason: Error }).reason;
    expect(reason).toBeInstanceOf(UnavailableError);
    expect(reason.message).toBe('still failing after 10 min of retries: registry down');
    expect(reason.cause).toBe(error);
  });

  it('gives a failure of unknown kind maxDeliver tries', () => {
    const error = new Error('bug');
    expect(decideRetry({ error, kind: 'unknown', history: { failures: 4, retries: 4, failingMs: 10 }, maxDeliver: 5, policy, random })).toEqual({ action: 'retry', delayMs: 4000 });
    expect(decideRetry({ error, kind: 'unknown', history: { failures: 5, retries: 5, failingMs: 10 }, maxDeliver: 5, policy })).toEqual({ action: 'dead-letter', reason: error });
  });
});
