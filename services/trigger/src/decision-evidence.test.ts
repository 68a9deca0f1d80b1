import { toJson } from '@bufbuild/protobuf';
import { triggerEvidenceFromJson, triggerEvidenceOf, triggerThresholdsFromJson, TriggerEvidenceSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { expectTypedEvidence } from './decision-evidence.fixtures.js';
import { evaluatePerformance, type PerformanceWindow } from './performance.js';
import { evaluateAge, evaluateBusiness, evaluateDrift, evaluateSchedule, evaluateVolume, type Evaluation } from './policies.js';

function expectTyped(e: Pick<Evaluation, 'measured' | 'thresholds'>): void {
  expectTypedEvidence({ measured: triggerEvidenceFromJson(e.measured), thresholds: triggerThresholdsFromJson(e.thresholds) }, e);
  // The same from the JSON strings (a reader of a trigger older than the typed fields).
  const fromStrings = triggerEvidenceOf({ measuredJson: JSON.stringify(e.measured), thresholdsJson: JSON.stringify(e.thresholds) });
  expect(fromStrings.measured).toEqual(triggerEvidenceFromJson(e.measured));
  expect(fromStrings.thresholds).toEqual(triggerThresholdsFromJson(e.thresholds));
}

const perf = (over: Partial<Parameters<typeof evaluatePerformance>[0]> = {}) => ({ kind: 'performance' as const, metric: 'accuracy', maxDrop: 0.05, minLabeled: 300, reference: 'live' as const, alpha: 0.05, ...over });
const end = (i: number) => new Date(Date.UTC(2026, 10, 26, 12, i)).toISOString();
const acc = (i: number, n: number, right: number, retired = false): PerformanceWindow => ({ version: 'v1', windowEnd: end(i), labeled: n, metrics: n ? { accuracy: right / n } : {}, rowSums: n ? { accuracy: { sum: right, sumSquares: right } } : {}, retired });
function feed(p: Parameters<typeof evaluatePerformance>[0], windows: PerformanceWindow[], ctx: Parameters<typeof evaluatePerformance>[3] = { lowerIsBetter: false, business: null }): Evaluation[] {
  let state;
  const out: Evaluation[] = [];
  for (const w of windows) {
    const r = evaluatePerformance(p, state, w, ctx);
    state = r.state;
    out.push(r.evaluation);
  }
  return out;
}

describe('the typed decision evidence on the wire', () => {
  it('schedule: the slot and how late, the cron, zone and catch-up rule', () => {
    const now = new Date('2026-11-26T03:10:00.000Z');
    const es = evaluateSchedule({ kind: 'schedule', cron: '0 * * * *', timezone: 'UTC', catchUp: 'latest' }, new Date('2026-11-26T00:30:00.000Z'), now);
    expect(es.length).toBe(3);
    for (const e of es) expectTyped(e);
    expect(triggerEvidenceFromJson(es[0].measured)).toMatchObject({ slot: '2026-11-26T01:00:00.000Z', lateMs: 7_800_000n });
    expect(triggerThresholdsFromJson(es[0].thresholds)).toMatchObject({ cron: '0 * * * *', timezone: 'UTC', catchUp: 'latest' });
  });

  it('volume: rows since the last run and their share, unset without a previous training set', () => {
    const both = evaluateVolume({ kind: 'volume', minRows: 100, minShare: 0.2 }, 120, 500);
    expectTyped(both);
    expect(triggerEvidenceFromJson(both.measured)).toMatchObject({ rowsSinceRun: 120n, lastRunRows: 500n, share: 0.24 });
    expect(triggerThresholdsFromJson(both.thresholds)).toMatchObject({ minRows: 100n, minShare: 0.2 });
    const first = evaluateVolume({ kind: 'volume', minRows: 100 }, 40, 0);
    expectTyped(first);
    expect(triggerEvidenceFromJson(first.measured).share).toBeUndefined();
    expect(triggerThresholdsFromJson(first.thresholds).minShare).toBeUndefined();
  });

  it('age: hours since the last training, unset before the first', () => {
    const old = evaluateAge({ kind: 'age', maxAgeHours: 24 }, new Date('2026-11-25T00:00:00.000Z'), new Date('2026-11-26T06:00:00.000Z'));
    expectTyped(old);
    expect(triggerEvidenceFromJson(old.measured)).toMatchObject({ ageHours: 30, lastTrainedAt: '2026-11-25T00:00:00.000Z' });
    expect(triggerThresholdsFromJson(old.thresholds).maxAgeHours).toBe(24);
    const none = evaluateAge({ kind: 'age', maxAgeHours: 24 }, undefined, new Date());
    expectTyped(none);
    expect(triggerEvidenceFromJson(none.measured).ageHours).toBeUndefined();
  });

  it('drift: the report and every column, a PSI not measured unset; the limits per feature', () => {
    const policy = { kind: 'drift' as const, maxShare: 0.5, features: { wind: { psi: 0.5 } }, minSamples: 50 };
    const columns = [
      { column: 'temp_max', psi: 1.992, status: 'drift', referenceSize: 366, currentSize: 90 },
      { column: 'wind', psi: null, status: 'not-enough-data', referenceSize: 366, currentSize: 90 },
    ];
    const e = evaluateDrift(policy, { version: 'v1', windowEnd: '2026-01-01T00:00:00.000Z', referenceRunId: 'r-2012', status: 'drift', share: 0.5, columns });
    expectTyped(e);
    const m = triggerEvidenceFromJson(e.measured);
    expect(m).toMatchObject({ version: 'v1', referenceRunId: 'r-2012', status: 'drift', share: 0.5, rows: 90n });
    expect(m.columns.temp_max).toMatchObject({ psi: 1.992, status: 'drift', referenceSize: 366n, currentSize: 90n });
    expect(m.columns.wind.psi).toBeUndefined();
    expect(triggerThresholdsFromJson(e.thresholds)).toMatchObject({ maxShare: 0.5, psi: { wind: 0.5 }, minSamples: 50n });
    expectTyped(evaluateDrift({ kind: 'drift', minSamples: 50 }, { version: 'v1', windowEnd: 'w', referenceRunId: 'r', status: 'not-enough-data', share: 0, columns: [] }));
  });

  it('business: the reported value, its source and version (unset when none), the bounds', () => {
    const e = evaluateBusiness({ kind: 'business', metric: 'conversion', sources: ['bi'], below: 0.02 }, { source: 'bi', value: 0.015, version: '', eventId: 'e1' });
    expectTyped(e);
    expect(triggerEvidenceFromJson(e.measured)).toMatchObject({ metric: 'conversion', value: 0.015, source: 'bi' });
    expect(triggerEvidenceFromJson(e.measured).version).toBeUndefined();
    expect(triggerThresholdsFromJson(e.thresholds)).toMatchObject({ below: 0.02 });
    expect(triggerThresholdsFromJson(e.thresholds).above).toBeUndefined();
  });

  it('performance: warm-up, reference, the sequential test with its bounds and p-value, retired windows', () => {
    const evaluations = feed(perf(), [acc(0, 0, 0), acc(1, 150, 120), acc(2, 150, 120), acc(3, 0, 0), ...Array.from({ length: 6 }, (_, i) => acc(4 + i, 100, 60, i === 5)), acc(9, 10, 5)]);
    for (const e of evaluations) expectTyped(e);
    const keys = new Set(evaluations.flatMap((e) => Object.keys(e.measured)));
    for (const k of ['version', 'windowEnd', 'labeled', 'metric', 'reference', 'warmup', 'test', 'live', 'drop', 'lower', 'upper', 'pValue', 'looks', 'logE', 'standardError', 'retired']) expect(keys).toContain(k);
    const last = triggerEvidenceFromJson(evaluations.at(-2)!.measured);
    expect(last).toMatchObject({ test: 'sequential', retired: true, reference: { source: 'live', labeled: 300n }, live: { labeled: 600n } });
    expect(last.pValue).toBeLessThan(0.05);
  });

  it('performance: a point comparison (AUC), a declared and an evaluation reference', () => {
    const auc = (i: number, n: number, v: number): PerformanceWindow => ({ version: 'v1', windowEnd: end(i), labeled: n, metrics: { auc: v }, rowSums: {} });
    for (const e of feed(perf({ metric: 'auc', minLabeled: 200 }), [auc(0, 200, 0.8), auc(1, 100, 0.76), auc(2, 100, 0.7), auc(3, 100, 0.6)])) expectTyped(e);
    const declared = feed(perf({ reference: { value: 0.8 } }), [acc(0, 100, 80), acc(1, 300, 200)]);
    for (const e of declared) expectTyped(e);
    expect(triggerThresholdsFromJson(declared[0].thresholds)).toMatchObject({ reference: 'declared', referenceValue: 0.8 });
    expect(triggerEvidenceFromJson(declared[1].measured).reference).toMatchObject({ source: 'declared', value: 0.8 });
    for (const e of feed(perf({ reference: 'evaluation' }), [acc(0, 100, 80)])) expectTyped(e);
    for (const e of feed(perf({ reference: 'evaluation' }), [acc(0, 400, 300)], { lowerIsBetter: false, business: null, evaluationValue: 0.8 })) expectTyped(e);
  });

  it('continuous, external and manual (the objects the trigger writes for them: decide.ts, external.ts)', () => {
    const continuous = { measured: { rows: 120 }, thresholds: {} };
    expectTyped(continuous);
    expect(triggerEvidenceFromJson(continuous.measured).rows).toBe(120n);
    const external = { measured: { source: 'airflow', eventId: 'e-1', requests: 2, sources: ['airflow', 'cron'] }, thresholds: { sources: ['airflow', 'cron'] } };
    expectTyped(external);
    expect(triggerEvidenceFromJson(external.measured)).toMatchObject({ source: 'airflow', eventId: 'e-1', requests: 2n, sources: ['airflow', 'cron'] });
    expect(triggerThresholdsFromJson(external.thresholds).sources).toEqual(['airflow', 'cron']);
    const manual = { measured: {}, thresholds: {} };
    expectTyped(manual);
    expect(toJson(TriggerEvidenceSchema, triggerEvidenceFromJson(manual.measured))).toEqual({});
  });

  it('reads what it knows of an evidence shape it does not, and an empty or broken JSON as nothing', () => {
    expect(triggerEvidenceFromJson({ rows: 12, future: { x: 1 }, slot: 3.5 })).toMatchObject({ rows: 12n });
    const partial = triggerEvidenceFromJson({ rows: 1.5, share: 0.3 });
    expect([partial.share, partial.rows]).toEqual([0.3, undefined]);
    expect(triggerEvidenceOf({ measuredJson: '', thresholdsJson: 'not json' })).toEqual({ measured: triggerEvidenceFromJson({}), thresholds: triggerThresholdsFromJson({}) });
  });
});
