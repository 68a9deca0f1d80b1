import { Verdict, type Lineage, type ModelVersion } from '@refit/contracts';
import { binaryMetrics, compareModels, type BinaryMetrics, type ModelComparison } from '@refit/ml';
import { applyTransform, decodeMatrix, initBackend, loadModel, parseTransform, rowsFromJsonl } from '@refit/modeling';
import { InvalidInputError, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import type { EvaluatorConfig } from './config.js';
import { applyGates, type GateResult } from './gates.js';

/** The metrics Refit reports for a binary classifier, flattened for events and gates. */
export function flatMetrics(m: BinaryMetrics): Record<string, number> {
  const out: Record<string, number> = {
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    logLoss: m.logLoss,
    brier: m.brier,
  };
  if (m.rocAuc !== null) out.auc = m.rocAuc;
  return out;
}

/** A full evaluation: both models' metrics on the same rows, the gates and the verdict. */
export type Evaluation = {
  verdict: Verdict;
  gates: GateResult[];
  candidate: Record<string, number>;
  champion?: { version: string; metrics: Record<string, number> };
  /** Paired evidence on the gated metric (bootstrap interval; DeLong for AUC, McNemar for accuracy). */
  significance?: ModelComparison;
  rowsTest: number;
};

/** The libs/ml name of a gate metric that has a paired significance test. */
const SIGNIFICANCE_METRIC = { auc: 'rocAuc', accuracy: 'accuracy', logLoss: 'logLoss', brier: 'brier' } as const;

/** One sentence of evidence from a paired comparison. */
export function evidenceSentence(c: ModelComparison): string {
  const tests = [c.deLong ? `DeLong p=${c.deLong.pValue.toPrecision(3)}` : '', c.mcnemar ? `McNemar p=${c.mcnemar.pValue.toPrecision(3)}` : ''].filter(Boolean).join(', ');
  return `evidence (${c.n} paired rows): ${c.reason}${tests ? `; ${tests}` : ''} — ${c.verdict}`;
}

async function predictWith(rt: ServiceRuntime, modelKey: string, X: Float32Array, n: number): Promise<Float32Array> {
  const model = await loadModel(await rt.store.get(modelKey));
  try {
    return model.predict(X, n);
  } finally {
    model.dispose();
  }
}

/**
 * Scores the candidate and (when there is one) the champion on this run's test split: the
 * candidate through its own transform, the champion through the transform it was trained with,
 * so each model sees exactly what it would see in serving.
 */
export async function evaluateCandidate(
  rt: ServiceRuntime,
  config: Readonly<EvaluatorConfig>,
  spec: PipelineSpec,
  lineage: Lineage,
  champion: ModelVersion | undefined,
): Promise<Evaluation> {
  if (!lineage.model?.key || !lineage.featuresTest?.key) throw new InvalidInputError('model.trained carries no model or test features');
  await initBackend({ prefer: config.tfBackend });
  const test = decodeMatrix(await rt.store.get(lineage.featuresTest.key));
  const candidateProbs = await predictWith(rt, lineage.model.key, test.X, test.n);
  const candidate = flatMetrics(binaryMetrics(test.y, candidateProbs));
  let championResult: Evaluation['champion'];
  let significance: ModelComparison | undefined;
  if (champion?.lineage?.model?.key && champion.lineage.transform?.key && lineage.rawTest?.key) {
    const transform = parseTransform(await rt.store.get(champion.lineage.transform.key));
    const rows = rowsFromJsonl(await rt.store.get(lineage.rawTest.key));
    const t = applyTransform(transform, rows);
    const probs = await predictWith(rt, champion.lineage.model.key, t.X, t.n);
    championResult = { version: champion.version, metrics: flatMetrics(binaryMetrics(test.y, probs)) };
    const metric = SIGNIFICANCE_METRIC[spec.gates.champion.metric as keyof typeof SIGNIFICANCE_METRIC];
    if (metric) significance = compareModels(test.y, probs, candidateProbs, { metric, margin: spec.gates.champion.margin, seed: 0, minSamples: 30 });
  }
  const gates = applyGates(spec.gates, candidate, championResult);
  return {
    verdict: gates.every((g) => g.passed) ? Verdict.PASS : Verdict.FAIL,
    gates,
    candidate,
    champion: championResult,
    significance,
    rowsTest: test.n,
  };
}
