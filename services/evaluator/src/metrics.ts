/** The evaluator's Prometheus metrics: gate verdicts by pipeline. */
import type { ServiceMetrics } from '@refit/platform';

/** Defines (once) and returns the evaluator's metric families in `metrics`. */
export function evaluatorMetrics(metrics: ServiceMetrics) {
  return {
    /** Candidates judged, by the gates' verdict (pass, fail, inconclusive). */
    verdicts: metrics.counter({ name: 'refit_gate_verdicts_total', help: 'Candidates judged by the promotion gates, by pipeline and verdict', labelNames: ['pipeline', 'verdict'] }),
  };
}
