import { describe, expect, it } from 'vitest';
import { QUARANTINE_IN_MEMORY, QuarantineSpool } from './quarantine-spool.js';

describe('QuarantineSpool', () => {
  it('keeps the first rows in memory, spools the rest to disk, and gives them all back in order', async () => {
    const spool = new QuarantineSpool();
    const n = QUARANTINE_IN_MEMORY + 2_345;
    for (let i = 0; i < n; i++) {
      spool.push({ line: i + 2, column: 'c', expected: 'a number', value: String(i), message: `bad ${i}`, raw: `row ${i}` });
      if (i % 1000 === 0) await spool.flush();
    }
    expect(spool.count).toBe(n);
    expect(spool.first(2).map((q) => q.line)).toEqual([2, 3]);
    const lines: number[] = [];
    for await (const part of spool.chunks(4000)) {
      expect(part.length).toBeLessThanOrEqual(4000);
      lines.push(...part.map((q) => q.line));
    }
    expect(lines).toEqual(Array.from({ length: n }, (_, i) => i + 2));
    await spool.dispose();
  });
});
