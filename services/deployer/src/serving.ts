import { applyTransform, parseTransform, loadModel, type FittedTransform, type RawRow, type TrainedModel } from '@refit/modeling';
import { storedThreshold } from '@refit/ml';
import { FailedPreconditionError, type ArtifactStore } from '@refit/platform';
import { missingFeatures } from './predict-input.js';
import { candidateAnswers, candidateVariant, type Routing } from './routing.js';

/** One loaded model with the transform it was trained with. */
export type LoadedModel = {
  readonly pipeline: string;
  readonly version: string;
  readonly runId: string;
  readonly model: TrainedModel;
  readonly transform: FittedTransform;
  /** Probabilities at or above it are labeled 1 (the threshold stored with the version; 0.5 by default). */
  readonly threshold: number;
  readonly loadedAt: number;
};


type Slot = { loaded: LoadedModel; inFlight: number; retired: boolean };

/** Loads a model version's artifacts from the object store. */
export async function loadVersion(store: Pick<ArtifactStore, 'get'>, v: { pipeline: string; version: string; runId: string; modelKey: string; transformKey: string; threshold?: number | null }): Promise<LoadedModel> {
  const [modelBuf, transformBuf] = await Promise.all([store.get(v.modelKey), store.get(v.transformKey)]);
  return { pipeline: v.pipeline, version: v.version, runId: v.runId, model: await loadModel(modelBuf), transform: parseTransform(transformBuf), threshold: storedThreshold(v.threshold), loadedAt: Date.now() };
}

/**
 * One row's answer: the probability, the version that gave it and its variant; on a row the
 * candidate answered, also the champion's score of it and the champion's threshold (for divergence,
 * and as the paired evidence of the last canary step, where the champion answers nothing), unless
 * that failed.
 */
export type RoutedPrediction = {
  probability: number;
  version: string;
  variant: 'champion' | 'canary' | 'b';
  threshold: number;
  championProbability?: number;
  championThreshold?: number;
  /** Features the row lacked that the answering model filled as its spec declares. */
  imputed?: string[];
};

/** Rows a variant failed to score. */
export type VariantFailure = { version: string; variant: 'champion' | 'canary' | 'b' | 'shadow'; rows: number };

/**
 * What {@link ServingTable.predictRouted} returns: per-row answers, in shadow mode the candidate's
 * scores, and failures that did not fail the request (a shadow that could not score).
 */
export type RoutedResult = {
  champion: string;
  rows: RoutedPrediction[];
  shadow?: { version: string; probabilities: Float32Array; threshold: number; msPerRow: number };
  failures?: VariantFailure[];
  /**
   * Milliseconds per row each answering variant spent scoring the rows it answered, so a slow
   * candidate shows in its own latency (the shadow's and the champion's second opinion are not in it).
   */
  scoringMsPerRow: Partial<Record<RoutedPrediction['variant'], number>>;
};

/**
 * A variant failed to score a request's rows, so the request failed: carries the variant for the
 * error rate and the original error as `cause` (what the caller should answer with).
 */
export class VariantScoringError extends Error {
  constructor(
    readonly failure: VariantFailure,
    options: { cause: unknown },
  ) {
    super(`${failure.variant} ${failure.version} failed to score ${failure.rows} rows`, options);
    this.name = 'VariantScoringError';
  }
}

/** Whether `err` is a {@link VariantScoringError}. */
export function isVariantScoringError(err: unknown): err is VariantScoringError {
  return err instanceof VariantScoringError;
}

// Scores and times one variant's rows; a failure names the variant.
function scoreAs(slot: Slot, rows: RawRow[], variant: RoutedPrediction['variant'], ms: RoutedResult['scoringMsPerRow']): Scored {
  const started = performance.now();
  try {
    const p = score(slot, rows);
    ms[variant] = (performance.now() - started) / Math.max(1, rows.length);
    return p;
  } catch (cause) {
    throw new VariantScoringError({ version: slot.loaded.version, variant, rows: rows.length }, { cause });
  }
}

/**
 * The models being served: a champion per pipeline and, during a rollout, a candidate next to it
 * with its routing. A swap installs the new model at once; the old one is disposed only when the
 * last request that started on it has finished, so no in-flight request fails.
 */
export class ServingTable {
  readonly #slots = new Map<string, Slot>();
  readonly #candidates = new Map<string, { slot: Slot; routing: Routing }>();
  #changes = 0;

  /**
   * How many changes this table has seen: a reader of the database compares it before and after
   * its read, so that what it read never overwrites a newer change made meanwhile.
   */
  get changes(): number {
    return this.#changes;
  }

  /** Installs `loaded` as the pipeline's serving model. */
  swap(loaded: LoadedModel): void {
    this.#changes++;
    const old = this.#slots.get(loaded.pipeline);
    this.#slots.set(loaded.pipeline, { loaded, inFlight: 0, retired: false });
    if (old) retire(old);
  }

  /** Installs (or replaces) the pipeline's candidate with its routing. */
  setCandidate(loaded: LoadedModel, routing: Routing): void {
    this.#changes++;
    const old = this.#candidates.get(loaded.pipeline);
    this.#candidates.set(loaded.pipeline, { slot: { loaded, inFlight: 0, retired: false }, routing });
    if (old) retire(old.slot);
  }

