import type { EpochLog } from './epoch-log.js';
import { ModelingInputError } from './errors.js';
import { trainModel } from './model.js';
import type { StopReason, TrainInput, TrainedModel, TrainResult } from './model.js';
import { resolveModelSpec } from './model-spec.js';
import type { ResolvedModelSpec } from './model-spec.js';
import { gridOf, sampleSpace } from './search-space.js';
import type { SearchSpace, TrialParams } from './search-space.js';
import type { ModelSpec } from './spec.js';
import { TrainingDivergedError } from './training-errors.js';

/**
 * A hyper-parameter search. `strategy`: `grid` (every combination; `gridSteps` points per range,
 * default 3), `random` (`trials` seeded draws, default 20) or `halving` (successive halving: `trials`
 * draws trained for `minEpochs`, the best 1/`eta` go on with `eta`× the epochs, up to the spec's
 * epochs; defaults eta 3, minEpochs spec epochs / eta^rungs). `seed` defaults to the model seed.
 * `refit`: `best-trial` (default) keeps the winning trial's model; `train+validation` retrains the
 * winning parameters on both splits for the winner's best epoch count.
 */
export type SearchSpec = {
  strategy: 'grid' | 'random' | 'halving';
  space: SearchSpace;
  trials?: number;
  seed?: number;
  gridSteps?: number;
  eta?: number;
  minEpochs?: number;
  refit?: 'best-trial' | 'train+validation';
};

/** How a trial ended. `diverged` trials have no score; `budget` ones were cut by the time budget. */
export type TrialStatus = StopReason | 'diverged';

/** One trained trial: its parameters, learning curve, validation score and time. */
export type TrialRecord = {
  /** 0-based, in the order trials ran. */
  trial: number;
  /** Successive-halving rung (0 for grid and random). */
  rung: number;
  params: TrialParams;
  status: TrialStatus;
  epochs: number;
  bestEpoch: number;
  curve: EpochLog[];
  /** Validation loss of the trial's model (its best epoch when early stopping restores it); null when it diverged. */
  score: number | null;
  ms: number;
  /** Why it diverged. */
  error?: string;
};

/** A progress report: which trial of how many, and its latest epoch. */
export type SearchProgress = { trial: number; trials: number; rung: number; epoch: number; epochs: number; loss: number; valLoss?: number };

/** What {@link searchModel} needs: the training input (with validation rows) plus the search. */
export type SearchInput = Omit<TrainInput, 'onEpoch' | 'warmStart' | 'validation'> & {
  validation: NonNullable<TrainInput['validation']>;
  search: SearchSpec;
  onProgress?: (p: SearchProgress) => void | Promise<void>;
  /** Called when a trial ends (recorded in the order trials ran). */
  onTrial?: (t: TrialRecord) => void | Promise<void>;
};

/** What {@link searchModel} returns. */
export type SearchResult = {
  model: TrainedModel;
  /** The spec of the returned model (base spec + winning parameters, every default filled in). */
  spec: ResolvedModelSpec;
  best: TrialRecord;
  trials: TrialRecord[];
  backend: string;
  /** Sum of the trials' (and the refit's) tensor time, ms. */
  computeMs: number;
  /** Epochs the returned model was trained for. */
  epochs: number;
  /** The refit's history when `refit` is `train+validation`. */
  refitHistory?: EpochLog[];
  /** True when the time budget ended the search before every planned trial ran. */
  budgetExhausted: boolean;
};

/** Most grid points a search accepts without an explicit `trials`. */
export const MAX_GRID = 1000;

function fail(what: string): never {
  throw new ModelingInputError(`search: ${what}`);
}

type Ran = { record: TrialRecord; result?: TrainResult };

const byScore = (a: Ran, b: Ran): number => (a.record.score ?? Infinity) - (b.record.score ?? Infinity) || a.record.trial - b.record.trial;

