import { toJson, type JsonObject } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { alertDetailsFromJson, alertDetailsOf } from './alert-details.js';
import { AlertDetailsSchema } from './gen/refit/events/v1/alerts_pb.js';
import { rolloutAnalysisDoc } from './rollout-analysis.js';
import { triggerEvidenceFromJson, triggerThresholdsFromJson } from './trigger-evidence.js';

// The documents the trigger service stores for each kind (services/trigger/src/alert-sources.ts,
// alerts.ts), with the values of its alert tests.
const runFailed = { stage: 'trainer', reason: 'loss became NaN at epoch 3', triggerKind: 'drift' };
const batch = { batchId: 'b-20pct', rowsQuarantined: 20, rowsTotal: 100, share: 0.2, threshold: 0.1, rejected: false, problems: ['line 3: wind: expected a number'] };
const blocked = { verdict: 'fail', reasons: ['accuracy 0.70 < champion 0.78 - 0.02'], candidateMetrics: { accuracy: 0.7, logLoss: 0.61, auc: 0.74 }, championMetrics: { accuracy: 0.78, logLoss: 0.52, auc: 0.81 }, championVersion: 'v1' };
const analysis = { outcome: 'fail', reason: 'accuracy 0.71 < 0.78 - 0.02', metric: 'accuracy', paired: false, candidate: 0.71, champion: 0.78, nCandidate: 240, nChampion: 260, gain: -0.07, lower: -0.12, upper: -0.02, test: 'proportion-z', pWorse: 0.003 };
const rollback = { version: 'v2', step: 1, reason: 'accuracy 0.71 < 0.78 - 0.02 (p 0.003)', analysis };
const measured = { share: 1, columns: [{ column: 'temp_max', psi: 0.6, status: 'drift' }], source: 'live', windowEnd: '2026-11-26T13:00:00.000Z' };
const thresholds = { share: 0.3, psi: 0.2 };
const drift = { decisionId: 'd-1', policy: 'drift', action: 'retrain', measured, thresholds };

describe('the typed facts of an alert', () => {
  it('holds each kind’s document field by field', () => {
    const json = (kind: string, doc: object): JsonObject => toJson(AlertDetailsSchema, alertDetailsFromJson(kind, doc)!, { alwaysEmitImplicit: true }) as JsonObject;
    expect(json('run-failed', runFailed)).toEqual({ runFailed });
    // int64 counts are strings in proto JSON.
    expect(json('batch-quarantined', batch)).toEqual({ batchQuarantined: { ...batch, rowsQuarantined: '20', rowsTotal: '100' } });
    expect(json('promotion-blocked', blocked)).toEqual({ promotionBlocked: blocked });
    expect(json('rollback', rollback)).toEqual({ rollback: { ...rollback, analysis: { ...analysis, nCandidate: '240', nChampion: '260' } } });

    const typedRollback = alertDetailsFromJson('rollback', rollback)?.kind;
    expect(typedRollback?.case === 'rollback' && rolloutAnalysisDoc(typedRollback.value.analysis!)).toEqual(analysis);
    for (const kind of ['drift-trigger', 'performance-trigger']) {
      const typed = alertDetailsFromJson(kind, drift)?.kind;
      expect(typed?.case).toBe('policyFired');
      expect(typed?.value).toMatchObject({ decisionId: 'd-1', policy: 'drift', action: 'retrain', measured: triggerEvidenceFromJson(measured), thresholds: triggerThresholdsFromJson(thresholds) });
    }
  });

  it('reads the typed field first, else the JSON; an unknown kind or a document that does not fit is none, never an error', () => {
    const typed = alertDetailsFromJson('run-failed', runFailed)!;
    expect(alertDetailsOf({ kind: 'run-failed', details: typed, detailsJson: '' })).toBe(typed);
    expect(alertDetailsOf({ kind: 'run-failed', detailsJson: JSON.stringify(runFailed) })).toEqual(typed);
    expect(alertDetailsFromJson('something-new', runFailed)).toBeUndefined();
    expect(alertDetailsFromJson('batch-quarantined', { rowsTotal: 'many' })).toBeUndefined();
    expect(alertDetailsFromJson('run-failed', 'not an object')).toBeUndefined();
    // An older deployer's analysis that is no analysis: the rest of the rollback still reads.
    const old = alertDetailsFromJson('rollback', { ...rollback, analysis: { p: 0.003 } })?.kind;
    expect(old?.case === 'rollback' && old.value).toMatchObject({ version: 'v2', step: 1, analysis: undefined });
  });
});
