import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { RunSchema, RunStatus } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { formatRun, runDurationMs } from './format.js';

const t0 = Date.UTC(2026, 0, 1);
const run = create(RunSchema, {
  runId: 'r-1',
  pipeline: 'weather-rain',
  specVersion: 2,
  status: RunStatus.SUCCEEDED,
  outcome: 'promoted',
  modelVersion: 'v2',
  triggerKind: 'manual',
  reason: 'new data',
  createdAt: timestampFromMs(t0),
  stages: [
    { stage: 'ingestion', status: 'done', computeMs: 20n, startedAt: timestampFromMs(t0 + 5), finishedAt: timestampFromMs(t0 + 25), detail: 'snapshot abc' },
    { stage: 'trainer', status: 'done', computeMs: 600n, startedAt: timestampFromMs(t0 + 30), finishedAt: timestampFromMs(t0 + 650), detail: '60 epochs on wasm' },
  ],
  candidateMetrics: { auc: 0.71, accuracy: 0.68 },
  championMetrics: { auc: 0.68 },
  championVersion: 'v1',
  decisionReasons: ["pass: auc 0.7100 vs champion v1's 0.6800"],
});

describe('formatRun', () => {
  it('shows stages with durations, metrics side by side, the decision and the overhead', () => {
    const text = formatRun(run);
    expect(text).toContain('run r-1  pipeline weather-rain (spec v2)  succeeded → promoted');
    expect(text).toMatch(/ingestion\s+done\s+compute\s+20 ms\s+snapshot abc/);
    expect(text).toContain('total 650 ms: stages\' compute 620 ms, orchestration 30 ms');
    expect(text).toMatch(/auc\s+0\.7100\s+0\.6800/);
    expect(text).toMatch(/accuracy\s+0\.6800\s+—/);
    expect(text).toContain("    - pass: auc 0.7100 vs champion v1's 0.6800");
    expect(runDurationMs(run)).toBe(650);
  });

  it('says where and why a failed run failed', () => {
    const failed = create(RunSchema, { ...run, status: RunStatus.FAILED, outcome: '', failedStage: 'ingestion', failureReason: 'only 3 rows' });
    expect(formatRun(failed)).toContain('FAILED at ingestion: only 3 rows');
  });

  it('never shows a rolled-back candidate as pending: the run failed after its gates, it was not promoted', () => {
    const rolledBack = create(RunSchema, { ...run, status: RunStatus.FAILED, outcome: '', modelVersion: 'v3', failedStage: 'deployer', failureReason: 'canary of v3 rolled-back at step 1/2' });
    const text = formatRun(rolledBack);
    expect(text).toContain('decision: not promoted (the run failed at deployer) (v3)');
    expect(text).not.toContain('pending');
  });
});
