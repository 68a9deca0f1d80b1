import type { ArtifactStore } from '@refit/platform';
import { compileExpression, ExpressionError } from '@refit/spec';
import type { BusinessMetric } from './rollout-business.js';

type ReportBusiness = { costs?: Partial<BusinessMetric['costs']>; metrics?: Record<string, { expr?: string; goal?: string }> };

/**
 * The definition of the business metric a rollout compares, as the run was judged with it: the
 * `business:` section the evaluator stored in the run's evaluation report (lineage
 * `evaluation_report`). `rollout.requested` carries only the `rollout:` section, and the spec may
 * have changed since the run. Returns the metric, or a sentence saying why it cannot be compared
 * live (no report, not declared, or it reads columns, which live feedback does not carry).
 */
export async function businessMetricOfRun(store: ArtifactStore, metric: string, reportKey: string | undefined): Promise<BusinessMetric | string> {
  if (!reportKey) return `the rollout metric '${metric}' is not accuracy, logLoss or auc, and the run has no evaluation report to read its business definition from`;
  const report = JSON.parse((await store.get(reportKey)).toString('utf8')) as { spec?: { business?: ReportBusiness | null } };
  const business = report.spec?.business ?? undefined;
  const m = business?.metrics?.[metric];
  if (!m?.expr || (m.goal !== 'minimize' && m.goal !== 'maximize')) return `the rollout metric '${metric}' is not declared in the run's business.metrics`;
  try {
    const columns = compileExpression(m.expr).columns;
    if (columns.length > 0) return `the rollout metric '${metric}' reads the column(s) ${columns.join(', ')}, which live feedback does not carry`;
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return `the rollout metric '${metric}' does not compile: ${err.message}`;
  }
  return { expr: m.expr, goal: m.goal, costs: { fp: 0, fn: 0, tp: 0, tn: 0, ...business?.costs } };
}
