import { mulberry32 } from '@refit/ml';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { weatherRows } from '@refit/testing';
import { describe, expect, it } from 'vitest';
import { judgeBatch } from './batch-checks.js';
import { INVERSION_ALPHA, judgeLabels, type ChampionOutcome } from './label-checks.js';
import { binaryLabel } from './label-rule.js';
import { Profiler, type BatchProfile } from './profile.js';
import { aucAgainstCoin } from './rank-sum.js';

const spec = parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: labels
schema:
  columns:
    - { name: precipitation, type: number, min: 0 }
    - { name: temp_max, type: number }
label: { column: precipitation, positive: { gt: 0 } }
features: [{ name: temp_max, type: number }]
`);
const regression = parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: wages
schema:
  columns:
    - { name: wage, type: number, min: 0 }
    - { name: education, type: number }
label: { column: wage }
features: [{ name: education, type: number }]
model: { head: regression }
`);
const withBatch = (s: PipelineSpec, batch: Partial<PipelineSpec['schema']['batch']>): PipelineSpec => ({ ...s, schema: { ...s.schema, batch: { ...s.schema.batch, ...batch } } });

/** The profile of rows whose label column holds `values` (null: empty). */
function profileOf(s: PipelineSpec, values: Array<number | null>): BatchProfile {
  const p = new Profiler(s.schema.columns, binaryLabel(s));
  for (const v of values) {
    p.row();
    p.cell(0, v === null ? '' : String(v), v ?? undefined);
    p.cell(1, '20', 20);
  }
  return p.finish();
}
/** `positives` rainy days (1 mm) among `n`. */
const rain = (n: number, positives: number): number[] => Array.from({ length: n }, (_, i) => (i < positives ? 1 : 0));
const facts = { rowsTotal: 0, rowsQuarantined: 0, duplicates: 0, checkCapped: false, extraColumns: [] };
const label = binaryLabel(spec);

/** Champion scores that rank rows as `y` says (with some overlap), or against it. */
function scored(y: number[], agree: boolean): ChampionOutcome {
  const scores = y.map((v, i) => ((agree ? v : 1 - v) * 0.5 + 0.25 + 0.3 * Math.sin(i * 7.3)) / 1.1 + 0.05);
  return { kind: 'scored', version: 'v3', evaluatedAuc: 0.83, y: Float64Array.from(y), scores: Float32Array.from(scores) };
}

describe('the label profile', () => {
  it("counts positives under the spec's rule, rows with a label only; a regression head counts none", () => {
    expect(profileOf(spec, [0, 0.3, 12, null, 0]).label).toEqual({ column: 'precipitation', rule: '{"column":"precipitation","positive":{"gt":0}}', n: 4, positives: 2 });
    expect(profileOf(regression, [3, 12]).label).toBeUndefined();
  });
});

describe('the label distribution against the pinned profile', () => {
  const pinned = { batchId: 'b-1', profile: profileOf(spec, rain(366, 81)) };

  it('flags a positive rate that moved past the limit, with the numbers (the issue: 0.22 → 0.81)', () => {
    const profile = profileOf(spec, rain(365, 296));
    const found = judgeLabels(spec, label, profile, pinned, undefined);
    expect(found.shift).toMatch(
      /^label precipitation > 0: positive rate 0\.81 in this batch \(n=365\) vs 0\.22 pinned \(n=366, batch b-1\): shift \+0\.59 exceeds 0\.5 \(two-proportion z=16\.\d, p<1e-6\); the labels may be inverted or the label rule wrong — check the source; if the change is real, the batch is kept \(onLabelShift: flag\)/,
    );
    expect(judgeBatch(spec, profile, pinned, { ...facts, rowsTotal: 365, labels: found }).status).toBe('flagged');
    const strict = withBatch(spec, { onLabelShift: 'reject' });
    const v = judgeBatch(strict, profile, pinned, { ...facts, rowsTotal: 365, labels: judgeLabels(strict, label, profile, pinned, undefined) });
    expect(v.status).toBe('rejected');
    expect(v.problems[0]).toMatch(/exceeds 0\.5 .*push a corrected file; if the change is real, raise schema\.batch\.maxLabelShift or set onLabelShift: flag and push the file again$/);
  });

  it('passes every season of Seattle: monthly rain rates from 0% to 87% against a pinned year, and an all-rain week', () => {
    const rows = weatherRows('Seattle');
    const rates = (from: string, to: string) => rows.filter((r) => String(r.date) >= from && String(r.date) < to).map((r) => Number(r.precipitation));
    for (const [from, to] of [
      ['2012-01-01', '2013-01-01'],
      ['2012-01-01', '2014-01-01'],
    ]) {
      const ref = { batchId: 'b-year', profile: profileOf(spec, rates(from, to)) };
      const months = [...new Set(rows.map((r) => String(r.date).slice(0, 7)))].filter((m) => m >= to.slice(0, 7));
      const shifted = months.filter((m) => judgeLabels(spec, label, profileOf(spec, rates(`${m}-01`, `${m}-32`)), ref, undefined).shift);
      expect({ from, shifted }).toEqual({ from, shifted: [] });
    }
    // Seven days of rain out of seven: far from 0.45, but a week says little (p ≈ 0.004).
    expect(judgeLabels(spec, label, profileOf(spec, rain(7, 7)), { batchId: 'b-year', profile: profileOf(spec, rain(731, 329)) }, undefined).shift).toBeUndefined();
  });

  it('does not compare counts taken under another rule, and says so; a profile pinned before label counts is noted too', () => {
    const other = { ...spec, label: { column: 'precipitation', positive: { gt: 2.5 } } };
    expect(judgeLabels(other, binaryLabel(other), profileOf(other, rain(365, 296)), pinned, undefined)).toEqual({
      notes: ['label check: the pinned profile (batch b-1) counted labels under another rule than precipitation > 2.5: their distributions are not compared'],
    });
    const { label: _, ...legacy } = pinned.profile;
    expect(judgeLabels(spec, label, profileOf(spec, rain(365, 296)), { batchId: 'b-0', profile: legacy }, undefined).notes).toEqual([
      'label check: the pinned profile (batch b-0) predates label counts; the label distribution is compared once a profile with them is pinned',
    ]);
  });

  it("compares a regression label's median in pinned inter-quartile ranges", () => {
    const wages = (n: number, at: number) => Array.from({ length: n }, (_, i) => at + (10 * i) / n);
    const ref = { batchId: 'b-w', profile: profileOf(regression, wages(400, 5)) };
    expect(judgeLabels(regression, undefined, profileOf(regression, wages(100, 7)), ref, undefined).shift).toBeUndefined();
    expect(judgeLabels(regression, undefined, profileOf(regression, wages(100, 30)), ref, undefined).shift).toMatch(
      /^label wage: median 35 in this batch \(n=100\) vs 10 pinned \(n=400, batch b-w; inter-quartile range 7\.5 to 12\.4\d\): a shift of \+5\.0\d ranges exceeds 2 \(z=\d+\.\d, p<1e-6\); another unit/,
    );
  });
});