  /** Changes the candidate's routing (a canary step); requests already running keep theirs. */
  route(pipeline: string, routing: Routing): void {
    this.#changes++;
    const c = this.#candidates.get(pipeline);
    if (c) this.#candidates.set(pipeline, { slot: c.slot, routing });
  }

  /** Removes the pipeline's candidate; it is disposed once its in-flight requests are done. */
  clearCandidate(pipeline: string): void {
    this.#changes++;
    const c = this.#candidates.get(pipeline);
    this.#candidates.delete(pipeline);
    if (c) retire(c.slot);
  }

  /** What a pipeline serves now, if anything. */
  current(pipeline: string): LoadedModel | undefined {
    return this.#slots.get(pipeline)?.loaded;
  }

  /** Pipelines that have a candidate loaded. */
  candidatePipelines(): string[] {
    return [...this.#candidates.keys()];
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
    return { version: slot.loaded.version, probabilities: score(slot, rows).p };
  }

  /**
   * Scores rows with the champion and, during a rollout, the candidate: canary and A/B rows the
   * candidate answers go to it only (the champion scores them too, in the background: for divergence
   * and as the same-row evidence of the last canary step; its failure there fails nothing); in shadow mode the candidate scores every row but never answers, and its
   * failure never fails the request (it is returned in `failures`). A failure that does fail the
   * request is a {@link VariantScoringError} naming the variant.
   */
  predictRouted(pipeline: string, rows: RawRow[], ids: string[]): RoutedResult {
    const slot = this.#slots.get(pipeline);
    if (!slot) throw new FailedPreconditionError(`no model is serving for pipeline '${pipeline}' yet: train and promote one first`);
    const c = this.#candidates.get(pipeline);
    const ms: RoutedResult['scoringMsPerRow'] = {};
    if (!c) {
      const { p, imputed } = scoreAs(slot, rows, 'champion', ms);
      const { version, threshold } = slot.loaded;
      return { champion: version, rows: Array.from(p, (probability, i) => answer({ probability, version, variant: 'champion', threshold }, imputed[i])), scoringMsPerRow: ms };
    }
    if (c.routing.strategy === 'shadow') {
      const { p, imputed } = scoreAs(slot, rows, 'champion', ms);
      const { version, threshold } = slot.loaded;
      let shadow: RoutedResult['shadow'];
      let failures: VariantFailure[] | undefined;
      try {
        const started = performance.now();
        const probabilities = score(c.slot, rows).p;
        shadow = { version: c.slot.loaded.version, probabilities, threshold: c.slot.loaded.threshold, msPerRow: (performance.now() - started) / Math.max(1, rows.length) };
      } catch {
        failures = [{ version: c.slot.loaded.version, variant: 'shadow', rows: rows.length }];
      }
      return { champion: version, rows: Array.from(p, (probability, i) => answer({ probability, version, variant: 'champion', threshold }, imputed[i])), shadow, failures, scoringMsPerRow: ms };
    }
    const routing = c.routing;
    const toCandidate = rows.map((row, i) => candidateAnswers(routing, ids[i], row));
    const pick = (want: boolean) => rows.filter((_, i) => toCandidate[i] === want);
    const champRows = pick(false);
    const candRows = pick(true);
    const variant = candidateVariant(routing.strategy) as 'canary' | 'b';
    const none: Scored = { p: new Float32Array(0), imputed: [] };
    const pc = champRows.length > 0 ? scoreAs(slot, champRows, 'champion', ms) : none;
    const pk = candRows.length > 0 ? scoreAs(c.slot, candRows, variant, ms) : none;
    const ph = candRows.length > 0 ? scoreQuietly(slot, candRows) : undefined;
    let a = 0;
    let b = 0;
    const out = toCandidate.map((cand): RoutedPrediction => {
      if (!cand) {
        const k = a++;
        return answer({ probability: pc.p[k], version: slot.loaded.version, variant: 'champion', threshold: slot.loaded.threshold }, pc.imputed[k]);
      }
      const k = b++;
      const second = ph ? { championProbability: ph[k], championThreshold: slot.loaded.threshold } : {};
      return answer({ probability: pk.p[k], version: c.slot.loaded.version, variant, threshold: c.slot.loaded.threshold, ...second }, pk.imputed[k]);
    });
    return { champion: slot.loaded.version, rows: out, scoringMsPerRow: ms };
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

// The champion's second opinion on candidate rows: a failure there must not fail the answer.
function scoreQuietly(slot: Slot, rows: RawRow[]): Float32Array | undefined {
  try {
    return score(slot, rows).p;
  } catch {
    return undefined;
  }
}

/** A variant's scores of rows, with the features each row lacked that the model filled. */
type Scored = { p: Float32Array; imputed: Array<string[] | undefined> };

const answer = (r: RoutedPrediction, imputed: string[] | undefined): RoutedPrediction => (imputed ? { ...r, imputed } : r);

// A row without a feature the model needs is refused, unless its spec declared how to fill it.
function score(slot: Slot, rows: RawRow[]): Scored {
  slot.inFlight++;
  try {
    const imputed = missingFeatures(slot.loaded.transform, slot.loaded.version, rows);
    const t = applyTransform(slot.loaded.transform, rows);
    return { p: slot.loaded.model.predict(t.X, t.n), imputed };
  } finally {
    slot.inFlight--;
    if (slot.retired && slot.inFlight === 0) slot.loaded.model.dispose();
  }
}
