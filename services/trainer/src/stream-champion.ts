import { RegistryService, type Lineage } from '@refit/contracts';
import { loadModel, parseTransform, type FittedTransform, type TrainedModel } from '@refit/modeling';
import { FailedPreconditionError, isNotFound, type ArtifactStore, type ServiceRuntime } from '@refit/platform';

/** A pipeline's champion as the learner uses it: its weights, its frozen transform, loaded once. */
export type Champion = {
  version: string;
  runId: string;
  lineage: Lineage;
  modelBytes: Uint8Array;
  model: TrainedModel;
  transform: FittedTransform;
};

/** Asks the registry for a pipeline's champion (undefined when there is none yet). */
export type ChampionSource = (pipeline: string) => Promise<Champion | undefined>;

/** Most loaded champions kept (one per pipeline in practice; older versions are disposed). */
const MAX_CACHED = 32;

/**
 * The registry is asked on every segment (a champion can change at any time: a batch run, a
 * rollout, a rollback), but a version's model and transform are read from the object store and
 * loaded once: versions are immutable.
 */
export function createChampionSource(deps: { connect: ServiceRuntime['connect']; store: Pick<ArtifactStore, 'get'>; registryAddress: string }): ChampionSource & { close(): void } {
  const cache = new Map<string, Champion>();
  const registry = deps.connect(RegistryService, deps.registryAddress);
  const load = async (pipeline: string, version: string, runId: string, lineage: Lineage): Promise<Champion> => {
    const key = `${pipeline}\u0000${version}`;
    const hit = cache.get(key);
    if (hit) return hit;
    if (!lineage.model?.key || !lineage.transform?.key) {
      throw new FailedPreconditionError(`champion ${version} of '${pipeline}' has no model or transform in its lineage; the learner cannot start from it`);
    }
    const [modelBytes, transformBytes] = await Promise.all([deps.store.get(lineage.model.key), deps.store.get(lineage.transform.key)]);
    const champion: Champion = { version, runId, lineage, modelBytes, model: await loadModel(modelBytes), transform: parseTransform(transformBytes) };
    for (const [k, c] of cache) {
      if (k.startsWith(`${pipeline}\u0000`) || cache.size >= MAX_CACHED) {
        c.model.dispose();
        cache.delete(k);
      }
    }
    cache.set(key, champion);
    return champion;
  };
  const source = async (pipeline: string): Promise<Champion | undefined> => {
    let model;
    try {
      model = (await registry.getAlias({ pipeline, alias: 'champion' }, { timeoutMs: 10_000 })).model;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (!model?.lineage) return undefined;
    return load(pipeline, model.version, model.runId, model.lineage);
  };
  return Object.assign(source, {
    close: () => {
      registry.close();
      for (const c of cache.values()) c.model.dispose();
      cache.clear();
    },
  });
}
