import { EVENTS } from '@refit/platform';
import { describe, expect, it } from 'vitest';
import { isRunEvent } from './events.js';

const stageResult = { runId: 'r-1', subject: 'refit.model.trained', type: EVENTS.modelTrained.schema.typeName };

describe('which events move a run along', () => {
  it('takes the stage results of a run, in every stage', () => {
    expect(isRunEvent('refit', stageResult)).toBe(true);
    for (const def of [EVENTS.datasetPrepared, EVENTS.featuresReady, EVENTS.modelEvaluated, EVENTS.modelRegistered, EVENTS.modelServing, EVENTS.runFailed, EVENTS.streamProven]) {
      expect(isRunEvent('refit', { runId: 'r-1', subject: `refit.${def.name}`, type: def.schema.typeName })).toBe(true);
    }
  });

  it('leaves events without a run, other kinds of events and dead letters alone', () => {
    expect(isRunEvent('refit', { ...stageResult, runId: undefined })).toBe(false);
    expect(isRunEvent('refit', { ...stageResult, runId: '' })).toBe(false);
    // A training.progress beat each epoch, or anything the trigger itself publishes.
    expect(isRunEvent('refit', { runId: 'r-1', subject: 'refit.training.progress', type: EVENTS.trainingProgress.schema.typeName })).toBe(false);
    expect(isRunEvent('refit', { runId: 'r-1', subject: 'refit.run.requested', type: EVENTS.runRequested.schema.typeName })).toBe(false);
    expect(isRunEvent('refit', { ...stageResult, type: '' })).toBe(false);
    // A dead letter keeps the type of the event it was, under this prefix's dlq subjects only.
    expect(isRunEvent('refit', { ...stageResult, subject: 'refit.dlq.trainer' })).toBe(false);
    expect(isRunEvent('other', { ...stageResult, subject: 'refit.dlq.trainer' })).toBe(true);
  });
});
