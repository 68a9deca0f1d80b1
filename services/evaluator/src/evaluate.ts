import type { Lineage, ModelVersion } from '@refit/contracts';
import { applyTransform, decodeMatrix, initBackend, loadModel, parseTransform, rowsFromJsonl, type RawRow } from '@refit/modeling';
import { InvalidInputError, type ArtifactStore } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { businessColumns } from './business.js';
import type { EvaluatorConfig } from './config.js';
import { withBacktest, type BacktestedEvaluation } from './backtest.js';
import { loadBacktest } from './backtest-load.js';
import { judge, type Evaluation } from './judge.js';
import { wantsConsistency } from './consistency.js';
import { comparableRows, linesOf, rowsTrainedOn, type LeftOut } from './trained-rows.js';
import { sameAsChampion, subsetMatrix, withoutComparison } from './no-comparison.js';

/** What scoring reads: the stored models, transforms and splits (only read, never written). */
export type ScoringDeps = { store: Pick<ArtifactStore, 'get'> };

async function predictWith({ store }: ScoringDeps, modelKey: string, X: Float32Array, n: number): Promise<Float32Array> {
  const model = await loadModel(await store.get(modelKey));
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
 * Scores the candidate and (when there is one) the champion on this run's test rows — only those
 * the champion neither trained nor early-stopped on — and {@link judge}s them.
 */
async function judgeOnTestRows(deps: ScoringDeps, spec: PipelineSpec, lineage: Lineage, champion: ModelVersion | undefined): Promise<Evaluation> {
  const { store } = deps;
  if (!lineage.model?.key || !lineage.featuresTest?.key) throw new InvalidInputError('model.trained carries no model or test features');
  let test = decodeMatrix(await store.get(lineage.featuresTest.key));
  let candidate = await predictWith(deps, lineage.model.key, test.X, test.n);
  let rows: RawRow[] | undefined;
  let leftOut: LeftOut | undefined;
  if (needsRows(spec, champion) && lineage.rawTest?.key) {
    const raw = await store.get(lineage.rawTest.key);
    rows = rowsFromJsonl(raw);
    if (rows.length !== test.n) throw new InvalidInputError(`raw test rows (${rows.length}) and test features (${test.n}) do not match`);
    // A champion judged on rows it trained on looks better than it is: every comparison, and so
    // the whole evaluation, uses only the test rows neither model trained or early-stopped on.
    const trainedOn = champion?.lineage ? await rowsTrainedOn(store, [champion.lineage.rawTrain, champion.lineage.rawValidation]) : undefined;
    const comparable = trainedOn && champion ? comparableRows(linesOf(raw), trainedOn, champion.version) : undefined;
    if (comparable?.keep.length === 0 && champion) {
      // Nothing is left to compare on: the candidate is judged on its floors, the comparison can only be inconclusive.
      return withoutComparison(judge({ spec, head: spec.model.head, y: test.y, candidate, candidateThreshold: lineage.decisionThreshold, rows }), champion.version, comparable.leftOut);
    }
    if (comparable) {
      ({ leftOut } = comparable);
      test = subsetMatrix(test, comparable.keep);
      candidate = Float32Array.from(comparable.keep, (i) => candidate[i]);
      rows = comparable.keep.map((i) => (rows as RawRow[])[i]);
    }
  }
  let championProbs: { version: string; probs: Float32Array; threshold: number } | undefined;
  if (champion?.lineage?.model?.key && champion.lineage.transform?.key && rows) {
    const t = applyTransform(parseTransform(await store.get(champion.lineage.transform.key)), rows);
    championProbs = { version: champion.version, probs: await predictWith(deps, champion.lineage.model.key, t.X, t.n), threshold: champion.lineage.decisionThreshold };
  }
  // The candidate's own transform names the feature behind each test column (the consistency score drops the sensitive ones).
  const fitted = wantsConsistency(spec) && lineage.transform?.key ? parseTransform(await store.get(lineage.transform.key)).features : spec.features;
  const features = { ...test, sources: fitted.map((f) => f.name) };
  return { ...judge({ spec, head: spec.model.head, y: test.y, candidate, candidateThreshold: lineage.decisionThreshold, champion: championProbs, rows, features }), leftOut };
}

/**
 * Scores the candidate and (when there is one) the champion on this run's test split: the
 * candidate through its own transform, the champion through the transform it was trained with,
 * so each model sees exactly what it would see in serving; then {@link judge}s them. With
 * `evaluation.backtest` both are also scored on past windows ({@link loadBacktest}).
 */
export async function evaluateCandidate(
  deps: ScoringDeps,
  config: Readonly<EvaluatorConfig>,
  spec: PipelineSpec,
  lineage: Lineage,
  champion: ModelVersion | undefined,
): Promise<BacktestedEvaluation> {
  if (!lineage.model?.key || !lineage.featuresTest?.key) throw new InvalidInputError('model.trained carries no model or test features');
  await initBackend({ prefer: config.tfBackend });
  const evaluation = sameAsChampion(await judgeOnTestRows(deps, spec, lineage, champion), { sha256: lineage.model?.sha256, snapshotSha256: lineage.snapshotSha256 }, champion && { version: champion.version, sha256: champion.lineage?.model?.sha256, snapshotSha256: champion.lineage?.snapshotSha256 });
  if (!spec.evaluation.backtest) return evaluation;
  const backtest = await loadBacktest(deps, spec, lineage, champion, (key, X, n) => predictWith(deps, key, X, n));
  return withBacktest(evaluation, backtest, spec.gates);
}
