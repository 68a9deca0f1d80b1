import { describe, expect, it } from 'vitest';
import { parseSpec } from '@refit/spec';
import { applyWindow, assignSplits, distinctLines, splitPoint, splitSizes } from './snapshot.js';

const split = (train: number, validation: number, test: number, seed = 7) => ({ train, validation, test, seed });

describe('the stable random split', () => {
  const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ day: i, x: (i * 37) % 101 }));
  const spec = parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: s
schema: { columns: [{ name: day, type: integer }, { name: x, type: number }] }
label: { column: x, positive: { gt: 50 } }
features: [{ name: day, type: number, transform: none }]
`);
  const sideOf = (ls: readonly string[]) => {
    const [train, validation, test] = assignSplits(ls, spec);
    const out = new Map<string, string>();
    for (const [name, idx] of [['train', train], ['validation', validation], ['test', test]] as const) for (const i of idx) out.set(ls[i], name);
    return out;
  };

  it('keeps every row in its split as the data grows: no later test row was an earlier training row', () => {
    // Weekly growth: each snapshot holds every row so far, as `data.window: all` does.
    const weeks = [200, 400, 800, 1400, 2000].map((n) => sideOf(lines.slice(0, n)));
    for (let w = 1; w < weeks.length; w++) {
      for (const [line, side] of weeks[w - 1]) expect(weeks[w].get(line)).toBe(side);
    }
    const last = weeks.at(-1) as Map<string, string>;
    const counts = { train: 0, validation: 0, test: 0 } as Record<string, number>;
    for (const side of last.values()) counts[side]++;
    // Close to the shares (0.7/0.15/0.15): binomial, not exact.
    expect(counts.train / 2000).toBeCloseTo(0.7, 1);
    expect(counts.test / 2000).toBeCloseTo(0.15, 1);
  });

  it('depends on the seed and on nothing else (not the order rows arrive in)', () => {
    const reversed = sideOf([...lines].reverse());
    for (const [line, side] of sideOf(lines)) expect(reversed.get(line)).toBe(side);
    expect(splitPoint('a row', 7)).toBe(splitPoint('a row', 7));
    expect(splitPoint('a row', 7)).not.toBe(splitPoint('a row', 8));
    // Across releases: a snapshot split must be reproducible later.
    expect(splitPoint('{"day":0,"x":0}', 7)).toBeCloseTo(0.6736102926325671, 12);
  });

  it('never leaves train or test empty, even on tiny data', () => {
    for (let n = 2; n < 30; n++) {
      const [train, validation, test] = assignSplits(lines.slice(0, n), spec);
      expect(train.length).toBeGreaterThan(0);
      expect(test.length).toBeGreaterThan(0);
      if (n >= 3) expect(validation.length).toBeGreaterThan(0);
      expect(train.length + validation.length + test.length).toBe(n);
    }
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
      const [train, validation, test] = assignSplits(lines, specWith(`{ split: { by: ${by} } }`));
      expect(train.length + validation.length + test.length).toBe(200);
      const sides = [train, validation, test].map((idx) => new Set(idx.map((i) => rows[i].user)));
      expect([...sides[0]].filter((u) => sides[1].has(u) || sides[2].has(u))).toEqual([]);
      expect([...sides[1]].filter((u) => sides[2].has(u))).toEqual([]);
      expect(test.length).toBeGreaterThan(0);
    }
    // By time, every training row is older than every test row's entity's newest row.
    const [train, , test] = assignSplits(lines, specWith('{ split: { by: time } }'));
    expect(Math.max(...train.map((i) => rows[i].x))).toBeLessThan(Math.max(...test.map((i) => rows[i].x)));
  });
});

describe('distinctLines', () => {
  it('keeps each non-empty line once, in order of first appearance across texts', () => {
    expect(distinctLines(['a\nb\n', 'b\nc\n\n', 'a\nd\n'])).toEqual(['a', 'b', 'c', 'd']);
    expect(distinctLines([])).toEqual([]);
  });
});
