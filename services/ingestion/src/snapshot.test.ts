import { describe, expect, it } from 'vitest';
import { parseSpec } from '@refit/spec';
import { applyWindow, assignSplits, distinctLines, permutation, splitSizes } from './snapshot.js';

const split = (train: number, validation: number, test: number, seed = 7) => ({ train, validation, test, seed });

describe('permutation', () => {
  it('is a permutation of 0..n-1', () => {
    for (const n of [0, 1, 2, 17, 1000]) {
      const p = Array.from(permutation(n, 7));
      expect(p).toHaveLength(n);
      expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
  });

  it('is the same for the same seed, different for another', () => {
    expect(Array.from(permutation(500, 42))).toEqual(Array.from(permutation(500, 42)));
    expect(Array.from(permutation(500, 42))).not.toEqual(Array.from(permutation(500, 43)));
    // Not the identity: the rows really are shuffled.
    expect(Array.from(permutation(500, 42)).filter((v, i) => v === i).length).toBeLessThan(20);
  });

  it('stays the same across releases (a snapshot split must be reproducible later)', () => {
    expect(Array.from(permutation(10, 7))).toEqual([6, 5, 8, 1, 2, 3, 4, 7, 9, 0]);
    expect(Array.from(permutation(10, 8))).toEqual([6, 9, 0, 8, 7, 3, 4, 2, 5, 1]);
  });
});

describe('splitSizes', () => {
  it('splits by the fractions, rounding validation and test, train taking the rest', () => {
    expect(splitSizes(100, split(0.7, 0.15, 0.15))).toEqual([70, 15, 15]);
    expect(splitSizes(60, split(0.7, 0.15, 0.15))).toEqual([42, 9, 9]);
    expect(splitSizes(40, split(0.7, 0.15, 0.15))).toEqual([28, 6, 6]);
    expect(splitSizes(21, split(0.7, 0.15, 0.15))).toEqual([15, 3, 3]);
    expect(splitSizes(33, split(0.6, 0.2, 0.2))).toEqual([19, 7, 7]);
  });

  it('gives each non-empty split at least one row and an empty validation split none', () => {
    expect(splitSizes(3, split(0.7, 0.15, 0.15))).toEqual([1, 1, 1]);
    expect(splitSizes(7, split(0.8, 0, 0.2))).toEqual([6, 0, 1]);
    expect(splitSizes(2, split(0.9, 0, 0.1))).toEqual([1, 0, 1]);
  });

  it('always adds up to n', () => {
    for (let n = 3; n < 300; n += 7) {
      const sizes = splitSizes(n, split(0.7, 0.15, 0.15));
      expect(sizes[0] + sizes[1] + sizes[2]).toBe(n);
    }
  });
});

describe('windows and entity-safe splits', () => {
  const specWith = (data: string) =>
    parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: w
schema:
  columns:
    - { name: user, type: string }
    - { name: day, type: date }
    - { name: x, type: number }
    - { name: y, type: number }
  entity: user
  timestamp: day
label: { column: y, positive: { gt: 0 } }
features: [{ name: x, type: number, transform: none }]
data: ${data}
`);
  const rows = Array.from({ length: 200 }, (_, i) => ({ user: `u${i % 37}`, day: new Date(Date.UTC(2014, 0, 1 + i)).toISOString().slice(0, 10), x: i }));
  const lines = rows.map((r) => JSON.stringify(r));

  it('takes the last N rows by time, or a time window counted back from the newest row', () => {
    expect(applyWindow([...lines].reverse(), specWith('{ window: { lastRows: 3 } }')).map((l) => (JSON.parse(l) as { x: number }).x)).toEqual([197, 198, 199]);
    expect(applyWindow(lines, specWith('{ window: { time: { lastDays: 9 } } }'))).toHaveLength(10);
    expect(applyWindow(lines, specWith("{ window: { time: { since: '2014-02-01', until: '2014-03-01' } } }"))).toHaveLength(28);
  });

  it('never puts one entity on two sides, randomly or by time', () => {
    for (const by of ['random', 'time']) {
      const [train, validation, test] = assignSplits(rows, specWith(`{ split: { by: ${by} } }`));
      expect(train.length + validation.length + test.length).toBe(200);
      const sides = [train, validation, test].map((idx) => new Set(idx.map((i) => rows[i].user)));
      expect([...sides[0]].filter((u) => sides[1].has(u) || sides[2].has(u))).toEqual([]);
      expect([...sides[1]].filter((u) => sides[2].has(u))).toEqual([]);
      expect(test.length).toBeGreaterThan(0);
    }
    // By time, every training row is older than every test row's entity's newest row.
    const [train, , test] = assignSplits(rows, specWith('{ split: { by: time } }'));
    expect(Math.max(...train.map((i) => rows[i].x))).toBeLessThan(Math.max(...test.map((i) => rows[i].x)));
  });
});

describe('distinctLines', () => {
  it('keeps each non-empty line once, in order of first appearance across texts', () => {
    expect(distinctLines(['a\nb\n', 'b\nc\n\n', 'a\nd\n'])).toEqual(['a', 'b', 'c', 'd']);
    expect(distinctLines([])).toEqual([]);
  });
});
