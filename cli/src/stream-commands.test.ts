import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { GetLearnerResponseSchema, GetStreamStatsResponseSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { formatStreamStatus } from './stream-commands.js';

describe('refit stream status', () => {
  const stats = create(GetStreamStatsResponseSchema, {
    pipeline: 'weather',
    subject: 'weather.rows',
    labelsSubject: 'weather.rows.labels',
    rowsAccepted: 1200n,
    rowsQuarantined: 3n,
    labelsJoined: 1100n,
    labelsQuarantined: 1n,
    rowsAwaitingLabel: 100n,
    rowsPerSecond: 20.5,
    labelsPerSecond: 18,
    lag: 42n,
    segments: 12n,
    lastSegmentAt: timestampFromDate(new Date('2026-12-06T10:00:00Z')),
  });
  const learner = create(GetLearnerResponseSchema, {
    pipeline: 'weather',
    championVersion: 'v3',
    segment: 12n,
    updates: 30n,
    rowsLearned: 1100n,
    state: 'learning',
    evidence: { rows: 1100n, learnerLogLoss: 0.5, championLogLoss: 0.61, improvement: 0.11, lower: 0.04, upper: 0.18, pValue: 0.0012, alpha: 0.05, learnerAccuracy: 0.75, championAccuracy: 0.6 },
    lastDecision: 'reset to champion v3: no skill',
    lastDecisionAt: timestampFromDate(new Date('2026-12-06T09:00:00Z')),
    labeledRowsPerSecond: 18,
    learningRate: 0.025,
    resets: 1n,
    replacements: 2n,
    transformDrift: 0.8,
  });

  it('shows the intake, the learner next to the champion and the last decision', () => {
    const text = formatStreamStatus('weather', stats, learner);
    expect(text).toContain('intake  weather.rows (labels weather.rows.labels): 20.5 rows/s, 18.0 labels/s, lag 42 messages');
    expect(text).toContain('learner learning from champion v3: segment 12, 30 updates, 1100 rows learned');
    expect(text).toMatch(/log loss\s+0\.5000\s+0\.6100/);
    expect(text).toContain('improvement 0.1100 [0.0400, 0.1800], anytime-valid p 0.00120 (α 0.05)');
    expect(text).toContain('2 replacements, 1 resets');
    expect(text).toContain('last decision (2026-12-06T09:00:00.000Z): reset to champion v3: no skill');
  });

  it('says what is missing when the learner has not started', () => {
    expect(formatStreamStatus('weather', stats, undefined)).toContain('learner not started');
    expect(formatStreamStatus('weather', undefined, learner)).toContain('no stream source');
  });
});
