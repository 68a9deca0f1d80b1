/** The feature service's Prometheus metrics: drift PSI per feature, by pipeline. */
import type { DriftReport } from '@refit/contracts';
import type { ServiceMetrics } from '@refit/platform';

/** Defines (once) and returns the feature service's metric families in `metrics`. */
export function featureMetrics(metrics: ServiceMetrics) {
  return {
    /** The last drift report's PSI per feature: `training` (a run's data vs the previous run's) or `live` (served rows vs training). */
    psi: metrics.gauge({ name: 'refit_drift_psi', help: 'Population stability index of a feature in the last drift report, by pipeline, feature and source (training, live)', labelNames: ['pipeline', 'feature', 'source'] }),
    /** Drift reports by their status (ok, drift…). */
    reports: metrics.counter({ name: 'refit_drift_reports_total', help: 'Drift reports, by pipeline, source and status', labelNames: ['pipeline', 'source', 'status'] }),
  };
}

/** Shows a drift report in the gauges. */
export function showDrift(metrics: ServiceMetrics, pipeline: string, source: 'training' | 'live', report: Pick<DriftReport, 'columns' | 'status'>): void {
  const m = featureMetrics(metrics);
  m.reports.inc({ pipeline, source, status: report.status });
  for (const c of report.columns) if (c.psi !== undefined && Number.isFinite(c.psi)) m.psi.set({ pipeline, feature: c.column, source }, c.psi);
}
