import type { Lineage, ModelVersion } from '@refit/contracts';
import { applyTransform, decodeMatrix, initBackend, loadModel, parseTransform, rowsFromJsonl, type RawRow } from '@refit/modeling';
import { InvalidInputError, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { businessColumns } from './business.js';
import type { EvaluatorConfig } from './config.js';
import { withBacktest, type BacktestedEvaluation } from './backtest.js';
import { loadBacktest } from './backtest-load.js';
import { judge } from './judge.js';
import { wantsConsistency } from './consistency.js';

async function predictWith(rt: ServiceRuntime, modelKey: string, X: Float32Array, n: number): Promise<Float32Array> {
  const model = await loadModel(await rt.store.get(modelKey));
  try {
    return model.predict(X, n);
  } finally {
    model.dispose();
  }
}

/** Whether the evaluation needs the raw test rows besides the candidate's features. */
function needsRows(spec: PipelineSpec, champion: ModelVersion | undefined): boolean {
  const e = spec.evaluation;
  return Boolean(champion) || e.slices.length > 0 || e.sensitive.length > 0 || (spec.gates.fairness ?? []).length > 0 || Boolean(e.holdout) || wantsConsistency(spec) || businessColumns(spec).length > 0;
}

/**
 * Scores the candidate and (when there is one) the champion on this run's test split: the
 * candidate through its own transform, the champion through the transform it was trained with,
 * so each model sees exactly what it would see in serving; then {@link judge}s them. With
 * `evaluation.backtest` both are also scored on past windows ({@link loadBacktest}).
 */
export async function evaluateCandidate(
  rt: ServiceRuntime,
  config: Readonly<EvaluatorConfig>,
  spec: PipelineSpec,
  lineage: Lineage,
  champion: ModelVersion | undefined,
): Promise<BacktestedEvaluation> {
  if (!lineage.model?.key || !lineage.featuresTest?.key) throw new InvalidInputError('model.trained carries no model or test features');
  await initBackend({ prefer: config.tfBackend });
  const test = decodeMatrix(await rt.store.get(lineage.featuresTest.key));
  const candidate = await predictWith(rt, lineage.model.key, test.X, test.n);
  let rows: RawRow[] | undefined;
  if (needsRows(spec, champion) && lineage.rawTest?.key) {
    rows = rowsFromJsonl(await rt.store.get(lineage.rawTest.key));
    if (rows.length !== test.n) throw new InvalidInputError(`raw test rows (${rows.length}) and test features (${test.n}) do not match`);
  }
  let championProbs: { version: string; probs: Float32Array; threshold: number } | undefined;
  if (champion?.lineage?.model?.key && champion.lineage.transform?.key && rows) {
    const t = applyTransform(parseTransform(await rt.store.get(champion.lineage.transform.key)), rows);
    championProbs = { version: champion.version, probs: await predictWith(rt, champion.lineage.model.key, t.X, t.n), threshold: champion.lineage.decisionThreshold };
  }
  // The candidate's own transform names the feature behind each test column (the consistency score drops the sensitive ones).
  const fitted = wantsConsistency(spec) && lineage.transform?.key ? parseTransform(await rt.store.get(lineage.transform.key)).features : spec.features;
  const features = { ...test, sources: fitted.map((f) => f.name) };
  const evaluation = judge({ spec, head: spec.model.head, y: test.y, candidate, candidateThreshold: lineage.decisionThreshold, champion: championProbs, rows, features });
  if (!spec.evaluation.backtest) return evaluation;
  const backtest = await loadBacktest(rt, spec, lineage, champion, (key, X, n) => predictWith(rt, key, X, n));
  return withBacktest(evaluation, backtest, spec.gates);
}
