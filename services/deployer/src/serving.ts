import { applyTransform, parseTransform, loadModel, type FittedTransform, type RawRow, type TrainedModel } from '@refit/modeling';
import { FailedPreconditionError, type ArtifactStore } from '@refit/platform';

/** One loaded model with the transform it was trained with. */
export type LoadedModel = {
  readonly pipeline: string;
  readonly version: string;
  readonly runId: string;
  readonly model: TrainedModel;
  readonly transform: FittedTransform;
  readonly loadedAt: number;
};

type Slot = { loaded: LoadedModel; inFlight: number; retired: boolean };

/** Loads a model version's artifacts from the object store. */
export async function loadVersion(store: ArtifactStore, v: { pipeline: string; version: string; runId: string; modelKey: string; transformKey: string }): Promise<LoadedModel> {
  const [modelBuf, transformBuf] = await Promise.all([store.get(v.modelKey), store.get(v.transformKey)]);
  return { pipeline: v.pipeline, version: v.version, runId: v.runId, model: await loadModel(modelBuf), transform: parseTransform(transformBuf), loadedAt: Date.now() };
}

/**
 * The models being served, one per pipeline. A swap installs the new model at once; the old one
 * is disposed only when the last request that started on it has finished, so no in-flight
 * request fails.
 */
export class ServingTable {
  readonly #slots = new Map<string, Slot>();

  /** Installs `loaded` as the pipeline's serving model. */
  swap(loaded: LoadedModel): void {
    const old = this.#slots.get(loaded.pipeline);
    this.#slots.set(loaded.pipeline, { loaded, inFlight: 0, retired: false });
    if (old) {
      old.retired = true;
      if (old.inFlight === 0) old.loaded.model.dispose();
    }
  }

  /** What a pipeline serves now, if anything. */
  current(pipeline: string): LoadedModel | undefined {
    return this.#slots.get(pipeline)?.loaded;
  }

  /** Scores raw rows with the pipeline's serving model through its own fitted transform. */
  predict(pipeline: string, rows: RawRow[]): { version: string; probabilities: Float32Array } {
    const slot = this.#slots.get(pipeline);
    if (!slot) throw new FailedPreconditionError(`no model is serving for pipeline '${pipeline}' yet: train and promote one first`);
    slot.inFlight++;
    try {
      const t = applyTransform(slot.loaded.transform, rows);
      return { version: slot.loaded.version, probabilities: slot.loaded.model.predict(t.X, t.n) };
    } finally {
      slot.inFlight--;
      if (slot.retired && slot.inFlight === 0) slot.loaded.model.dispose();
    }
  }

  /** Disposes every model. */
  clear(): void {
    for (const slot of this.#slots.values()) slot.loaded.model.dispose();
    this.#slots.clear();
  }
}