/**
 * Tunes a model: trains one trial per point of the search (on the training rows, scored by
 * validation loss on the validation rows), keeps only the best trial's model in memory (every other
 * trial's tensors are freed as it ends) and refits it if asked. Reproducible like {@link trainModel}:
 * the same inputs, spec, search and backend pick the same trials and give the same weights.
 * Diverging trials are recorded as `diverged` and never chosen.
 * @throws ModelingInputError for a bad search or when no trial produced a usable model; the
 *   signal's reason when aborted.
 */
export async function searchModel(input: SearchInput): Promise<SearchResult> {
  const base = resolveModelSpec(input.spec);
  const s = input.search;
  const trialsWanted = s.trials ?? 20;
  if (!Number.isInteger(trialsWanted) || trialsWanted < 1) fail(`trials must be an integer >= 1, got ${trialsWanted}`);
  const seed = s.seed ?? base.seed;
  const points =
    s.strategy === 'grid' ? gridOf(s.space, s.gridSteps ?? 3) : s.strategy === 'random' || s.strategy === 'halving' ? sampleSpace(s.space, trialsWanted, seed) : fail(`strategy must be grid, random or halving, got ${String(s.strategy)}`);
  if (s.strategy === 'grid' && points.length > (s.trials ?? MAX_GRID)) fail(`the grid has ${points.length} points, more than ${s.trials !== undefined ? `trials (${s.trials})` : `the limit of ${MAX_GRID}`}; narrow the space or lower gridSteps`);
  // A space that tunes Adam's own knobs means Adam: under `auto`, Newton would ignore them and
  // every trial would fit the same weights.
  const tunesAdam = 'learningRate' in s.space || 'batchSize' in s.space;
  const solver = base.solver === 'auto' && tunesAdam ? 'adam' : base.solver;
  const specs = points.map((p) => resolveModelSpec({ ...(base as ModelSpec), ...p, solver }));

  const trials: TrialRecord[] = [];
  let computeMs = 0;
  let backend = '';
  let budgetExhausted = false;
  const planned = s.strategy === 'halving' ? halvingPlan(points.length, s.eta ?? 3) : points.length;

  const runTrial = async (i: number, rung: number, epochs?: number): Promise<Ran | undefined> => {
    if (input.deadline !== undefined && Date.now() >= input.deadline && trials.length > 0) {
      budgetExhausted = true;
      return undefined;
    }
    const spec = epochs === undefined ? specs[i] : { ...specs[i], epochs };
    const params = epochs === undefined ? points[i] : { ...points[i], epochs };
    const trial = trials.length;
    const started = performance.now();
    const record: TrialRecord = { trial, rung, params, status: 'completed', epochs: 0, bestEpoch: 0, curve: [], score: null, ms: 0 };
    let result: TrainResult | undefined;
    try {
      result = await trainModel({
        ...input,
        spec,
        onEpoch: (e) => input.onProgress?.({ trial, trials: planned, rung, epoch: e.epoch, epochs: spec.epochs, loss: e.loss, valLoss: e.valLoss }),
      });
      backend = result.backend;
      computeMs += result.computeMs;
      const restored = spec.earlyStopping?.restoreBest === true;
      Object.assign(record, {
        status: result.stopReason,
        epochs: result.epochs,
        bestEpoch: result.bestEpoch,
        curve: result.history,
        score: restored ? result.bestLoss : (result.history.at(-1)?.valLoss ?? null),
      });
    } catch (err) {
      if (!(err instanceof TrainingDivergedError)) throw err;
      Object.assign(record, { status: 'diverged', epochs: err.epoch, curve: err.history, error: err.message });
    }
    record.ms = performance.now() - started;
    trials.push(record);
    await input.onTrial?.(record);
    return { record, result };
  };

  // Keeps the best result's model and frees every other as soon as it is beaten.
  let best: Ran | undefined;
  const consider = (r: Ran | undefined): void => {
    if (!r?.result) return;
    if (r.record.score !== null && (best === undefined || byScore(r, best) < 0)) {
      best?.result?.model.dispose();
      best = r;
    } else r.result.model.dispose();
  };

  try {
    if (s.strategy === 'halving') {
      const eta = s.eta ?? 3;
      if (!Number.isInteger(eta) || eta < 2) fail(`eta must be an integer >= 2, got ${eta}`);
      let alive = points.map((_, i) => i);
      let rungs = 0;
      for (let k = alive.length; k > 1; k = Math.ceil(k / eta)) rungs++;
      let epochs = s.minEpochs ?? Math.max(1, Math.floor(base.epochs / eta ** rungs));
      if (!Number.isInteger(epochs) || epochs < 1) fail(`minEpochs must be an integer >= 1, got ${epochs}`);
      for (let rung = 0; ; rung++) {
        best?.result?.model.dispose();
        best = undefined;
        const ran: Ran[] = [];
        for (const i of alive) {
          const r = await runTrial(i, rung, Math.min(epochs, base.epochs));
          if (!r) break;
          ran.push(r);
          consider(r);
        }
        const last = alive.length === 1 || epochs >= base.epochs || budgetExhausted;
        if (last) break;
        // Promote the best 1/eta of this rung (never a diverged trial).
        const ranked = ran.map((r, k) => ({ r, i: alive[k] })).filter((x) => x.r.record.score !== null);
        ranked.sort((a, b) => byScore(a.r, b.r));
        alive = ranked.slice(0, Math.max(1, Math.ceil(alive.length / eta))).map((x) => x.i);
        if (alive.length === 0) break;
        epochs = Math.min(base.epochs, epochs * eta);
      }
    } else {
      for (let i = 0; i < points.length; i++) {
        const r = await runTrial(i, 0);
        if (!r) break;
        consider(r);
      }
    }
    const winner = best as Ran | undefined;
    if (!winner?.result) {
      fail(`no trial produced a usable model (${trials.filter((t) => t.status === 'diverged').length} of ${trials.length} diverged)`);
    }
    const winSpec = resolveModelSpec({ ...(base as ModelSpec), ...winner.record.params, solver });
    if ((s.refit ?? 'best-trial') === 'best-trial') {
      best = undefined;
      return { model: winner.result.model, spec: winSpec, best: winner.record, trials, backend, computeMs, epochs: winner.record.bestEpoch || winner.record.epochs, budgetExhausted };
    }
    return await refitOnAll(input, winner, winSpec, { trials, backend, computeMs, budgetExhausted });
  } finally {
    best?.result?.model.dispose();
  }
}

