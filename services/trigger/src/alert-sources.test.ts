import { create } from '@bufbuild/protobuf';
import { rolloutAnalysisDoc, rolloutAnalysisFromJson, RolloutAnalysisSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { rollbackAnalysis } from './alert-sources.js';

// A rolled-back step's analysis as a deployer sends it in analysis_json.
const analysis = { outcome: 'fail', reason: 'accuracy 0.71 < 0.78 - 0.02', metric: 'accuracy', paired: false, candidate: 0.71, champion: 0.78, nCandidate: 240, nChampion: 260, gain: -0.07, lower: -0.12, upper: -0.02, test: 'proportion-z', pWorse: 0.003 };

describe('the analysis of a rollback alert', () => {
  it('is the typed analysis of rollout.decided as its JSON document, equal to the JSON field', () => {
    const typed = rolloutAnalysisFromJson(analysis)!;
    expect(rollbackAnalysis({ analysis: typed, analysisJson: JSON.stringify(analysis) })).toEqual(analysis);
    // The typed field wins over a JSON field that says something else.
    expect(rollbackAnalysis({ analysis: typed, analysisJson: '{"p":1}' })).toEqual(rolloutAnalysisDoc(typed));
    expect(rollbackAnalysis({ analysis: create(RolloutAnalysisSchema, { outcome: 'fail', test: 'none' }), analysisJson: '' })).toMatchObject({ outcome: 'fail', candidate: null, nCandidate: 0 });
  });

  it('falls back to the JSON of a deployer older than the typed field, as it is', () => {
    expect(rollbackAnalysis({ analysisJson: JSON.stringify(analysis) })).toEqual(analysis);
    expect(rollbackAnalysis({ analysisJson: '{"p":0.003}' })).toEqual({ p: 0.003 });
    expect(rollbackAnalysis({ analysisJson: 'null' })).toBeNull();
    expect(rollbackAnalysis({ analysisJson: '' })).toBeNull();
  });
});
