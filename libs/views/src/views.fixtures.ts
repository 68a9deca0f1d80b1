/** Fixture messages for the views' tests: a hostile pipeline name, a run, a report with curves (typed, and its JSON-only twin). */
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import {
  DriftReportSchema,
  EvaluationDetailsSchema,
  EvaluationReportSchema,
  ExplainTriggersResponseSchema,
  LedgerEntrySchema,
  ModelVersionSchema,
  PipelineSchema,
  RolloutSchema,
  RunSchema,
  RunStatus,
  TrialSchema,
  Verdict,
} from '@refit/contracts';
import type { PageContext } from './page-context.js';

/** Text that would be markup if it were not escaped. */
export const HOSTILE = `<img src=x onerror="alert(1)">'"&</script>`;

/** An admin looking at console pages. */
export const adminCtx: PageContext = {
  nonce: 'n0nce',
  viewer: { name: 'ada', roles: ['admin'], can: { triggerRun: true, cancelRun: true, rollout: true, setAlias: true } },
  assets: { kind: 'linked', base: '/assets' },
};

/** A viewer: no actions. */
export const viewerCtx: PageContext = { ...adminCtx, viewer: { name: 'vic', roles: ['viewer'], can: { triggerRun: false, cancelRun: false, rollout: false, setAlias: false } } };

const t0 = Date.UTC(2026, 11, 6, 9, 0, 0);

/** A pipeline whose description is hostile text. */
export const pipeline = create(PipelineSchema, { name: 'rain', version: 3, specJson: JSON.stringify({ description: HOSTILE }), updatedAt: timestampFromMs(t0) });

/** Champion v2 of it. */
export const champion = create(ModelVersionSchema, { pipeline: 'rain', version: 'v2', runId: 'run-2', metrics: { auc: 0.66, accuracy: 0.68 }, aliases: ['champion'], verdict: Verdict.PASS, createdAt: timestampFromMs(t0) });

/** ExplainTriggers with one manual decision. */
export const explain = create(ExplainTriggersResponseSchema, {
  summary: ['the last run started because a person asked'],
  decisions: [{ id: 'd1', pipeline: 'rain', policy: 'manual', fired: true, action: 'start', reason: `manual: ${HOSTILE}`, runId: 'run-2', createdAt: timestampFromMs(t0) }],
});

const stages = ['ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer'].map((stage, i) => ({
  stage,
  status: 'done',
  computeMs: 100n,
  startedAt: timestampFromMs(t0 + i * 1000),
  finishedAt: timestampFromMs(t0 + i * 1000 + 900),
  eventType: 'refit.events.v1.X',
}));

/** A promoted run through all six stages. */
export const run = create(RunSchema, {
  runId: 'run-2',
  pipeline: 'rain',
  status: RunStatus.SUCCEEDED,
  triggerKind: 'manual',
  reason: HOSTILE,
  createdAt: timestampFromMs(t0),
  updatedAt: timestampFromMs(t0 + 6000),
  stages,
  outcome: 'promoted',
  modelVersion: 'v2',
  championVersion: 'v1',
  decisionReasons: ['pass: auc not worse', 'fail: something'],
  decisionId: 'd1',
});

const curves = (shift: number) => ({
  roc: { fpr: [0, 0.2, 0.5, 1], tpr: [0, 0.5 + shift, 0.8, 1] },
  pr: { recall: [1, 0.8, 0.5, 0], precision: [0.4, 0.5, 0.7 + shift, 1] },
  calibration: { predicted: [0.1, 0.5, 0.9], observed: [0.15, 0.45, 0.8], count: [10, 20, 10] },
});

/** The typed content of the report: curves, comparisons, slices, fairness and a backtest. */
export const reportDetails = create(EvaluationDetailsSchema, {
  curves: { rows: 317, candidate: curves(0.1), champion: curves(0) },
  comparisons: [{ evidence: { metric: 'auc', gain: -0.0099, interval: { lower: -0.0491, upper: 0.0308, confidence: 0.95 }, pValue: 0.021 } }],
  slices: [{ column: 'weather', value: HOSTILE, n: 40, belowMinSize: false, candidate: { auc: 0.7 }, champion: { auc: 0.6 } }],
  fairness: [{ sensitive: 'sex', candidate: { demographicParityDifference: 0.1, groups: [{ group: 'F', n: 100, selectionRate: 0.3, tpr: 0.6, fpr: 0.1 }] } }],
  backtest: { column: 'date', days: 30, metric: 'auc', windows: [{ fromDate: '2015-01-01', toDate: '2015-01-31', rows: 31, judged: true, candidate: { auc: 0.7 }, champion: { auc: 0.65 }, comparison: { gain: 0.05, interval: { lower: 0.01, upper: 0.09 } } }] },
});

