import type { Lineage, ModelVersion } from '@refit/contracts';
import { applyTransform, labelOf, parseTransform, targetOf, type RawRow } from '@refit/modeling';
import type { ArtifactStore } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { backtestMetric, backtestReport, cutHistory, type BacktestReport } from './backtest.js';
import { linesOf, rowsTrainedOn } from './trained-rows.js';

/** Scores a transformed matrix with the stored model at `modelKey`. */
export type Predict = (modelKey: string, X: Float32Array, n: number) => Promise<Float32Array>;


async function scoreWith(store: Pick<ArtifactStore, 'get'>, predict: Predict, modelKey: string, transformKey: string, rows: RawRow[]): Promise<Float32Array> {
  if (rows.length === 0) return new Float32Array(0);
  const t = applyTransform(parseTransform(await store.get(transformKey)), rows);
  return predict(modelKey, t.X, t.n);
}

// A row without a label cannot be judged; it is left out of its window (NaN), not an error.
function labelsOrNaN(rows: RawRow[], spec: PipelineSpec): Float64Array {
  const col = spec.label.column;
  const of = spec.model.head === 'regression' ? targetOf : labelOf;
  return Float64Array.from(rows, (r, i) => (r[col] === null || r[col] === undefined || r[col] === '' ? Number.NaN : of(r, spec.label, i)));
}

/**
 * Runs the spec's backtest (`evaluation.backtest`): reads the pipeline's history from the run's
 * lineage (`rawHistory`, written by the ingestion service), leaves out every row either model
 * trained or early-stopped on (their raw train and validation splits, compared line by line),
 * cuts the rest into windows and scores each model through its own transform.
 */
export async function loadBacktest({ store }: { store: Pick<ArtifactStore, 'get'> }, spec: PipelineSpec, lineage: Lineage, champion: ModelVersion | undefined, predict: Predict): Promise<BacktestReport> {
  const bt = spec.evaluation.backtest ?? { windows: 0, days: 1, minRows: 30 };
  const column = bt.column ?? spec.schema.timestamp ?? '';
  const base = { column, days: bt.days, minRows: bt.minRows, metric: backtestMetric(spec.gates, spec.model.head), margin: spec.gates.backtest?.margin ?? 0, windows: [], compared: false };
  if (!lineage.rawHistory?.key) return { ...base, missing: "the run's lineage has no history of past data (raw_history): nothing to backtest on" };
  if (!lineage.model?.key || !lineage.transform?.key) return { ...base, missing: 'the candidate has no model or transform in its lineage' };
  const trainedOn = await rowsTrainedOn(store, [lineage.rawTrain, lineage.rawValidation, champion?.lineage?.rawTrain, champion?.lineage?.rawValidation]);
  const cut = cutHistory(linesOf(await store.get(lineage.rawHistory.key)), trainedOn, { column, windows: bt.windows, days: bt.days });
  const rows = cut.lines.map((l) => JSON.parse(l) as RawRow);
  const candidate = await scoreWith(store, predict, lineage.model.key, lineage.transform.key, rows);
  const c = champion?.lineage;
  const championScores = c?.model?.key && c.transform?.key ? await scoreWith(store, predict, c.model.key, c.transform.key, rows) : undefined;
  return backtestReport(spec, spec.model.head, cut, { y: labelsOrNaN(rows, spec), candidate, champion: championScores, candidateThreshold: lineage.decisionThreshold, championThreshold: c?.decisionThreshold });
}
