import { describe, expect, it } from 'vitest';
import { createPrequentialState, createRng, MlRangeError, prequentialLook, type PrequentialLook, type PrequentialOptions, type PrequentialState } from './index.js';

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const opts: PrequentialOptions = { head: 'binary' };

/** One row of a stream: the true probability is sigmoid(2x); `learner` and `champion` say what each predicts. */
type Model = (x: number, rng: () => number) => number;
function row(rng: () => number, learner: Model, champion: Model, labels: 'signal' | 'shuffled' = 'signal') {
  const x = 2 * rng() - 1;
  const p = labels === 'signal' ? sigmoid(2 * x) : 0.4;
  const y = rng() < p ? 1 : 0;
  return { y: [y], learner: [learner(x, rng)], champion: [champion(x, rng)] };
}

/** Feeds `rows` rows one at a time; returns every look. */
function stream(seed: number, rows: number, learner: Model, champion: Model, labels: 'signal' | 'shuffled' = 'signal', o = opts): PrequentialLook[] {
  const rng = createRng(seed);
  let state = createPrequentialState();
  const looks: PrequentialLook[] = [];
  for (let i = 0; i < rows; i++) {
    const look = prequentialLook(state, row(rng, learner, champion, labels), o);
    looks.push(look);
    state = look.state;
  }
  return looks;
}

const truth: Model = (x) => sigmoid(2 * x);
/** Equally good, differently wrong: the true logit plus independent noise of the same size. */
const noisy: Model = (x, rng) => sigmoid(2 * x + 1.2 * (rng() - 0.5));
const stale: Model = (x) => sigmoid(0.4 * x + 0.8);
/** Confident and wrong once the labels are shuffled. */
const confident: Model = (x) => sigmoid(4 * x);
/** Close to the base rate, with a trace of the old slope. */
const nearBase: Model = (x) => sigmoid(Math.log(0.4 / 0.6) + 0.05 * x);

describe('prequentialLook: learner against champion, test-then-train, anytime-valid', () => {
  it('a clearly better learner is promoted within a few hundred rows, with its evidence', () => {
    const looks = stream(1, 2000, truth, stale);
    const first = looks.findIndex((l) => l.better);
    console.info(`clearly better: first promotion-worthy look at row ${first + 1}`);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(600);
    const l = looks[first];
    expect(l.evidence.pValue).toBeLessThanOrEqual(0.05);
    expect(l.evidence.lower).toBeGreaterThan(0);
    expect(l.evidence.improvement).toBeGreaterThan(0);
    expect(l.evidence.skillLower).toBeGreaterThan(0);
    expect(l.evidence.windowSkill.upper).toBeGreaterThan(0.01);
    expect(l.evidence.learnerLogLoss).toBeLessThan(l.evidence.championLogLoss);
    expect(l.why).toMatch(/^learner better than the champion: log loss 0\.\d{4} vs champion 0\.\d{4} on \d+ rows/);
    expect(looks.some((x) => x.worse)).toBe(false);
  });

  it('equally good models: promotion-worthy at some row of at most alpha of 20 seeds × 2000 rows, looked at every row', () => {
    let promoted = 0;
    let improvementShown = 0;
    for (let seed = 100; seed < 120; seed++) {
      const looks = stream(seed, 2000, noisy, noisy);
      if (looks.some((l) => l.better)) promoted++;
      if (looks.some((l) => l.evidence.lower > 0)) improvementShown++;
    }
    console.info(`equal models: ${promoted} of 20 streams ever promotion-worthy, ${improvementShown} with the improvement test alone ever rejecting (alpha 0.05, looked at every row)`);
    // 20 streams: the binomial 95 % bound of a 5 % rate is 3.
    expect(improvementShown).toBeLessThanOrEqual(3);
    expect(promoted).toBeLessThanOrEqual(improvementShown);
  });

  it('shuffled labels: a learner at the base rate beats a confident champion on log loss, yet is never promoted, and a reset fires', () => {
    const looks = stream(7, 2000, nearBase, confident, 'shuffled');
    const last = looks.at(-1)!;
    expect(last.evidence.improvement).toBeGreaterThan(0.1);
    expect(last.evidence.pValue).toBeLessThan(1e-6);
    expect(looks.some((l) => l.better)).toBe(false);
    const reset = looks.findIndex((l) => l.worse);
    console.info(`shuffled labels: first reset-worthy look at row ${reset + 1}: ${looks[reset]?.why}`);
    expect(reset).toBeGreaterThanOrEqual(200);
    expect(looks[reset].why).toMatch(/^labels carry no signal the learner can use/);
  });

  it('a learner shown worse than its champion is reset-worthy', () => {
    const looks = stream(3, 1000, stale, truth);
    const reset = looks.find((l) => l.worse);
    expect(reset?.evidence.upper).toBeLessThan(0);
    expect(reset?.why).toMatch(/^learner worse than the champion/);
  });

  it('the state is plain JSON: a round trip at any row gives identical looks', () => {
    const rng = createRng(11);
    let a: PrequentialState = createPrequentialState();
    let b: PrequentialState = createPrequentialState();
    for (let i = 0; i < 600; i++) {
      const r = row(rng, truth, stale);
      const la = prequentialLook(a, r, opts);
      const lb = prequentialLook(JSON.parse(JSON.stringify(b)) as PrequentialState, r, opts);
      expect(lb).toEqual(la);
      a = la.state;
      b = lb.state;
    }
    expect(JSON.stringify(a)).not.toMatch(/null|Infinity|NaN/);
  });

  it('micro-batches crossing a window give the totals of the same rows fed one by one', () => {
    const rng = createRng(5);
    const rows = Array.from({ length: 450 }, () => row(rng, truth, stale));
    const batched = prequentialLook(createPrequentialState(), { y: rows.flatMap((r) => r.y), learner: rows.flatMap((r) => r.learner), champion: rows.flatMap((r) => r.champion) }, opts);
    let s = createPrequentialState();
    for (const r of rows) s = prequentialLook(s, r, opts).state;
    expect(batched.state.rows).toBe(450);
    expect(batched.state.window).toMatchObject({ index: 2, rows: 50 });
    expect(batched.state.learnerLoss.mean).toBeCloseTo(s.learnerLoss.mean, 12);
    expect(batched.state.window.learner.candidate.mean).toBeCloseTo(s.window.learner.candidate.mean, 12);
    expect(batched.state.skill.candidate.n).toBe(350);
  });

  it('judges a regression head on squared error, and refuses bad input naming it', () => {
    const l = prequentialLook(createPrequentialState(), { y: [1, 2, 3, 4], learner: [1, 2, 3, 4.5], champion: [2, 3, 4, 5] }, { head: 'regression' });
    expect(l.evidence.learnerLogLoss).toBeCloseTo(0.0625, 12);
    expect(l.evidence.championLogLoss).toBe(1);
    expect(l.why).toMatch(/squared error/);
    expect(() => prequentialLook(createPrequentialState(), { y: [2], learner: [0.5], champion: [0.5] }, opts)).toThrow(/rows\.y\[0\] is 2, expected 0 or 1/);
    expect(() => prequentialLook(createPrequentialState(), { y: [1], learner: [1.5], champion: [0.5] }, opts)).toThrow(/rows\.learner\[0\] is 1\.5/);
    expect(() => prequentialLook(createPrequentialState(), { y: [1], learner: [0.5], champion: [] }, opts)).toThrow(MlRangeError);
    expect(() => prequentialLook(createPrequentialState(), { y: [1], learner: [0.5], champion: [0.5] }, { head: 'binary', resetWindow: 1 })).toThrow(/resetWindow/);
  });
});
