import { RegistryService, type Lineage } from '@refit/contracts';
import { FailedPreconditionError, isNotFound, type ArtifactRef, type ServiceRuntime } from '@refit/platform';
import type { TrainerConfig } from './config.js';

/** The champion's weights to start from, and where they came from. */
export type WarmStart = { bytes: Uint8Array; ref: ArtifactRef; version: string };

/** What finding the warm-start champion uses: a registry client and the object store. */
export type WarmStartDeps = Pick<ServiceRuntime, 'connect' | 'store'>;

/**
 * The pipeline's champion model for a warm start, or undefined when there is no champion yet (the
 * first run trains cold). The champion must have been trained on the same transformed features
 * (same output columns in the same order) — weights for other inputs mean nothing.
 * @throws FailedPreconditionError naming both feature lists when they differ.
 */
export async function championForWarmStart(rt: WarmStartDeps, config: Readonly<TrainerConfig>, pipeline: string, lineage: Lineage): Promise<WarmStart | undefined> {
  const registry = rt.connect(RegistryService, config.registryAddress);
  try {
    let champion;
    try {
      champion = (await registry.getAlias({ pipeline, alias: 'champion' }, { timeoutMs: 10_000 })).model;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const ref = champion?.lineage?.model;
    if (!champion || !ref?.key) return undefined;
    const was = champion.lineage?.featureNames ?? [];
    const now = lineage.featureNames;
    if (was.join('\u0000') !== now.join('\u0000')) {
      throw new FailedPreconditionError(
        `warm start: champion ${champion.version} was trained on features [${was.join(', ')}], this run has [${now.join(', ')}]; ` +
          `drop model.warmStart or retrain cold once`,
      );
    }
    const bytes = await rt.store.get(ref.key);
    return { bytes, ref: { bucket: ref.bucket, key: ref.key, sha256: ref.sha256, size: Number(ref.sizeBytes) }, version: champion.version };
  } finally {
    registry.close();
  }
}
