// A full evaluation report: every field of the evaluator's report set (optional ones included),
// with the numbers JSON cannot hold (NaN: a comparison without evidence) and nulls (a group
// without positives), for the converter's tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toJson } from '@bufbuild/protobuf';
import { EvaluationDetailsSchema, type EvaluationDetails } from '@refit/contracts';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { expect } from 'vitest';
import type { BacktestedEvaluation } from './backtest.js';
import type { PairedEvidence } from './comparison.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The wage-cost example: business metrics, a cost matrix and business champion rules. */
export const fullSpec: PipelineSpec = parseSpec(readFileSync(join(here, '../../../examples/wage-cost.yaml'), 'utf8'));

const evidence = (metric: string, n: number): PairedEvidence => ({
  metric,
  test: 'not-worse',
  margin: 0.01,
  n,
  candidate: 0.71,
  champion: 0.69,
  gain: 0.02,
  interval: { lower: -0.01, upper: 0.05, confidence: 0.95 },
  pValue: 0.012,
  method: "DeLong's test",
});
const curves = { roc: { fpr: [0, 0.5, 1], tpr: [0, 0.8, 1] }, pr: { recall: [0, 1], precision: [1, 0.4] }, calibration: { predicted: [0.15, 0.85], observed: [0.1, 0.9], count: [60, 40] } };
const fairnessReport = (dp: number) => ({
  sensitive: ['gender'],
  groups: [
    { group: 'female', key: { gender: 'female' }, n: 90, positives: 30, negatives: 60, selectionRate: 0.3, tpr: 0.7, fpr: 0.1, belowMinSize: false },
    { group: 'other', key: { gender: 3 }, n: 4, positives: 0, negatives: 4, selectionRate: 0.25, tpr: null, fpr: 0.25, belowMinSize: true },
  ],
  excludedGroups: ['other'],
  demographicParityDifference: dp,
  demographicParityRatio: 0.8,
  equalizedOddsDifference: 0.05,
  equalizedOddsRatio: null,
  equalOpportunityDifference: 0.04,
  intervals: { demographicParityDifference: { lower: 0.01, upper: 0.2 }, demographicParityRatio: null, equalizedOddsDifference: { lower: 0, upper: 0.1 }, equalizedOddsRatio: null, equalOpportunityDifference: { lower: 0, upper: 0.09 } },
});
const consistencyReport = (score: number) => ({
  score,
  probabilityScore: 0.93,
  k: 5,
  n: 200,
  queries: 200,
  sampled: false,
  groups: [
    { sensitive: 'gender', group: 'female', n: 90, score: 0.9, probabilityScore: 0.94, belowMinSize: false },
    { sensitive: 'gender', group: '(missing)', n: 0, score: null, probabilityScore: null, belowMinSize: true },
  ],
});

