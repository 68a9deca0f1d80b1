import type { RegistryService } from '@refit/contracts';
import { initBackend } from '@refit/modeling';
import { EVENTS, InvalidInputError, stageTiming, type Client, type ServiceRuntime } from '@refit/platform';
import type { DeployerConfig } from './config.js';
import type { Rollouts } from './rollout.js';
import { loadVersion, type ServingTable } from './serving.js';
import { saveDeployment } from './store.js';

/**
 * Consumes `alias.changed` (when a pipeline's champion moves, load it and serve it) and
 * `rollout.requested` (serve a candidate next to the champion, see rollout.ts).
 */
export async function consumeDeployerEvents(
  rt: ServiceRuntime,
  config: Readonly<DeployerConfig>,
  table: ServingTable,
  rollouts: Rollouts,
  registry: Client<typeof RegistryService>,
): Promise<void> {
  await rt.consume({
    name: 'rollout-requested',
    event: EVENTS.rolloutRequested,
    handle: async (ev, tx, { logger }) => {
      const e = ev.decode(EVENTS.rolloutRequested.schema);
      await rollouts.begin(tx, e);
      logger.info({ pipeline: e.pipeline, version: e.version }, 'rollout started');
    },
  });
  await rt.consume({
    name: 'alias-changed',
    event: EVENTS.aliasChanged,
    handle: async (ev, tx, { logger }) => {
      const started = Date.now();
      const e = ev.decode(EVENTS.aliasChanged.schema);
      if (e.alias !== 'champion') return;
      if (table.current(e.pipeline)?.version === e.version) return;
      const { model } = await registry.getModel({ pipeline: e.pipeline, version: e.version }, { timeoutMs: 10_000 });
      const modelKey = model?.lineage?.model?.key;
      const transformKey = model?.lineage?.transform?.key;
      if (!modelKey || !transformKey) throw new InvalidInputError(`model ${e.pipeline}/${e.version} has no model or transform artifact in its lineage`);
      await initBackend({ prefer: config.tfBackend });
      const loaded = await loadVersion(rt.store, { pipeline: e.pipeline, version: e.version, runId: e.runId, modelKey, transformKey, threshold: model?.lineage?.decisionThreshold });
      await saveDeployment(tx, { pipeline: e.pipeline, version: e.version, runId: e.runId, modelKey, transformKey, threshold: loaded.threshold, reason: `champion moved to ${e.version}` });
      await rt.publish(tx, EVENTS.modelServing, { pipeline: e.pipeline, version: e.version, runId: e.runId, timing: stageTiming('deployer', started) }, { runId: e.runId, traceId: ev.traceId });
      table.swap(loaded);
      await rollouts.championMoved(tx, e.pipeline, e.version);
      logger.info({ pipeline: e.pipeline, version: e.version, previous: e.previousVersion }, 'now serving');
    },
  });
}
