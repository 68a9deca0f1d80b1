/** The registry's Prometheus metrics: alias moves, and the evaluation metrics of aliased versions. */
import { within, type PgPool, type ServiceMetrics } from '@refit/platform';

/** The evaluation metrics exported per aliased version (the ones live windows also measure). */
export const EXPORTED_METRICS = ['accuracy', 'auc', 'logLoss', 'brier'] as const;

/** How long a scrape waits for the database. */
const SCRAPE_TIMEOUT_MS = 1000;

/**
 * Defines (once) and returns the registry's metric families in `metrics`. With `pool`, the
 * evaluation metrics of every version an alias points at are read when scraped, so that alerting
 * compares live quality (the deployer's `refit_live_metric`) with what the gates saw.
 */
export function registryMetrics(metrics: ServiceMetrics, pool?: PgPool) {
  const evaluation = metrics.gauge({
    name: 'refit_model_evaluation_metric',
    help: 'Test-set metric of each version an alias points at, as evaluated before promotion, by pipeline, alias, version and metric',
    labelNames: ['pipeline', 'alias', 'version', 'metric'],
    async collect(g) {
      if (!pool) return;
      const res = await within(
        pool.query<{ pipeline: string; alias: string; version: string; metrics: Record<string, number> }>(
          'select a.pipeline, a.alias, a.version, m.metrics from aliases a join models m on m.pipeline = a.pipeline and m.version = a.version',
        ),
        SCRAPE_TIMEOUT_MS,
      ).catch(() => undefined);
      if (!res) return;
      g.reset();
      for (const r of res.rows) {
        for (const metric of EXPORTED_METRICS) {
          const v = r.metrics[metric];
          if (typeof v === 'number' && Number.isFinite(v)) g.set({ pipeline: r.pipeline, alias: r.alias, version: r.version, metric }, v);
        }
      }
    },
  });
  return {
    /** Alias moves recorded (champion, candidate, canary…), by pipeline, alias and ledger kind. */
    aliasChanges: metrics.counter({ name: 'refit_alias_changes_total', help: 'Alias moves, by pipeline, alias and kind of decision', labelNames: ['pipeline', 'alias', 'kind'] }),
    evaluation,
  };
}
