import { applyTransform, parseTransform, loadModel, type FittedTransform, type RawRow, type TrainedModel } from '@refit/modeling';
import { FailedPreconditionError, type ArtifactStore } from '@refit/platform';
import { candidateAnswers, candidateVariant, type Routing } from './routing.js';

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

/** One row's answer: the probability, the version that gave it and its variant. */
export type RoutedPrediction = { probability: number; version: string; variant: 'champion' | 'canary' | 'b' };

/** What {@link ServingTable.predictRouted} returns: per-row answers and, in shadow mode, the candidate's scores. */
export type RoutedResult = { champion: string; rows: RoutedPrediction[]; shadow?: { version: string; probabilities: Float32Array } };

/**
 * The models being served: a champion per pipeline and, during a rollout, a candidate next to it
 * with its routing. A swap installs the new model at once; the old one is disposed only when the
 * last request that started on it has finished, so no in-flight request fails.
 */
export class ServingTable {
  readonly #slots = new Map<string, Slot>();
  readonly #candidates = new Map<string, { slot: Slot; routing: Routing }>();

  /** Installs `loaded` as the pipeline's serving model. */
  swap(loaded: LoadedModel): void {
    const old = this.#slots.get(loaded.pipeline);
    this.#slots.set(loaded.pipeline, { loaded, inFlight: 0, retired: false });
    if (old) retire(old);
  }

  /** Installs (or replaces) the pipeline's candidate with its routing. */
  setCandidate(loaded: LoadedModel, routing: Routing): void {
    const old = this.#candidates.get(loaded.pipeline);
    this.#candidates.set(loaded.pipeline, { slot: { loaded, inFlight: 0, retired: false }, routing });
    if (old) retire(old.slot);
  }

  /** Changes the candidate's routing (a canary step); requests already running keep theirs. */
  route(pipeline: string, routing: Routing): void {
    const c = this.#candidates.get(pipeline);
    if (c) this.#candidates.set(pipeline, { slot: c.slot, routing });
  }

  /** Removes the pipeline's candidate; it is disposed once its in-flight requests are done. */
  clearCandidate(pipeline: string): void {
    const c = this.#candidates.get(pipeline);
    this.#candidates.delete(pipeline);
    if (c) retire(c.slot);
  }

  /** What a pipeline serves now, if anything. */
  current(pipeline: string): LoadedModel | undefined {
    return this.#slots.get(pipeline)?.loaded;
  }

  /** The pipeline's candidate and routing during a rollout. */
  candidate(pipeline: string): { loaded: LoadedModel; routing: Routing } | undefined {
    const c = this.#candidates.get(pipeline);
    return c && { loaded: c.slot.loaded, routing: c.routing };
  }

  /** Scores raw rows with the pipeline's serving model through its own fitted transform. */
  predict(pipeline: string, rows: RawRow[]): { version: string; probabilities: Float32Array } {
    const slot = this.#slots.get(pipeline);
    if (!slot) throw new FailedPreconditionError(`no model is serving for pipeline '${pipeline}' yet: train and promote one first`);
    return { version: slot.loaded.version, probabilities: score(slot, rows) };
  }

  /**
   * Scores rows with the champion and, during a rollout, the candidate: canary and A/B rows the
   * candidate answers go to it only; in shadow mode it scores every row but never answers (and a
   * failure of the shadow never fails the request).
   */
  predictRouted(pipeline: string, rows: RawRow[], ids: string[]): RoutedResult {
    const slot = this.#slots.get(pipeline);
    if (!slot) throw new FailedPreconditionError(`no model is serving for pipeline '${pipeline}' yet: train and promote one first`);
    const c = this.#candidates.get(pipeline);
    if (!c) {
      const p = score(slot, rows);
      const version = slot.loaded.version;
      return { champion: version, rows: Array.from(p, (probability) => ({ probability, version, variant: 'champion' as const })) };
    }
    if (c.routing.strategy === 'shadow') {
      const p = score(slot, rows);
      const version = slot.loaded.version;
      let shadow: RoutedResult['shadow'];
      try {
        shadow = { version: c.slot.loaded.version, probabilities: score(c.slot, rows) };
      } catch {
        shadow = undefined;
      }
      return { champion: version, rows: Array.from(p, (probability) => ({ probability, version, variant: 'champion' as const })), shadow };
    }
    const routing = c.routing;
    const toCandidate = rows.map((row, i) => candidateAnswers(routing, ids[i], row));
    const pick = (want: boolean) => rows.filter((_, i) => toCandidate[i] === want);
    const champRows = pick(false);
    const candRows = pick(true);
    const pc = champRows.length > 0 ? score(slot, champRows) : new Float32Array(0);
    const pk = candRows.length > 0 ? score(c.slot, candRows) : new Float32Array(0);
    const variant = candidateVariant(routing.strategy) as 'canary' | 'b';
    let a = 0;
    let b = 0;
    const out = toCandidate.map((cand): RoutedPrediction =>
      cand ? { probability: pk[b++], version: c.slot.loaded.version, variant } : { probability: pc[a++], version: slot.loaded.version, variant: 'champion' },
    );
    return { champion: slot.loaded.version, rows: out };
  }

  /** Disposes every model. */
  clear(): void {
    for (const slot of this.#slots.values()) slot.loaded.model.dispose();
    for (const c of this.#candidates.values()) c.slot.loaded.model.dispose();
    this.#slots.clear();
    this.#candidates.clear();
  }
}

function retire(slot: Slot): void {
  slot.retired = true;
  if (slot.inFlight === 0) slot.loaded.model.dispose();
}

function score(slot: Slot, rows: RawRow[]): Float32Array {
  slot.inFlight++;
  try {
    const t = applyTransform(slot.loaded.transform, rows);
    return slot.loaded.model.predict(t.X, t.n);
  } finally {
    slot.inFlight--;
    if (slot.retired && slot.inFlight === 0) slot.loaded.model.dispose();
  }
}
