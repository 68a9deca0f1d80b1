import { describe, expect, it } from 'vitest';
import { TEST_SLACK, testSlack, waitFor } from './wait-for.js';

describe('waitFor', () => {
  it('returns the first value the probe gives that is not undefined or false', async () => {
    let calls = 0;
    expect(await waitFor(() => (++calls >= 3 ? calls : false), { intervalMs: 1 })).toBe(3);
  });

  it('gives up after its deadline times the slack, and says what it waited for', async () => {
    await expect(waitFor(() => undefined, { timeoutMs: 5, intervalMs: 1, what: 'nothing' })).rejects.toThrow(`timed out after ${5 * TEST_SLACK} ms waiting for nothing`);
  });

  it('reads the slack from REFIT_TEST_SLACK, 3 when unset, and refuses nonsense', () => {
    expect(testSlack(undefined)).toBe(3);
    expect(testSlack('')).toBe(3);
    expect(testSlack('1.5')).toBe(1.5);
    expect(() => testSlack('0')).toThrow(/from 1 to 100/);
    expect(() => testSlack('fast')).toThrow(/REFIT_TEST_SLACK=fast/);
  });
});
