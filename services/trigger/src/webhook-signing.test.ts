import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { retryDelayMs as platformDelay } from '@refit/platform';
import { signatureHeader, verifySignature } from './webhook-signing.js';

describe('webhook signatures', () => {
  const body = JSON.stringify({ alertId: 'a-1', kind: 'run-failed' });

  it('signs <timestamp>.<body> with HMAC-SHA256, as a receiver recomputes it', () => {
    const header = signatureHeader('s3cret', 1_700_000_000, body);
    const expected = createHmac('sha256', 's3cret').update(`1700000000.${body}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${expected}`);
    expect(verifySignature('s3cret', header, body, 1_700_000_010)).toBe(true);
  });

  it('refuses another secret, a changed body, a forged digest and a replay outside the tolerance', () => {
    const header = signatureHeader('s3cret', 1_700_000_000, body);
    expect(verifySignature('other', header, body, 1_700_000_000)).toBe(false);
    expect(verifySignature('s3cret', header, body.replace('run-failed', 'rollback'), 1_700_000_000)).toBe(false);
    expect(verifySignature('s3cret', 't=1700000000,v1=00', body, 1_700_000_000)).toBe(false);
    expect(verifySignature('s3cret', header, body, 1_700_000_000 + 301)).toBe(false);
    expect(verifySignature('s3cret', 'garbage', body, 1_700_000_000)).toBe(false);
  });
});

describe('retry backoff (the platform\'s one backoff, as webhook delivery calls it)', () => {
  const p = { backoffMs: 1000, maxBackoffMs: 30_000 };
  const retryDelayMs = (n: number, q: typeof p, random: () => number) => platformDelay({ baseMs: q.backoffMs, maxDelayMs: q.maxBackoffMs }, n, random);

  it('doubles from backoffMs up to maxBackoffMs, with jitter between half and all of it', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, p, () => 0.999999))).toEqual([999, 1999, 3999, 7999, 15999, 29999, 29999]);
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, p, () => 0))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000]);
  });

  it('below the cap, the shortest wait after n failures is the longest after n-1: waits grow whatever the jitter', () => {
    for (let n = 2; n <= 5; n++) expect(retryDelayMs(n, p, () => 0)).toBeGreaterThanOrEqual(retryDelayMs(n - 1, p, () => 0.999999));
  });
});