describe("the champion's AUC on the batch's labels", () => {
  const pinned = { batchId: 'b-1', profile: profileOf(spec, rain(366, 170)) };
  const y = rain(60, 25);
  const profile = profileOf(spec, y);

  it('rejects labels the champion scores far below chance, with its AUC, interval and evaluation, and the positive rate', () => {
    const found = judgeLabels(spec, label, profile, pinned, scored(y, false));
    expect(found.inversion).toMatch(
      /^label precipitation > 0: champion v3 scores this batch's labels far below chance: AUC 0\.\d\d on 60 labelled rows \(95% CI 0\.\d\d to 0\.\d\d\) against 0\.83 at its evaluation and 0\.5 for a coin, which scores this low with p[=<][\d.e-]+ \(one-sided rank-sum test; limit labelInversionAuc 0\.4\); positive rate 0\.42 in this batch \(n=60\) vs 0\.46 pinned \(n=366, batch b-1\): shift −0\.05, while the champion's scores average 0\.\d\d — the labels are likely inverted/,
    );
    expect(judgeBatch(spec, profile, pinned, { ...facts, rowsTotal: 60, labels: found })).toMatchObject({ status: 'rejected', problems: [found.inversion] });
    const lenient = withBatch(spec, { onLabelInversion: 'flag' });
    expect(judgeBatch(lenient, profile, pinned, { ...facts, rowsTotal: 60, labels: judgeLabels(lenient, label, profile, pinned, scored(y, false)) })).toMatchObject({ status: 'flagged', problems: [] });
  });

  it('says nothing when the champion ranks the labels as it should, or is merely near chance', () => {
    expect(judgeLabels(spec, label, profile, pinned, scored(y, true))).toEqual({ notes: [] });
    const coin = { ...(scored(y, true) as Extract<ChampionOutcome, { kind: 'scored' }>), scores: Float32Array.from(y, (_, i) => (i * 0.618) % 1) };
    expect(judgeLabels(spec, label, profile, pinned, coin)).toEqual({ notes: [] });
  });

  it('notes a batch with too few of a class to judge, and a skipped check, without flagging the batch', () => {
    const dry = rain(31, 2);
    const found = judgeLabels(spec, label, profileOf(spec, dry), pinned, scored(dry, false));
    expect(found).toEqual({ notes: ["label check: champion v3's AUC on this batch was not judged: 2 positive and 29 negative labelled rows, fewer than 5 of a class"] });
    const skipped = judgeLabels(spec, label, profile, pinned, { kind: 'skipped', reason: 'the registry at 10.0.0.9:50056 could not be asked for the champion (deadline exceeded)' });
    expect(skipped.notes).toEqual(["label check: the champion's scores were not checked: the registry at 10.0.0.9:50056 could not be asked for the champion (deadline exceeded); this batch was judged on its label distribution alone"]);
    expect(judgeBatch(spec, profile, pinned, { ...facts, rowsTotal: 60, labels: skipped })).toEqual({ status: 'accepted', problems: [], warnings: skipped.notes });
  });
});

describe('the rank-sum test against a coin', () => {
  it('gives the AUC and the one-sided p-value (scipy mannwhitneyu, asymptotic, no continuity correction)', () => {
    const r = aucAgainstCoin([1, 1, 1, 0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    expect(r.auc).toBe(0);
    expect(r.pBelow).toBeCloseTo(0.016947, 5);
    expect(aucAgainstCoin([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toEqual({ auc: 0.5, pBelow: 1 });
    expect(aucAgainstCoin([1, 0, 1, 0, 1], [0.9, 0.2, 0.2, 0.1, 0.9]).auc).toBeCloseTo(5.5 / 6, 10);
  });

  it('takes a champion no better than a coin for one that sees inverted labels on about 1% of month-sized batches at most', () => {
    const rnd = mulberry32(11);
    let flagged = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      const y = Array.from({ length: 31 }, (_, i) => (i < 12 ? 1 : 0));
      const { auc, pBelow } = aucAgainstCoin(y, Array.from(y, () => rnd()));
      if (auc <= 0.4 && pBelow < INVERSION_ALPHA) flagged++;
    }
    expect(flagged / trials).toBeLessThan(0.015);
  });
});