/** A backtested evaluation with every field set. */
export const fullEvaluation: BacktestedEvaluation = {
  verdict: 'inconclusive',
  gates: [
    { gate: 'floor:accuracy', outcome: 'pass', passed: true, reason: 'accuracy 0.7100 meets the floor 0.6000' },
    { gate: 'champion:auc', outcome: 'inconclusive', passed: false, reason: 'not shown' },
  ],
  candidate: { accuracy: 0.71, auc: 0.77, logLoss: 0.55, netValue: 1234.5, ece: Number.NaN },
  champion: { version: 'v3', metrics: { accuracy: 0.69, auc: 0.75, netValue: 1100 } },
  comparisons: [
    { evidence: evidence('auc', 200) },
    { slice: { column: 'sector', value: 'construction' }, evidence: evidence('auc', 60) },
    {
      evidence: { metric: 'netValue', test: 'better', margin: 0, n: 12, candidate: Number.NaN, champion: Number.NaN, gain: Number.NaN, interval: null, pValue: null, method: 'not enough data' },
    },
  ],
  slices: [
    { column: 'sector', value: 'construction', n: 60, belowMinSize: false, candidate: { accuracy: 0.7, auc: 0.76 }, champion: { accuracy: 0.68, auc: 0.74 } },
    { column: 'sector', value: 'other', n: 8, belowMinSize: true, candidate: { accuracy: 0.5 } },
  ],
  fairness: [{ sensitive: 'gender', candidate: fairnessReport(0.12), champion: fairnessReport(0.14) }],
  consistency: { k: 5, exclude: ['gender'], dropped: ['gender=female', 'gender=male'], dimensions: 7, candidate: consistencyReport(0.91), champion: consistencyReport(0.89) },
  holdout: { column: 'date', lastDays: 30, from: '2015-12-01', to: '2015-12-31', n: 40, candidate: { accuracy: 0.72 }, champion: { accuracy: 0.7 }, comparison: evidence('auc', 40) },
  rowsTest: 200,
  leftOut: { rows: 14, of: 214, reason: 'champion v3 trained or early-stopped on 14 of the 214 test rows' },
  thresholds: { candidate: 0.42, champion: 0.5 },
  curves: { rows: 200, candidate: curves, champion: curves },
  backtest: {
    column: 'date',
    days: 91,
    minRows: 30,
    metric: 'auc',
    margin: 0,
    windows: [
      { from: '2015-01-01', to: '2015-03-31', rows: 80, excluded: 3, judged: true, candidate: { auc: 0.78 }, champion: { auc: 0.76 }, comparison: evidence('auc', 80), notWorse: true },
      { from: '2015-04-01', to: '2015-06-30', rows: 10, excluded: 0, judged: false },
    ],
    compared: true,
    pooled: evidence('auc', 80),
    missing: 'no history in the lineage',
  },
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every leaf of a JSON value (empty arrays and objects included), by path. */
function leaves(v: Json, path = '', out = new Map<string, Json>()): Map<string, Json> {
  if (v !== null && typeof v === 'object' && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  } else out.set(path, v);
  return out;
}

const isEmptyObject = (v: Json): boolean => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;

// EvaluationReport carries these itself (run_id, pipeline, verdict, rows_test).
const TOP_LEVEL = new Set(['runId', 'pipeline', 'verdict', 'rowsTest']);
// A group's key (Record<string, string | number>) is a map of strings.
const GROUP_KEY = /\.groups\.\d+\.key\./;

/**
 * Asserts that the typed details hold every leaf of the stored report JSON with the same value
 * (a JSON null — NaN or an undefined number — is NaN or unset; a group key's number is a string),
 * and no value the report does not have. Returns the number of leaves compared.
 */
export function expectSameReport(stored: unknown, details: EvaluationDetails): number {
  const typed = leaves(toJson(EvaluationDetailsSchema, details, { alwaysEmitImplicit: true }) as Json);
  const all = leaves(stored as Json);
  const expected = [...all].filter(([p]) => !TOP_LEVEL.has(p.split('.')[0]));
  for (const [path, value] of expected) {
    if (value === null && !path.startsWith('spec.')) expect([undefined, 'NaN'], path).toContain(typed.get(path));
    else if (GROUP_KEY.test(path)) expect(typed.get(path), path).toBe(String(value));
    else expect(typed.get(path), path).toEqual(value);
  }
  for (const [path, value] of leaves(toJson(EvaluationDetailsSchema, details) as Json)) {
    if (value === 'NaN') expect(all.get(path), path).toBeNull();
    // A message whose fields are all unset (e.g. intervals none of which resamples defined: all null in the JSON).
    else if (isEmptyObject(value)) expect(all.has(path) || [...all.keys()].some((p) => p.startsWith(`${path}.`)), path).toBe(true);
    else if (GROUP_KEY.test(path)) expect(String(all.get(path)), path).toBe(value);
    else expect(all.get(path), path).toEqual(value);
  }
  return expected.length;
}
