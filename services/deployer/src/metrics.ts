/**
 * The deployer's Prometheus metrics: Predict by version and variant, live quality per version from
 * the monitoring windows, and the rollout in progress (read from the database when scraped, so
 * every replica reports the same).
 */
import { within, type PgPool, type ServiceMetrics } from '@refit/platform';

/** The window metrics exported as `refit_live_metric` (not the confusion counts). */
export const LIVE_METRICS = ['accuracy', 'auc', 'logLoss', 'brier', 'divergence', 'errorRate'] as const;

/** How long a scrape waits for the database. */
const SCRAPE_TIMEOUT_MS = 1000;

/** Defines the gauges of the rollout in progress, read from `pool` when scraped. */
export function exportRollouts(metrics: ServiceMetrics, pool: PgPool): void {
  const rollout = (name: string, help: string, read: (r: RolloutScrape) => number): void => {
    metrics.gauge({
      name,
      help,
      labelNames: ['pipeline', 'strategy'],
      async collect(g) {
        const rows = await activeRollouts(pool);
        if (!rows) return;
        g.reset();
        for (const r of rows) g.set({ pipeline: r.pipeline, strategy: r.strategy }, read(r));
      },
    });
  };
  rollout('refit_rollout_step', 'Step (1-based) of the rollout in progress, by pipeline', (r) => r.step + 1);
  rollout('refit_rollout_weight', 'Traffic share of the candidate in the rollout in progress, percent', (r) => r.weight);
  rollout('refit_rollout_step_age_seconds', 'Time the rollout in progress has been on its step', (r) => r.age);
  rollout('refit_rollout_hold_seconds', 'Longest a step may wait for conclusive feedback (holdMinutes): a step older than this is held', (r) => r.hold);
}

/** Defines the gauge of predictions waiting for the prediction log's writer, read when scraped. */
export function exportPredictionLog(metrics: ServiceMetrics, log: { stats(): { queued: number } }): void {
  metrics.gauge({ name: 'refit_prediction_log_queued_rows', help: 'Served predictions waiting to be written by the prediction log (bounded by REFIT_PREDICTION_LOG_MAX_QUEUED)', collect: (g) => g.set(log.stats().queued) });
}

/** Defines (once) and returns the deployer's metric families in `metrics`. */
export function deployerMetrics(metrics: ServiceMetrics) {
  const labels = ['pipeline', 'version', 'variant'] as const;
  return {
    /** Predict calls, by the versions and variants that answered them. */
    requests: metrics.counter({ name: 'refit_predict_requests_total', help: 'Predict calls, by pipeline and the version and variant that answered (a split call counts for each)', labelNames: labels }),
    /** Rows answered, by version and variant. */
    rows: metrics.counter({ name: 'refit_predict_rows_total', help: 'Rows predicted, by pipeline, version and variant', labelNames: labels }),
    /** Call latency, by the versions and variants that answered. */
    latency: metrics.histogram({ name: 'refit_predict_latency_seconds', help: 'Duration of Predict calls, by pipeline and the version and variant that answered', labelNames: labels }),
    /** The last monitoring window's metrics per served version and variant. */
    live: metrics.gauge({ name: 'refit_live_metric', help: 'Live metric of the last monitoring window, on the feedback received in it, by pipeline, version, variant and metric', labelNames: [...labels, 'metric'] }),
    /** Predictions and labeled rows of the last window. */
    windowPredictions: metrics.gauge({ name: 'refit_live_window_predictions', help: 'Predictions made in the last monitoring window, by pipeline, version and variant', labelNames: labels }),
    /** Predictions the log wrote to Postgres. */
    logWritten: metrics.counter({ name: 'refit_prediction_log_written_rows_total', help: 'Served predictions the prediction log wrote to Postgres' }),
    /** Predictions answered but not logged: the log's queue was full (should stay 0). */
    logDropped: metrics.counter({ name: 'refit_prediction_log_dropped_rows_total', help: 'Served predictions not logged because the prediction log was full (Postgres not keeping up or unreachable); should stay 0' }),
    windowLabeled: metrics.gauge({ name: 'refit_live_window_labeled', help: 'Feedback labels received in the last monitoring window, by pipeline, version and variant', labelNames: labels }),
  };
}

/** The deployer's metric families (see {@link deployerMetrics}). */
export type DeployerMetrics = ReturnType<typeof deployerMetrics>;

type RolloutScrape = { pipeline: string; strategy: string; step: number; weight: number; age: number; hold: number };

async function activeRollouts(pool: PgPool): Promise<RolloutScrape[] | undefined> {
  const res = await within(
    pool.query<RolloutScrape>(
      `select pipeline, strategy, step, weight, extract(epoch from now() - step_started_at)::float8 as age,
              coalesce((config->>'holdMinutes')::float8, 0) * 60 as hold
         from rollouts where status = 'active'`,
    ),
    SCRAPE_TIMEOUT_MS,
  ).catch(() => undefined);
  return res?.rows;
}
