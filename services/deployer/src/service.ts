import { DeployerService } from '@refit/contracts';
import { initBackend } from '@refit/modeling';
import { implement, type ServiceRuntime } from '@refit/platform';
import type { DeployerConfig } from './config.js';
import { consumeDeployerEvents } from './events.js';
import { createDeployerHandlers } from './server.js';
import { loadVersion, ServingTable } from './serving.js';
import { listDeployments } from './store.js';

/**
 * Restores what was served before a restart, then follows champion changes and answers
 * predictions.
 */
export async function startDeployerService(rt: ServiceRuntime, config: Readonly<DeployerConfig>): Promise<void> {
  const table = new ServingTable();
  await initBackend({ prefer: config.tfBackend });
  for (const d of await listDeployments(rt.pool)) {
    table.swap(await loadVersion(rt.store, { pipeline: d.pipeline, version: d.version, runId: d.run_id, modelKey: d.model_key, transformKey: d.transform_key }));
    rt.logger.info({ pipeline: d.pipeline, version: d.version }, 'restored deployment');
  }
  await consumeDeployerEvents(rt, config, table);
  await rt.serve(implement(DeployerService, createDeployerHandlers(table)));
}
