import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, exitWords, restartDelayMs } from './backoff.js';
import { lastLines } from './log-tail.js';

describe('restartDelayMs', () => {
  it('doubles from 0.5 s and stops at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => restartDelayMs(DEFAULT_BACKOFF, n))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('treats anything below the first restart as the first', () => {
    expect(restartDelayMs({ firstMs: 100, maxMs: 1000 }, 0)).toBe(100);
    expect(restartDelayMs({ firstMs: 100, maxMs: 1000 }, -3)).toBe(100);
  });
});

describe('exitWords', () => {
  it('names the signal, else the code', () => {
    expect(exitWords(null, 'SIGKILL')).toBe('was killed by SIGKILL');
    expect(exitWords(1, null)).toBe('exited with code 1');
  });
});

describe('lastLines', () => {
  it('keeps the last lines of a text, without the trailing newline, each cut to a width', () => {
    expect(lastLines('a\nb\nc\n', 2, 80)).toEqual(['b', 'c']);
    expect(lastLines('x'.repeat(10), 5, 4)).toEqual(['xxxx…']);
    expect(lastLines('', 5, 80)).toEqual([]);
  });
});
