import { Verdict, type EvaluationDetails, type EvaluatorService } from '@refit/contracts';
import { InvalidInputError, NotFoundError, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { reportDetails } from './report.js';
import { getReport } from './store.js';

/**
 * The typed details of a stored report; none for a document the typed message cannot hold (a
 * report_json a client still reads as it is), rather than no report at all.
 */
function typedOrNone(reportJson: string): EvaluationDetails | undefined {
  try {
    return reportDetails(JSON.parse(reportJson));
  } catch {
    return undefined;
  }
}

/** gRPC handlers of the evaluator service. */
export function createEvaluatorHandlers(rt: Pick<ServiceRuntime, 'pool' | 'store'>): ServiceHandlers<typeof EvaluatorService> {
  return {
    async getReport(req) {
      if (!req.runId) throw new InvalidInputError('run_id is required');
      const r = await getReport(rt.pool, req.runId);
      if (!r) throw new NotFoundError(`no evaluation report for run '${req.runId}'`);
      const reportJson = (await rt.store.get(r.report_key)).toString('utf8');
      return {
        report: {
          runId: r.run_id,
          pipeline: r.pipeline,
          verdict: Verdict[r.verdict as keyof typeof Verdict] ?? Verdict.UNSPECIFIED,
          reasons: r.reasons,
          candidateMetrics: r.candidate_metrics,
          championMetrics: r.champion_metrics,
          championVersion: r.champion_version,
          rowsTest: BigInt(r.rows_test),
          report: { bucket: r.report_bucket, key: r.report_key, sha256: r.report_sha256, sizeBytes: BigInt(r.report_size) },
          // Still filled for one release, for clients that predate `details`.
          reportJson,
          // The same document, typed (reports stored before the field existed included).
          details: typedOrNone(reportJson),
        },
      };
    },
  };
}
