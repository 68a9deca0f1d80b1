// A stream replayed on a virtual clock through the pure pieces of continuous online learning: the
// online learner (libs/modeling OnlineLearner), the prequential anytime-valid judge (libs/ml
// prequentialLook) and the promotion and reset rules of a `continuous.online` policy — next to
// "never retrain" and "retrain in batch every N days", scored on the same rows.
import { createPrequentialState, createRng, prequentialLook, type PrequentialLook, type PrequentialOptions, type PrequentialState } from '@refit/ml';
import { applyTransform, dateMs, fitTransform, labelsOf, loadModel, OnlineLearner, resolveModelSpec, trainModel, type FittedTransform, type OnlineOptions, type RawRow, type TrainedModel } from '@refit/modeling';
import type { PipelineSpec } from '@refit/spec';
import { ReplayInputError } from './args.js';

/** The `online:` block of a `continuous` policy, every default filled in. */
export type OnlinePolicy = NonNullable<Extract<PipelineSpec['triggers'][number], { kind: 'continuous' }>['online']>;

/** What {@link simulateStream} replays. */
export interface StreamReplayInput {
  /** The pipeline: its features, label and model (a binary head), trained as a batch run would. */
  spec: PipelineSpec;
  /** The online policy (the spec's `continuous.online`, defaults filled). */
  online: OnlinePolicy;
  /** Rows the first champion is trained on in batch (its transform is fitted on them and then frozen). */
  history: readonly RawRow[];
  /** The stream, in event-time order; `spec.schema.timestamp` gives each row's time. */
  stream: readonly RawRow[];
  /** The period the three strategies are compared on: rows at or after this instant (ISO). */
  compareFrom: string;
  /** A label arrives this many hours after its row. Default 24. */
  labelDelayHours?: number;
  /** Batch baseline: a run every this many days of stream time, on every row labelled so far. Default 90. */
  batchEveryDays?: number;
  /** From this instant (ISO) on, the labels are a seeded permutation of the true ones: no signal. */
  shuffleFrom?: string;
  /** Seed of that permutation. Default 1. */
  shuffleSeed?: number;
}

/** A replacement of the champion by the learner, with the judge's evidence. */
export type Promotion = { at: string; row: number; evidence: PrequentialLook['evidence']; why: string };
/** A reset of the learner to the champion's weights. */
export type Reset = { at: string; row: number; why: string };

/** Prequential log loss of each strategy on the same labelled rows. */
export type StrategyLoss = { learner: number; neverRetrain: number; batchRetrain: number; rows: number };

/** What {@link simulateStream} measured. */
export interface StreamReplayResult {
  /** Over the comparison period (`compareFrom` on), and over the whole stream. */
  compared: StrategyLoss;
  overall: StrategyLoss;
  promotions: Promotion[];
  resets: Reset[];
  /** Online updates (micro-batches learned), and batch runs of the baseline. */
  updates: number;
  batchRuns: number;
  /** Labelled rows per second through scoring (all three strategies), judging and learning, one row at a time (wall clock of this machine). */
  learnedRowsPerSecond: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const iso = (t: number): string => new Date(t).toISOString();

function logLoss(y: number, p: number): number {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
}

/** Labels of the stream, those from `shuffleFrom` on permuted among themselves (Fisher–Yates, mulberry32). */
function streamLabels(input: StreamReplayInput, times: readonly number[]): Float32Array {
  const y = labelsOf(input.stream, input.spec.label);
  if (input.shuffleFrom === undefined) return y;
  const from = dateMs(input.shuffleFrom);
  const idx = times.flatMap((t, i) => (t >= from ? [i] : []));
  const next = createRng(input.shuffleSeed ?? 1);
  const vals = idx.map((i) => y[i]);
  for (let k = vals.length - 1; k > 0; k--) {
    const j = Math.floor(next() * (k + 1));
    [vals[k], vals[j]] = [vals[j], vals[k]];
  }
  idx.forEach((i, k) => (y[i] = vals[k]));
  return y;
}

/** A batch run: the transform fitted on the rows, the spec's model trained on them. */
async function batchRun(spec: PipelineSpec, rows: readonly RawRow[], y: Float32Array): Promise<{ model: TrainedModel; transform: FittedTransform }> {
  const transform = fitTransform(rows, spec.features);
  const t = applyTransform(transform, rows);
  const { model } = await trainModel({ X: t.X, y, n: t.n, d: t.d, spec: resolveModelSpec(spec.model) });
  return { model, transform };
}

/** Running sums of the three strategies' losses. */
class LossSums {
  learner = 0;
  neverRetrain = 0;
  batchRetrain = 0;
  rows = 0;
  add(y: number, p: { learner: number; never: number; batch: number }): void {
    this.learner += logLoss(y, p.learner);
    this.neverRetrain += logLoss(y, p.never);
    this.batchRetrain += logLoss(y, p.batch);
    this.rows++;
  }
  mean(): StrategyLoss {
    const n = Math.max(this.rows, 1);
    return { learner: this.learner / n, neverRetrain: this.neverRetrain / n, batchRetrain: this.batchRetrain / n, rows: this.rows };
  }
}

/** The batch baseline: a run every `every` ms of stream time on every row labelled by then. */
class BatchBaseline {
  readonly #spec: PipelineSpec;
  readonly #rows: RawRow[];
  readonly #labels: number[];
  readonly #every: number;
  #current: { model: TrainedModel; transform: FittedTransform };
  #owned = false;
  #next: number;
  runs = 0;

