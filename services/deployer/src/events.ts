import type { ModelVersion, RegistryService } from '@refit/contracts';
import { initBackend } from '@refit/modeling';
import { EVENTS, InvalidInputError, isNotFound, stageTiming, type Client, type ServiceRuntime } from '@refit/platform';
import type { DeployerConfig } from './config.js';
import type { FeedbackPipelines } from './feedback-rows.js';
import { routingOf, type Rollouts } from './rollout.js';
import { loadVersion } from './serving.js';
import type { ServingSync } from './serving-sync.js';
import { currentDeployment, saveDeployment } from './store.js';

/** The pipeline's champion as the registry knows it now; undefined when it has none. */
async function championNow(registry: Client<typeof RegistryService>, pipeline: string): Promise<ModelVersion | undefined> {
  try {
    return (await registry.getAlias({ pipeline, alias: 'champion' }, { timeoutMs: 10_000 })).model;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Consumes `alias.changed` (when a pipeline's champion moves, load it and serve it) and
 * `rollout.requested` (serve a candidate next to the champion, see rollout.ts).
 */
export async function consumeDeployerEvents(
  rt: Pick<ServiceRuntime, 'consume' | 'pool' | 'publish' | 'store'>,
  config: Readonly<DeployerConfig>,
  rollouts: Rollouts,
  registry: Client<typeof RegistryService>,
  feedback: FeedbackPipelines,
  sync: ServingSync,
): Promise<void> {
  // Which pipelines train on feedback or read a stream (their predictions keep their rows).
  await rt.consume({
    name: 'pipeline-applied',
    event: EVENTS.pipelineApplied,
    handle: async (ev, tx) => {
      const e = ev.decode(EVENTS.pipelineApplied.schema);
      // Followed in memory at once; if the transaction rolls back, the redelivery sets it again,
      // and every replica re-reads the table (FeedbackPipelines.refresh) whatever it consumed.
      (await feedback.applied(tx, e.pipeline, e.version, e.specJson))();
    },
  });
  await rt.consume({
    name: 'rollout-requested',
    event: EVENTS.rolloutRequested,
    handle: async (ev, tx, { logger, afterCommit }) => {
      const e = ev.decode(EVENTS.rolloutRequested.schema);
      const r = await rollouts.begin(tx, e);
      if (!r) return;
      await initBackend({ prefer: config.tfBackend });
      sync.preload(await loadVersion(rt.store, { pipeline: r.pipeline, version: r.candidate_version, runId: r.run_id, modelKey: r.model_key, transformKey: r.transform_key, threshold: r.decision_threshold }));
      logger.info({ pipeline: e.pipeline, version: e.version }, 'rollout started');
      afterCommit(() => sync.install(r.pipeline, r.candidate_version, routingOf(r.config, r.step)));
    },
  });
  // The champion moved: decide what to serve (the registry is the truth, not the event), load it
  // outside any transaction, record it and announce it; every replica's serving sync then serves
  // what is recorded. A redelivery after the commit changes nothing (the row says it is served).
  await rt.consume<AliasWork>({
    name: 'alias-changed',
    event: EVENTS.aliasChanged,
    work: async (ev, { logger }) => {
      const started = Date.now();
      const e = ev.decode(EVENTS.aliasChanged.schema);
      if (e.alias !== 'champion') return { kind: 'nothing' };
      if ((await currentDeployment(rt.pool, e.pipeline))?.version === e.version) return { kind: 'nothing' };
      const model = await championNow(registry, e.pipeline);
      if (model?.version !== e.version) {
        const now = model ? `the registry's champion is ${model.version}` : 'the registry has no champion';
        logger.warn({ pipeline: e.pipeline, version: e.version, champion: model?.version }, `alias.changed names ${e.version} but ${now}: not serving it`);
        return { kind: 'refused', pipeline: e.pipeline, runId: e.runId, reason: `${e.version} was not served: ${now}` };
      }
      const modelKey = model.lineage?.model?.key;
      const transformKey = model.lineage?.transform?.key;
      if (!modelKey || !transformKey) throw new InvalidInputError(`model ${e.pipeline}/${e.version} has no model or transform artifact in its lineage`);
      await initBackend({ prefer: config.tfBackend });
      // Loaded here, so a model that cannot be loaded is never recorded as served.
      const loaded = await loadVersion(rt.store, { pipeline: e.pipeline, version: e.version, runId: e.runId, modelKey, transformKey, threshold: model.lineage?.decisionThreshold });
      sync.preload(loaded);
      return { kind: 'serve', pipeline: e.pipeline, version: e.version, previous: e.previousVersion, runId: e.runId, modelKey, transformKey, threshold: loaded.threshold, started };
    },
    effects: async (w, tx, { ev, logger, afterCommit }) => {
      if (w.kind === 'nothing') return;
      if (w.kind === 'refused') {
        if (w.runId) await rt.publish(tx, EVENTS.runFailed, { runId: w.runId, pipeline: w.pipeline, stage: 'deployer', reason: w.reason }, { runId: w.runId, traceId: ev.traceId });
        return;
      }
      if ((await currentDeployment(tx, w.pipeline, { lock: true }))?.version === w.version) return;
      await saveDeployment(tx, { pipeline: w.pipeline, version: w.version, runId: w.runId, modelKey: w.modelKey, transformKey: w.transformKey, threshold: w.threshold, reason: `champion moved to ${w.version}` });
      await rt.publish(tx, EVENTS.modelServing, { pipeline: w.pipeline, version: w.version, runId: w.runId, timing: stageTiming('deployer', w.started) }, { runId: w.runId, traceId: ev.traceId });
      await rollouts.championMoved(tx, w.pipeline, w.version);
      logger.info({ pipeline: w.pipeline, version: w.version, previous: w.previous }, 'champion recorded');
      afterCommit(() => sync.install(w.pipeline, w.version));
    },
  });
}

/** What the alias-changed work decided. */
type AliasWork =
  | { kind: 'nothing' }
  | { kind: 'refused'; pipeline: string; runId: string; reason: string }
  | { kind: 'serve'; pipeline: string; version: string; previous: string; runId: string; modelKey: string; transformKey: string; threshold: number; started: number };
