import { evaluationDetailsFromJson, type EvaluationDetails, type Lineage } from '@refit/contracts';
import type { PipelineSpec } from '@refit/spec';
import type { BacktestedEvaluation } from './backtest.js';

/**
 * The evaluation report as stored (JSON) and served (`EvaluationReport.report_json`, and typed in
 * `EvaluationReport.details`: proto/refit/evaluator/v1/report.proto, whose JSON names are these).
 */
export function reportDocument(runId: string, spec: PipelineSpec, lineage: Pick<Lineage, 'model'>, evaluation: BacktestedEvaluation) {
  return {
    runId,
    pipeline: spec.name,
    verdict: evaluation.verdict,
    gates: evaluation.gates,
    candidate: { metrics: evaluation.candidate, model: lineage.model?.key },
    champion: evaluation.champion ? { version: evaluation.champion.version, metrics: evaluation.champion.metrics } : null,
    rowsTest: evaluation.rowsTest,
    leftOut: evaluation.leftOut ?? null,
    comparisons: evaluation.comparisons,
    slices: evaluation.slices,
    fairness: evaluation.fairness,
    holdout: evaluation.holdout ?? null,
    consistency: evaluation.consistency ?? null,
    backtest: evaluation.backtest ?? null,
    thresholds: evaluation.thresholds ?? null,
    // Absent (not null) for a regression head: there is nothing to draw.
    curves: evaluation.curves,
    spec: { gates: spec.gates, evaluation: spec.evaluation, business: spec.business ?? null },
  };
}

/** The stored report document. */
export type ReportDocument = ReturnType<typeof reportDocument>;

/**
 * The typed content of a stored report (its JSON, as written by {@link reportDocument}, or parsed
 * back from the store — reports stored before the typed field existed included).
 */
export function reportDetails(report: unknown): EvaluationDetails {
  return evaluationDetailsFromJson(report);
}