  constructor(spec: PipelineSpec, first: { model: TrainedModel; transform: FittedTransform }, history: { rows: readonly RawRow[]; y: Float32Array }, every: number, start: number) {
    this.#spec = spec;
    this.#current = first;
    this.#rows = [...history.rows];
    this.#labels = Array.from(history.y);
    this.#every = every;
    this.#next = start + every;
  }

  /** The model serving at `t`: a run first when one is due (on the rows labelled before it). */
  async at(t: number): Promise<void> {
    if (t < this.#next) return;
    this.dispose();
    this.#current = await batchRun(this.#spec, this.#rows, Float32Array.from(this.#labels));
    this.#owned = true;
    this.runs++;
    while (this.#next <= t) this.#next += this.#every;
  }

  predict(row: RawRow): number {
    return this.#current.model.predict(applyTransform(this.#current.transform, [row]).X, 1)[0];
  }

  /** A row whose label has arrived: the next run trains on it. */
  add(row: RawRow, y: number): void {
    this.#rows.push(row);
    this.#labels.push(y);
  }

  dispose(): void {
    // The first model belongs to the caller (it is also "never retrain").
    if (this.#owned) this.#current.model.dispose();
  }
}

/** What a `continuous.online` policy runs: the champion, the learner shadowing it and the judge between them. */
class OnlineArm {
  readonly #online: OnlinePolicy;
  readonly #learnerOpts: OnlineOptions;
  readonly #judgeOpts: PrequentialOptions;
  #championBytes: Uint8Array;
  #champion: TrainedModel;
  #learner: OnlineLearner;
  #judge: PrequentialState = createPrequentialState();
  #lastReplacement = -Infinity;
  #pending: { X: number[]; y: number[] } = { X: [], y: [] };
  updates = 0;
  readonly promotions: Promotion[] = [];
  readonly resets: Reset[] = [];

  private constructor(online: OnlinePolicy, bytes: Uint8Array, champion: TrainedModel, learner: OnlineLearner) {
    this.#online = online;
    this.#learnerOpts = { learningRate: online.learningRate, decayRows: online.decayRows, maxStep: online.maxStep, l2: online.l2 };
    this.#judgeOpts = { head: 'binary', alpha: online.alpha, skillMargin: online.skillMargin, resetWindow: online.resetWindow };
    this.#championBytes = bytes;
    this.#champion = champion;
    this.#learner = learner;
  }

  /** The arm at the start of the stream: the champion, and a learner starting from its weights. */
  static async start(online: OnlinePolicy, championBytes: Uint8Array): Promise<OnlineArm> {
    const { learningRate, decayRows, maxStep, l2 } = online;
    return new OnlineArm(online, championBytes, await loadModel(championBytes), await OnlineLearner.fromModel(championBytes, { learningRate, decayRows, maxStep, l2 }));
  }

  /**
   * A labelled row (`x`: the frozen transform's output) at stream time `t`: scored by the learner
   * and the champion before the learner learns from it, judged, added to the micro-batch (learned
   * when full), and the judge's verdict carried out. Returns the learner's score.
   */
  async label(x: Float32Array, y: number, t: number, row: number): Promise<number> {
    const p = this.#learner.predict(x, 1)[0];
    const look = prequentialLook(this.#judge, { y: [y], learner: [p], champion: [this.#champion.predict(x, 1)[0]] }, this.#judgeOpts);
    this.#judge = look.state;
    this.#pending.X.push(...x);
    this.#pending.y.push(y);
    if (this.#pending.y.length >= this.#online.microBatch) {
      this.#learner.update(Float32Array.from(this.#pending.X), Float32Array.from(this.#pending.y), this.#pending.y.length);
      this.updates++;
      this.#pending = { X: [], y: [] };
    }
    if (look.better && t - this.#lastReplacement >= this.#online.minIntervalHours * HOUR_MS) {
      // The learner's snapshot becomes the champion; the learner goes on from its own weights.
      this.#championBytes = await this.#learner.serializeModel();
      this.#champion.dispose();
      this.#champion = await loadModel(this.#championBytes);
      this.promotions.push({ at: iso(t), row, evidence: look.evidence, why: look.why });
      this.#judge = createPrequentialState(this.#judge);
      this.#lastReplacement = t;
    } else if (look.worse) {
      // Rows waiting in the micro-batch stay: the reset learner learns from them next.
      this.#learner.dispose();
      this.#learner = await OnlineLearner.fromModel(this.#championBytes, this.#learnerOpts);
      this.resets.push({ at: iso(t), row, why: look.why });
      this.#judge = createPrequentialState(this.#judge);
    }
    return p;
  }

  dispose(): void {
    this.#learner.dispose();
    this.#champion.dispose();
  }
}

/**
 * Replays a stream row by row on its own event time. The first champion is trained in batch on
 * `history` (transform fitted there, then frozen). Each row's label arrives `labelDelayHours`
 * later; at that moment the row is scored by the learner and by the champion BEFORE the learner
 * learns from it (test-then-train), the judge looks, and the labelled row joins the micro-batch the
 * learner takes its next step on. When the judge says `better` and `minIntervalHours` of stream
 * time (label arrival times) passed since the last replacement, the learner's weights become the
 * champion (the learner continues from them; the judge starts again); when it says `worse`, the
 * learner is put back to the champion's weights. Beside it, on the same rows: the first champion
 * never retrained, and a batch run every `batchEveryDays` on every row labelled so far (transform
 * refitted each time). Deterministic for a given backend, apart from the measured speed.
 * @throws ReplayInputError for a spec without a timestamp or with a regression head.
 */
export async function simulateStream(input: StreamReplayInput): Promise<StreamReplayResult> {
  const { spec, online } = input;
  const ts = spec.schema.timestamp;
  if (!ts) throw new ReplayInputError(`spec '${spec.name}': a stream replay orders rows by schema.timestamp; declare it`);
  if (spec.model.head === 'regression') throw new ReplayInputError(`spec '${spec.name}': the stream replay judges a binary head (log loss); a regression head is not supported`);
  const times = input.stream.map((r) => dateMs(String(r[ts])));
  const yStream = streamLabels(input, times);
  const delay = (input.labelDelayHours ?? 24) * HOUR_MS;
  const compareFrom = dateMs(input.compareFrom);
  const yHistory = labelsOf(input.history, spec.label);
  const first = await batchRun(spec, input.history, yHistory);
  const arm = await OnlineArm.start(online, await first.model.serialize());
  const batch = new BatchBaseline(spec, first, { rows: input.history, y: yHistory }, (input.batchEveryDays ?? 90) * DAY_MS, times[0] ?? 0);
  const compared = new LossSums();
  const overall = new LossSums();
  let learnMs = 0;
  try {
    for (let i = 0; i < input.stream.length; i++) {
      const row = input.stream[i];
      const arrives = times[i] + delay;
      await batch.at(arrives);
      const y = yStream[i];
      const started = performance.now();
      const x = applyTransform(first.transform, [row]).X;
      const p = { learner: await arm.label(x, y, arrives, i), never: first.model.predict(x, 1)[0], batch: batch.predict(row) };
      learnMs += performance.now() - started;
      overall.add(y, p);
      if (times[i] >= compareFrom) compared.add(y, p);
      batch.add(row, y);
    }
  } finally {
    arm.dispose();
    batch.dispose();
    first.model.dispose();
  }
  const { promotions, resets, updates } = arm;
  return { compared: compared.mean(), overall: overall.mean(), promotions, resets, updates, batchRuns: batch.runs, learnedRowsPerSecond: input.stream.length / (learnMs / 1000) };
}
