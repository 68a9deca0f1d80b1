import { create, fromJson, toJson, type JsonObject } from '@bufbuild/protobuf';
import { rolloutAnalysisDoc, rolloutAnalysisFromJson, RolloutAnalysisSchema, StepAnalysisSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { analyseStep, type StepAnalysis } from './rollout-analysis.js';
import { wireAnalysis, wireAnalysisFields } from './rollout-wire.js';

const spec = { metric: 'costPer1000', margin: 50, alpha: 0.05, minLabeled: 20, business: { expr: '1000 * cost / n', goal: 'minimize' as const, costs: { fp: 1, fn: 5, tp: 0, tn: 0 } } };
// n rows, label 1 on even rows, each model right on the rows below `right`.
const side = (n: number, right: number) => ({ y: Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0)), p: Array.from({ length: n }, (_, i) => ((i % 2 === 0) === i < right ? 0.9 : 0.1)) });

// The JSON field as clients of the previous release read it: what the deployer stores and serves.
const asStored = (a: StepAnalysis): JsonObject => JSON.parse(JSON.stringify(a)) as JsonObject;

describe('the typed rollout analysis on the wire', () => {
  it('carries every number of a business-metric analysis with guardrails, as the JSON does', () => {
    const analysed = analyseStep(spec, side(200, 190), side(200, 180), true);
    const a: StepAnalysis = { ...analysed, operational: { predictions: 1200, errors: 3, latencyMs: 0.42, championLatencyMs: 0.38, divergence: 0.07 } };
    expect(a.test).toBe('paired-bootstrap');
    const typed = create(StepAnalysisSchema, wireAnalysis(a));
    expect(typed).toMatchObject({
      outcome: a.outcome,
      reason: a.reason,
      metric: 'costPer1000',
      paired: true,
      candidate: a.candidate,
      champion: a.champion,
      nCandidate: 200n,
      nChampion: 200n,
      gain: a.gain,
      lower: a.lower,
      upper: a.upper,
      test: 'paired-bootstrap',
      divergence: a.divergence,
      operational: { predictions: 1200n, errors: 3n, latencyMs: 0.42, championLatencyMs: 0.38, divergence: 0.07 },
    });
    expect(typed.divergence).toBeGreaterThan(0);
    // The JSON's keys are the message's JSON names: the JSON read as the message is the typed field.
    expect(fromJson(StepAnalysisSchema, asStored(a))).toEqual(typed);
    expect(toJson(StepAnalysisSchema, typed)).toEqual({ ...asStored(a), nCandidate: '200', nChampion: '200', operational: { ...a.operational, predictions: '1200', errors: '3' } });
  });

  it('leaves undefined numbers unset (NaN in memory, null once stored) and a p-value where the test has one', () => {
    const nan: StepAnalysis = { outcome: 'inconclusive', reason: 'too little feedback yet', metric: 'auc', paired: false, candidate: NaN, champion: 0.71, nCandidate: 0, nChampion: 12, gain: NaN, lower: NaN, upper: NaN, test: 'none', operational: { predictions: 5, errors: 0, latencyMs: null, championLatencyMs: null, divergence: null } };
    for (const a of [nan, asStored(nan) as unknown as StepAnalysis]) {
      const typed = create(StepAnalysisSchema, wireAnalysis(a));
      expect([typed.candidate, typed.gain, typed.lower, typed.upper, typed.pWorse, typed.divergence]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
      expect(typed.champion).toBe(0.71);
      expect(typed.operational).toMatchObject({ predictions: 5n, errors: 0n });
      expect([typed.operational?.latencyMs, typed.operational?.championLatencyMs, typed.operational?.divergence]).toEqual([undefined, undefined, undefined]);
      expect(fromJson(StepAnalysisSchema, asStored(nan))).toEqual(typed);
    }
    const accuracy = analyseStep({ metric: 'accuracy', margin: 0.02, alpha: 0.05, minLabeled: 20 }, side(300, 280), side(300, 200), false);
    expect(accuracy.pWorse).toBeDefined();
    expect(create(StepAnalysisSchema, wireAnalysis(accuracy)).pWorse).toBe(accuracy.pWorse);
  });

  it('serves both forms from one object, and neither without an analysis', () => {
    const a = analyseStep({ metric: 'accuracy', margin: 0.02, alpha: 0.05, minLabeled: 20 }, side(100, 90), side(100, 80), true);
    const both = wireAnalysisFields(a);
    expect(JSON.parse(both.json)).toEqual(asStored(a));
    expect(create(StepAnalysisSchema, both.typed)).toEqual(create(StepAnalysisSchema, wireAnalysis(a)));
    expect(wireAnalysisFields(null)).toEqual({ json: '', typed: undefined });
  });

  it('gives rollout.decided the same analysis, typed, as its JSON field', () => {
    const business = analyseStep(spec, side(200, 190), side(200, 180), true);
    const analyses: StepAnalysis[] = [
      { ...business, operational: { predictions: 1200, errors: 3, latencyMs: 0.42, championLatencyMs: null, divergence: 0.07 } },
      analyseStep({ metric: 'accuracy', margin: 0.02, alpha: 0.05, minLabeled: 20 }, side(300, 280), side(300, 200), false),
      analyseStep({ metric: 'auc', margin: 0.02, alpha: 0.05, minLabeled: 20 }, side(0, 0), side(12, 10), false),
    ];
    for (const a of analyses) {
      // What publishDecided sends: analysis_json and the typed analysis from one object.
      const typed = create(RolloutAnalysisSchema, wireAnalysis(a));
      expect(rolloutAnalysisDoc(typed)).toEqual(asStored(a));
      expect(rolloutAnalysisFromJson(asStored(a))).toEqual(typed);
    }
  });
});
