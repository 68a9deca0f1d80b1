import { EvaluationDetailsSchema, type EvaluationDetails } from './gen/refit/evaluator/v1/report_pb.js';
import { messageFromDoc, parseStored } from './json-doc.js';

/**
 * The typed content of an evaluation report from its JSON document (the evaluator's stored report:
 * `report_json`, or the object before it is serialized). The proto's JSON names are the report's,
 * so this is the one converter between the two: the evaluator fills `EvaluationReport.details`
 * with it, and a client reading a report from an evaluator older than `details` uses it on
 * `report_json`. Fields the proto does not have (runId, pipeline, verdict, rowsTest: top-level
 * fields of EvaluationReport) are ignored.
 */
export function evaluationDetailsFromJson(report: unknown): EvaluationDetails {
  return messageFromDoc(EvaluationDetailsSchema, report);
}

/**
 * The typed details of an evaluation report: its `details`, or, for a report stored before that
 * field existed, those converted from its `report_json` (empty when that is missing or unreadable).
 * The CLI and the console read reports through this.
 */
export function evaluationDetailsOf(report: { details?: EvaluationDetails; reportJson: string }): EvaluationDetails {
  if (report.details) return report.details;
  try {
    return evaluationDetailsFromJson(parseStored(report.reportJson));
  } catch {
    return evaluationDetailsFromJson({});
  }
}