/** Number of trainings successive halving will run for `n` configurations (for progress). */
function halvingPlan(n: number, eta: number): number {
  let total = 0;
  for (let alive = n; ; alive = Math.ceil(alive / eta)) {
    total += alive;
    if (alive <= 1) return total;
  }
}

async function refitOnAll(
  input: SearchInput,
  winner: Ran,
  winSpec: ResolvedModelSpec,
  done: Pick<SearchResult, 'trials' | 'backend' | 'computeMs' | 'budgetExhausted'>,
): Promise<SearchResult> {
  const { X, y, n, d, validation: v } = input;
  const allX = new Float32Array((n + v.n) * d);
  allX.set(X.subarray(0, n * d));
  allX.set(v.X.subarray(0, v.n * d), n * d);
  const allY = new Float32Array(n + v.n);
  allY.set(y.subarray(0, n));
  allY.set(v.y.subarray(0, v.n), n);
  // No rows are left to stop on, so train for as long as the winner needed to reach its best.
  const epochs = Math.max(1, winner.record.bestEpoch || winner.record.epochs);
  const spec: ResolvedModelSpec = { ...winSpec, epochs, earlyStopping: null };
  winner.result?.model.dispose();
  const r = await trainModel({ X: allX, y: allY, n: n + v.n, d, spec, signal: input.signal });
  return { ...done, model: r.model, spec, best: winner.record, epochs: r.epochs, computeMs: done.computeMs + r.computeMs, refitHistory: r.history };
}
