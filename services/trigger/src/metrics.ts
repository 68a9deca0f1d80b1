/** The trigger service's Prometheus metrics: runs, stages, decisions and alert deliveries, by pipeline. */
import { DURATION_BUCKETS, type ServiceMetrics } from '@refit/platform';

/** Defines (once) and returns the trigger's metric families in `metrics`. */
export function triggerMetrics(metrics: ServiceMetrics) {
  return {
    /** Finished runs by outcome: promoted, rejected or failed. */
    runs: metrics.counter({ name: 'refit_runs_total', help: 'Runs finished, by pipeline and outcome (promoted, rejected, failed)', labelNames: ['pipeline', 'outcome'] }),
    /** Stage durations, from the stage's start to its result. */
    stageSeconds: metrics.histogram({ name: 'refit_stage_duration_seconds', help: 'Duration of a run\'s stage, by pipeline and stage', labelNames: ['pipeline', 'stage'], buckets: DURATION_BUCKETS }),
    /** Stages a run failed at. */
    stageFailures: metrics.counter({ name: 'refit_stage_failures_total', help: 'Runs failed, by pipeline and the stage that failed', labelNames: ['pipeline', 'stage'] }),
    /** Policy evaluations by what they led to (none, start, coalesce, queue, defer, suppress…). */
    decisions: metrics.counter({ name: 'refit_trigger_decisions_total', help: 'Trigger decisions, by pipeline, policy and outcome', labelNames: ['pipeline', 'policy', 'outcome'] }),
    /** Webhook delivery attempts by outcome. */
    alertDeliveries: metrics.counter({ name: 'refit_alert_deliveries_total', help: 'Alert webhook delivery attempts, by state (delivered, retry, failed)', labelNames: ['state'] }),
  };
}

/** The trigger's metric families (see {@link triggerMetrics}). */
export type TriggerMetrics = ReturnType<typeof triggerMetrics>;
