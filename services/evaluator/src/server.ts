import { Verdict, type EvaluatorService } from '@refit/contracts';
import { InvalidInputError, NotFoundError, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { getReport } from './store.js';

/** gRPC handlers of the evaluator service. */
export function createEvaluatorHandlers(rt: ServiceRuntime): ServiceHandlers<typeof EvaluatorService> {
  return {
    async getReport(req) {
      if (!req.runId) throw new InvalidInputError('run_id is required');
      const r = await getReport(rt.pool, req.runId);
      if (!r) throw new NotFoundError(`no evaluation report for run '${req.runId}'`);
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
          reportJson: (await rt.store.get(r.report_key)).toString('utf8'),
        },
      };
    },
  };
}