/** The same report as the evaluator's stored JSON document (`report_json`, all an evaluator older than `details` serves). */
export const reportJson = {
  curves: { rows: 317, candidate: curves(0.1), champion: curves(0) },
  comparisons: [{ evidence: { metric: 'auc', gain: -0.0099, interval: { lower: -0.0491, upper: 0.0308, confidence: 0.95 }, pValue: 0.021 } }],
  slices: [{ column: 'weather', value: HOSTILE, n: 40, belowMinSize: false, candidate: { auc: 0.7 }, champion: { auc: 0.6 } }],
  fairness: [{ sensitive: 'sex', candidate: { demographicParityDifference: 0.1, groups: [{ group: 'F', n: 100, selectionRate: 0.3, tpr: 0.6, fpr: 0.1 }] } }],
  backtest: { column: 'date', days: 30, metric: 'auc', windows: [{ from: '2015-01-01', to: '2015-01-31', rows: 31, judged: true, candidate: { auc: 0.7 }, champion: { auc: 0.65 }, comparison: { gain: 0.05, interval: { lower: 0.01, upper: 0.09 } } }] },
};

const reportSummary = {
  runId: 'run-2',
  pipeline: 'rain',
  verdict: Verdict.PASS,
  reasons: ['pass: auc 0.6512 vs champion v1', `fail: ${HOSTILE}`],
  candidateMetrics: { auc: 0.6512, logLoss: 0.61 },
  championMetrics: { auc: 0.6611, logLoss: 0.79 },
  championVersion: 'v1',
  rowsTest: 317n,
};

/** Its evaluation report, typed (curves of both models); no report_json, so a page must read `details`. */
export const report = create(EvaluationReportSchema, { ...reportSummary, details: reportDetails });

/** Its JSON-only twin, as an evaluator that predates `details` serves it. */
export const legacyReport = create(EvaluationReportSchema, { ...reportSummary, reportJson: JSON.stringify(reportJson) });

/** Two search trials with learning curves. */
export const trials = [1, 2].map((i) => create(TrialSchema, { runId: 'run-2', trial: i, paramsJson: '{"lr":0.01}', status: 'completed', epochs: 3, score: 0.5, best: i === 1, curve: [1, 2, 3].map((e) => ({ epoch: e, loss: 1 / e, valLoss: 1.1 / e })) }));

/** An active canary at 25 %. */
export const rollout = create(RolloutSchema, { pipeline: 'rain', strategy: 'canary', candidateVersion: 'v3', championVersion: 'v2', runId: 'run-3', status: 'active', step: 1, weight: 25, steps: [5, 25, 50, 100], startedAtMs: BigInt(t0), stepStartedAtMs: BigInt(t0 + 1000), lastOutcome: 'inconclusive', lastReason: HOSTILE, lastAnalysisJson: JSON.stringify({ outcome: 'inconclusive', reason: 'x', metric: 'auc', paired: false, candidate: 0.7, champion: 0.6, nCandidate: 40, nChampion: 120, gain: 0.1, lower: -0.05, upper: 0.25, test: 'always-valid z', operational: { predictions: 160, errors: 0, latencyMs: 1.2, championLatencyMs: 1.1, divergence: 0.03 } }), history: [
  { step: 0, weight: 5, startedAtMs: BigInt(t0), endedAtMs: BigInt(t0 + 1000), outcome: 'pass', reason: `step 1/4: pass ${HOSTILE}`, analysisJson: '{}' },
  { step: 1, weight: 25, startedAtMs: BigInt(t0 + 1000), endedAtMs: 0n, outcome: 'inconclusive', reason: 'too little feedback yet', analysisJson: '{}' },
] });

/** Two ledger entries. */
export const ledger = [1, 2].map((seq) => create(LedgerEntrySchema, { pipeline: 'rain', seq: BigInt(seq), kind: seq === 2 ? 'promotion' : 'run-requested', runId: 'run-2', actor: 'ada', summary: HOSTILE, recordedAt: '2026-12-06T09:00:00Z', hash: 'ab'.repeat(32) }));

/** A training drift report with one histogram. */
export const drift = create(DriftReportSchema, {
  pipeline: 'rain',
  runId: 'run-2',
  referenceRunId: 'run-1',
  status: 'drift',
  share: 0.5,
  source: 'training',
  columns: [{ column: 'temp max', test: 'ks', statistic: 0.3, pValue: 0.001, psi: 0.42, status: 'drift', referenceSize: 100n, currentSize: 120n, histogram: { edges: [10, 20], reference: [0.3, 0.4, 0.3], current: [0.1, 0.3, 0.6] } }],
});

/** Standard fixture time. */
export const NOW = t0 + 10_000;
