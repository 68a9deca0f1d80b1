import { fromBinary, toBinary, toJson, type JsonObject } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { StepAnalysisSchema } from './gen/refit/deployer/v1/deployer_pb.js';
import { RolloutAnalysisSchema } from './gen/refit/events/v1/rollout_pb.js';
import { rolloutAnalysisDoc, rolloutAnalysisFromJson, rolloutAnalysisOf } from './rollout-analysis.js';

// `analysis_json` of real rollout.decided events (a deployer's StepAnalysis through JSON.stringify):
// a paired business-metric step with guardrails, and an unpaired AUC step with undefined numbers.
const paired: JsonObject = {
  outcome: 'fail',
  reason: 'costPer1000 gain -42.5 ≤ -(margin 50) at the 95% bound: candidate worse',
  metric: 'costPer1000',
  paired: true,
  candidate: 612.5,
  champion: 570,
  nCandidate: 200,
  nChampion: 200,
  gain: -42.5,
  lower: -71.25,
  upper: -13.75,
  test: 'paired-bootstrap',
  divergence: 0.0725,
  operational: { predictions: 1200, errors: 3, latencyMs: 0.42, championLatencyMs: 0.38, divergence: 0.07 },
};
const undefinedNumbers: JsonObject = {
  outcome: 'inconclusive',
  reason: 'too little feedback yet: 0 of 20 labeled rows on the candidate',
  metric: 'auc',
  paired: false,
  candidate: null,
  champion: 0.71,
  nCandidate: 0,
  nChampion: 12,
  gain: null,
  lower: null,
  upper: null,
  test: 'none',
  operational: { predictions: 5, errors: 0, latencyMs: null, championLatencyMs: null, divergence: null },
};
const accuracy: JsonObject = { outcome: 'pass', reason: 'accuracy gain 0.03 > -0.02', metric: 'accuracy', paired: false, candidate: 0.81, champion: 0.78, nCandidate: 300, nChampion: 310, gain: 0.03, lower: -0.004, upper: 0.064, test: 'proportion-z', pWorse: 0.041 };

describe('the typed rollout analysis of rollout.decided', () => {
  it('holds every field of the JSON, and gives the same document back', () => {
    for (const doc of [paired, undefinedNumbers, accuracy]) {
      const typed = rolloutAnalysisFromJson(doc);
      expect(typed).toBeDefined();
      expect(rolloutAnalysisDoc(typed!)).toEqual(doc);
    }
    expect(rolloutAnalysisFromJson(paired)).toMatchObject({ metric: 'costPer1000', nCandidate: 200n, gain: -42.5, operational: { predictions: 1200n, latencyMs: 0.42 } });
    const nan = rolloutAnalysisFromJson(undefinedNumbers)!;
    expect([nan.candidate, nan.gain, nan.lower, nan.upper, nan.pWorse, nan.divergence, nan.operational?.latencyMs]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(rolloutAnalysisFromJson(accuracy)?.pWorse).toBe(0.041);
  });

  it("is the deployer's StepAnalysis on the wire: the bytes of one read as the other", () => {
    for (const doc of [paired, undefinedNumbers, accuracy]) {
      const typed = rolloutAnalysisFromJson(doc)!;
      const asStep = fromBinary(StepAnalysisSchema, toBinary(RolloutAnalysisSchema, typed));
      expect(fromBinary(RolloutAnalysisSchema, toBinary(StepAnalysisSchema, asStep))).toEqual(typed);
      expect(toJson(StepAnalysisSchema, asStep)).toEqual(toJson(RolloutAnalysisSchema, typed));
    }
  });

  it('reads the typed field first, else the JSON of an older deployer; none when there is no analysis', () => {
    const typed = rolloutAnalysisFromJson(accuracy)!;
    expect(rolloutAnalysisOf({ analysis: typed, analysisJson: '' })).toBe(typed);
    expect(rolloutAnalysisOf({ analysisJson: JSON.stringify(paired) })).toEqual(rolloutAnalysisFromJson(paired));
    for (const analysisJson of ['', 'null', 'not json', '{"p":0.003}']) expect(rolloutAnalysisOf({ analysisJson })).toBeUndefined();
  });
});
