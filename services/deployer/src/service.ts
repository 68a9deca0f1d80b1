import { DeployerService, RegistryService } from '@refit/contracts';
import { initBackend } from '@refit/modeling';
import { createClient, implement, type ServiceRuntime } from '@refit/platform';
import type { DeployerConfig } from './config.js';
import { consumeDeployerEvents } from './events.js';
import { FeatureWindows } from './feature-window.js';
import { startMonitoring } from './monitoring.js';
import { PredictionLog, startPredictionRetention } from './prediction-log.js';
import { createRollouts, startRolloutTicks } from './rollout.js';
import { createDeployerHandlers } from './server.js';
import { loadVersion, ServingTable } from './serving.js';
import { listDeployments } from './store.js';

/**
 * Restores what was served before a restart (champions and rollouts at their step), then follows
 * champion changes and rollout requests, analyses rollouts and answers predictions.
 */
export async function startDeployerService(rt: ServiceRuntime, config: Readonly<DeployerConfig>): Promise<void> {
  const table = new ServingTable();
  await initBackend({ prefer: config.tfBackend });
  for (const d of await listDeployments(rt.pool)) {
    table.swap(await loadVersion(rt.store, { pipeline: d.pipeline, version: d.version, runId: d.run_id, modelKey: d.model_key, transformKey: d.transform_key, threshold: d.decision_threshold }));
    rt.logger.info({ pipeline: d.pipeline, version: d.version }, 'restored deployment');
  }
  const log = new PredictionLog({ pool: rt.pool, logger: rt.logger });
  const windows = new FeatureWindows();
  const registry = createClient(RegistryService, config.registryAddress);
  const monitoring = startMonitoring(rt, log, windows, { windowMs: config.monitorWindowMs });
  const rollouts = createRollouts({ rt, table, registry, tfBackend: config.tfBackend });
  await rollouts.resume();
  const ticks = startRolloutTicks(rollouts, config.rolloutTickMs);
  const retention = startPredictionRetention(rt.pool, rt.store, rt.logger, config.predictionRetentionDays);
  rt.onClose(async () => {
    await retention.stop();
    await ticks.stop();
    await rollouts.close();
    await monitoring.stop();
    await log.close();
    registry.close();
  });
  await consumeDeployerEvents(rt, config, table, rollouts, registry);
  await rt.serve(implement(DeployerService, createDeployerHandlers(table, log, rt.pool, windows, rollouts)));
}
