import { DeployerService, RegistryService } from '@refit/contracts';
import { initBackend } from '@refit/modeling';
import { implement, type ServiceRuntime } from '@refit/platform';
import type { DeployerConfig } from './config.js';
import { consumeDeployerEvents } from './events.js';
import { FeatureWindows } from './feature-window.js';
import { FeedbackPipelines } from './feedback-rows.js';
import { deployerMetrics, exportPredictionLog, exportRollouts } from './metrics.js';
import { startMonitoring } from './monitoring.js';
import { PredictionLog, runPredictionRetention } from './prediction-log.js';
import { createRollouts, runRolloutTicks } from './rollout.js';
import { createDeployerHandlers } from './server.js';
import { ServingTable } from './serving.js';
import { createServingSync } from './serving-sync.js';

/** Options of {@link startDeployerService}. */
export type DeployerOptions = {
  /** The rollout controller's clock (step starts, hold expiry, decisions). Default `new Date()`. */
  clock?: () => Date;
};

/**
 * Restores what was served before a restart (champions and rollouts at their step), then follows
 * champion changes and rollout requests, analyses rollouts and answers predictions.
 */
export async function startDeployerService(rt: ServiceRuntime, config: Readonly<DeployerConfig>, opts: DeployerOptions = {}): Promise<void> {
  const table = new ServingTable();
  const metrics = deployerMetrics(rt.metrics);
  exportRollouts(rt.metrics, rt.pool);
  // Predict is the hot path: counted only when someone can scrape it (REFIT_METRICS_PORT).
  const predictMetrics = rt.metricsPort === undefined ? undefined : metrics;
  await initBackend({ prefer: config.tfBackend });
  // What the database says is served, champions and rollout candidates, now and from here on.
  const sync = createServingSync({ rt, table, tfBackend: config.tfBackend, everyMs: config.servingSyncMs });
  await sync.reconcile();
  const log = new PredictionLog({
    db: { url: rt.config.pgUrl, schema: rt.config.pgSchema },
    logger: rt.logger,
    maxQueued: config.predictionLogMaxQueued,
    observer: { written: (n) => metrics.logWritten.inc(n), dropped: (n) => metrics.logDropped.inc(n) },
  });
  exportPredictionLog(rt.metrics, log);
  const feedback = new FeedbackPipelines();
  await feedback.load(rt.pool);
  const feedbackRefresh = feedback.refresh(rt.pool, (err) => rt.logger.warn({ err }, 'could not re-read the pipelines whose predictions keep their rows; keeping the last list'));
  const windows = new FeatureWindows();
  const registry = rt.connect(RegistryService, config.registryAddress);
  const monitoring = startMonitoring(rt, log, windows, { windowMs: config.monitorWindowMs });
  const rollouts = createRollouts({ rt, table, registry, clock: opts.clock });
  // Singleton work, one replica at a time: rollout analysis and the prediction log's retention.
  const ticks = runRolloutTicks(rt, rollouts, config.rolloutTickMs);
  const retention = rt.runLeased({ name: 'prediction-retention', run: ({ signal }) => runPredictionRetention(rt.pool, rt.store, rt.logger, config.predictionRetentionDays, signal) });
  rt.onClose(async () => {
    feedbackRefresh.stop();
    await retention.stop();
    await ticks.stop();
    await sync.stop();
    await rollouts.close();
    await monitoring.stop();
    await log.close();
    registry.close();
  });
  await consumeDeployerEvents(rt, config, rollouts, registry, feedback, sync);
  await rt.serve(implement(DeployerService, createDeployerHandlers(table, log, rt.pool, windows, rollouts, feedback, { maxRows: config.predictMaxRows, maxColumns: config.predictMaxColumns }, predictMetrics)));
}
