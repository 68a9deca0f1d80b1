import { labelOf, type RawRow } from '@refit/modeling';
import type { PipelineSpec } from '@refit/spec';
import { FeatureWindows } from '../../services/deployer/src/feature-window.js';
import { validateRecord } from '../../services/ingestion/src/validate.js';
import { evaluateAge, evaluateDrift, evaluateSchedule, evaluateVolume, nextSlot, type Evaluation } from '../../services/trigger/src/policies.js';
import type { PerformanceState } from '../../services/trigger/src/performance.js';
import { ReplayInputError, type ReplayOptions } from './args.js';
import { EventQueue, type ReplayEvent } from './event-queue.js';
import { Ingestion } from './ingest.js';
import { PredictionLog } from './prediction-log.js';
import type { FileRecords, TimedRecord } from './records.js';
import { PeriodAcc, summarize, type PeriodRow, type Summary } from './report.js';
import { Runs } from './runs.js';
import { championWindows, liveDrift, performanceOn, serve, type Request } from './serving.js';
import { TriggerBook } from './trigger-book.js';

/** A replay's outcome for one spec. */
export type ReplayResult = {
  pipeline: string;
  /** The replayed span: bootstrap start, first period start, end (ISO). */
  span: { from: string; bootstrapEnd: string; until: string };
  bootstrap: { rows: number; accepted: number; quarantined: number; status: string; version: string | null; verdict: string | null };
  periods: PeriodRow[];
  /** Every run: what started it, when it started and ended (ISO), and how. */
  runs: Array<{ id: string; trigger: string; reason: string; startedAt: string; endedAt: string | null; status: string; outcome: string | null }>;
  summary: Summary;
  /** What the replay could not do as the platform would, and what was left out. */
  notes: string[];
};

/** Progress of a long replay: periods done of all. */
export type Progress = (done: number, total: number, periodStart: string) => void;

const DAY_MS = 86_400_000;

/** The columns a client sends to Predict: the features, and the entity columns routing may read. */
function requestColumns(spec: PipelineSpec): string[] {
  return [...new Set([...spec.features.map((f) => f.name), ...(spec.schema.entity ? [spec.schema.entity] : []), ...(spec.rollout.entityColumn ? [spec.rollout.entityColumn] : [])])];
}

/**
 * A history replayed through Refit's own decisions on a virtual clock: the bootstrap history is
 * pushed and a first model trained on it; then period by period the rows arrive in time order and
 * are answered by what serves, labels and the period's rows come back at its end (or after
 * `labelDelay` periods), the trigger's policies and hygiene decide, runs train and are judged, and
 * rollouts are analysed — every time rule reading the virtual clock only.
 */
export class Replay {
  readonly #spec: PipelineSpec;
  readonly #opts: ReplayOptions;
  readonly #queue = new EventQueue();
  readonly #book: TriggerBook;
  readonly #ingestion: Ingestion;
  readonly #log = new PredictionLog();
  readonly #windows = new FeatureWindows();
  readonly #runs: Runs;
  readonly #perf = new Map<string, PerformanceState>();
  readonly #lastSlot = new Map<number, number>();
  readonly #periods: PeriodAcc[] = [];
  readonly #notes: string[] = [];
  readonly #columns: string[];
  #byPeriod: TimedRecord[][] = [];
  #current = 0;
  #lastClose = 0;
  #start = 0;
  #end = 0;

  constructor(spec: PipelineSpec, opts: ReplayOptions) {
    if (spec.model.head === 'regression') throw new ReplayInputError(`spec '${spec.name}': replay judges served answers as a binary classifier's; a regression head is not supported`);
    if (spec.schema.infer || spec.schema.columns.length === 0) throw new ReplayInputError(`spec '${spec.name}': replay needs declared schema.columns (an inferred schema is pinned by the first push)`);
    this.#spec = spec;
    this.#opts = opts;
    this.#book = new TriggerBook(spec.hygiene);
    this.#ingestion = new Ingestion(spec);
    this.#columns = requestColumns(spec);
    this.#runs = new Runs({ spec, opts, book: this.#book, ingestion: this.#ingestion, queue: this.#queue, log: this.#log, period: () => this.#periods[this.#current] });
  }

  /** Runs the replay of `history` (sorted records) to its end. */
  async run(history: FileRecords, onProgress?: Progress): Promise<ReplayResult> {
    const { spec, opts } = { spec: this.#spec, opts: this.#opts };
    const from = opts.from ?? Math.floor((history.records[0]?.t ?? 0) / DAY_MS) * DAY_MS;
    const records = history.records.filter((r) => r.t >= from && (opts.until === undefined || r.t < opts.until));
    const start = from + opts.bootstrapMs;
    const boot = records.filter((r) => r.t < start);
    const rest = records.filter((r) => r.t >= start);
    if (rest.length === 0) throw new ReplayInputError(`no rows after the bootstrap (${new Date(start).toISOString().slice(0, 10)}): give more history or a shorter --bootstrap`);
    const P = opts.periodMs;
    const K = Math.floor((rest[rest.length - 1].t - start) / P) + 1;
    this.#start = start;
    this.#end = start + K * P;
    this.#lastClose = start;
    this.#byPeriod = Array.from({ length: K }, () => []);
    for (const r of rest) this.#byPeriod[Math.floor((r.t - start) / P)].push(r);
    for (let k = 0; k < K; k++) {
      this.#periods.push(new PeriodAcc(k, start + k * P, start + (k + 1) * P));
      this.#queue.push({ kind: 'period-end', at: start + (k + 1) * P, period: k });
    }
    this.#noteUnreplayed(history);

    // The bootstrap: one batch of history, and a first run asked for by hand.
    const bootBatch = this.#ingestion.push('b0', boot, start, undefined);
    if (bootBatch.status !== 'rejected') this.#book.rowsSinceRun += bootBatch.accepted;
    const manual = spec.triggers.findIndex((t) => t.kind === 'manual');
    await this.#fire(manual, 'manual', { fired: true, reason: 'manual request: replay bootstrap', measured: {}, thresholds: {} }, start, true);
    for (const [i, p] of spec.triggers.entries()) if (p.kind === 'schedule') this.#queueSlot(i, start);

    const requests = rest.map((r, i) => this.#request(r, i, Math.floor((r.t - start) / P), K));
    let next = 0;
    for (;;) {
      const e = this.#queue.peek();
      const until = e ? e.at : Infinity;
      let j = next;
      while (j < rest.length && rest[j].t < until) j++;
      this.#answer(requests.slice(next, j));
      next = j;
      if (!e) break;
      this.#queue.pop();
      await this.#handle(e);
      if (e.kind === 'period-end') onProgress?.(e.period + 1, K, new Date(start + e.period * P).toISOString());
    }
    const bootTraining = this.#runs.bootstrapOutcome();
    this.#runs.finish(this.#notes);
    const rows = this.#periods.map((p) => p.finish());
    return {
      pipeline: spec.name,
      span: { from: new Date(from).toISOString(), bootstrapEnd: new Date(start).toISOString(), until: new Date(this.#end).toISOString() },
      bootstrap: { rows: boot.length, accepted: bootBatch.accepted, quarantined: bootBatch.quarantined, status: bootBatch.status, ...bootTraining },
      periods: rows,
      runs: this.#book.runs.map((r) => ({
        id: r.id,
        trigger: r.trigger,
        reason: r.reason,
        startedAt: new Date(r.startedAt).toISOString(),
        endedAt: r.endedAt === undefined ? null : new Date(r.endedAt).toISOString(),
        status: r.status,
        outcome: r.outcome ?? null,
      })),
      summary: summarize(rows, this.#periods.map((p) => p.labelled), this.#runs.totals(opts.timings, this.#book.runs.length)),
      notes: this.#notes,
    };
  }

  #noteUnreplayed(history: FileRecords): void {
    const kinds = new Set(this.#spec.triggers.map((t) => t.kind));
    const ignored = ['external', 'business'].filter((k) => kinds.has(k as never));
    if (ignored.length > 0) this.#notes.push(`${ignored.join(' and ')} policies are driven by other systems' events: not replayed`);
    if (this.#spec.data.include.includes('feedback')) this.#notes.push('data.include: [feedback] is not replayed apart: every period\'s rows come back as a pushed batch, which holds the same labeled rows');
    if (this.#spec.evaluation.backtest) this.#notes.push('evaluation.backtest is not replayed: the gates are judged on the test split only');
    if (this.#spec.model.budget) this.#notes.push('model.budget (wall-clock seconds) is not applied: every training runs its epochs, so the replay does not depend on this machine');
    if (history.untimed > 0) this.#notes.push(`${history.untimed} rows without a readable ${this.#spec.schema.timestamp} were left out`);
    if (history.unreadable > 0) this.#notes.push(`${history.unreadable} unreadable records were left out`);
  }

  /** The `index`th row of the replay, of period `k`, as a request, with its label and when its feedback comes back (undefined: it fails the row checks). */
  #request(r: TimedRecord, index: number, k: number, K: number): Request | undefined {
    const back = k + this.#opts.labelDelay < K ? this.#start + (k + this.#opts.labelDelay + 1) * this.#opts.periodMs : Infinity;
    const v = validateRecord(r.fields as string[], this.#spec.schema.columns, r.layout.indexes as number[], r.layout.fieldCount);
    if ('problem' in v) return undefined;
    let y: 0 | 1 | undefined;
    try {
      y = labelOf(v.row as RawRow, this.#spec.label);
    } catch {
      y = undefined;
    }
    const row: RawRow = Object.fromEntries(this.#columns.map((c) => [c, v.row[c] ?? null]));
    // A prediction id the same history always gives (canary routing hashes it).
    return { id: `pred-${index}`, t: r.t, row, y, feedbackAt: back };
  }

  #answer(requests: readonly (Request | undefined)[]): void {
    if (requests.length === 0) return;
    const acc = this.#periods[this.#current];
    const valid = requests.filter((r): r is Request => r !== undefined);
    acc.row.rows += requests.length;
    acc.row.invalid += requests.length - valid.length;
    const preds = serve(this.#runs.champion, this.#runs.rollout, valid);
    if (preds.length === 0) acc.row.unserved += valid.length;
    this.#log.add(preds);
    acc.answered(preds);
    // The deployer samples the rows it served: the live feature window drift is measured on.
    if (preds.length > 0) this.#windows.add('replay', valid.map((r) => r.row));
  }

  async #handle(e: ReplayEvent): Promise<void> {
    if (e.at > this.#end) return;
    switch (e.kind) {
      case 'run-done':
        return this.#runs.done(e.runId, e.at, (now) => this.#ageEvents(now));
      case 'hold':
        return this.#runs.analyseRollout(e.at, e.runId, e.step, (now) => this.#ageEvents(now));
      case 'deferred': {
        const run = this.#book.startDeferred(e.at);
        if (run) await this.#runs.start(run, e.at, false, (t) => this.#ageEvents(t));
        return;
      }
      case 'slot':
        return this.#slot(e.policyIndex, e.at);
      case 'age':
        return this.#age(e.policyIndex, e.trainedAt, e.at);
      case 'period-end':
        return this.#periodEnd(e.period, e.at);
    }
  }

  /**
   * Decides one evaluation through the trigger book; a started run goes to work. `manual`: the
   * bootstrap's request by hand, whose run is trained before the first period is served.
   */
  async #fire(policyIndex: number, policy: string, evaluation: Evaluation, now: number, manual = false): Promise<void> {
    const { decision, started } = this.#book.decide({ policyIndex, policy, evaluation, now, manual });
    if (decision.fired && decision.action !== 'duplicate') {
      this.#periods[Math.min(this.#current, this.#periods.length - 1)].row.fired.push({ at: new Date(now).toISOString(), policy, action: decision.action, reason: decision.reason, runId: decision.runId });
    }
    if (decision.action === 'defer' && decision.fired) {
      const until = this.#book.deferredUntil();
      if (until !== undefined) this.#queue.push({ kind: 'deferred', at: until });
    }
    if (started) await this.#runs.start(started, now, manual, (t) => this.#ageEvents(t));
  }

  #queueSlot(policyIndex: number, after: number): void {
    const p = this.#spec.triggers[policyIndex];
    if (p.kind !== 'schedule') return;
    const at = nextSlot(p, new Date(after)).getTime();
    if (at <= this.#end) this.#queue.push({ kind: 'slot', at, policyIndex });
  }

  async #slot(policyIndex: number, now: number): Promise<void> {
    const p = this.#spec.triggers[policyIndex];
    if (p.kind !== 'schedule') return;
    // A policy is judged from the moment the pipeline was applied (the replay's first period), never before.
    const since = this.#lastSlot.get(policyIndex) ?? this.#start;
    for (const evaluation of evaluateSchedule(p, new Date(since), new Date(now))) {
      await this.#fire(policyIndex, 'schedule', evaluation, now);
      if (evaluation.slot) this.#lastSlot.set(policyIndex, Math.max(this.#lastSlot.get(policyIndex) ?? 0, evaluation.slot.getTime()));
    }
    this.#queueSlot(policyIndex, now);
  }

  /** After a model was trained (a run succeeded at `trainedAt`): when each age policy comes due. */
  #ageEvents(trainedAt: number): void {
    for (const [i, p] of this.#spec.triggers.entries()) {
      if (p.kind === 'age') this.#queue.push({ kind: 'age', at: trainedAt + p.maxAgeHours * 3_600_000, policyIndex: i, trainedAt });
    }
  }

  async #age(policyIndex: number, trainedAt: number, now: number): Promise<void> {
    const p = this.#spec.triggers[policyIndex];
    const last = this.#book.facts(now).lastTrainedAt;
    // A newer training moved the deadline; its own event decides then.
    if (p.kind !== 'age' || last?.getTime() !== trainedAt) return;
    const evaluation = evaluateAge(p, last, new Date(now));
    // As the scheduler: only a firing age check is decided (and then once per model, by its evidence).
    if (evaluation.fired) await this.#fire(policyIndex, 'age', evaluation, now);
  }

  async #periodEnd(k: number, now: number): Promise<void> {
    const acc = this.#periods[k];
    const pushed = k - this.#opts.labelDelay;
    if (pushed >= 0) await this.#push(pushed, now);
    await this.#runs.analyseRollout(now, undefined, undefined, (t) => this.#ageEvents(t));
    await this.#closeWindow(now);
    this.#log.prune(now, this.#runs.rollout?.stepStartedAt ?? now);
    acc.row.rollout = this.#runs.rolloutStatus();
    this.#current = Math.min(k + 1, this.#periods.length - 1);
  }

  /** The rows of period `k` come back as a batch: ingestion's checks, then the volume policies. */
  async #push(k: number, now: number): Promise<void> {
    const b = this.#ingestion.push(`b${k + 1}`, this.#byPeriod[k], now, this.#runs.championScorer());
    this.#periods[this.#current].row.batch = { id: b.id, rows: b.rows, accepted: b.accepted, quarantined: b.quarantined, status: b.status, problems: b.problems };
    if (b.status === 'rejected' || b.accepted === 0) return;
    this.#book.rowsSinceRun += b.accepted;
    for (const [i, p] of this.#spec.triggers.entries()) {
      if (p.kind === 'continuous') {
        await this.#fire(i, 'continuous', { fired: true, reason: `${b.accepted} new rows: continuous retraining warm-starts from the champion`, measured: { rows: b.accepted }, thresholds: {} }, now);
      } else if (p.kind === 'volume') {
        await this.#fire(i, 'volume', evaluateVolume(p, this.#book.rowsSinceRun, this.#book.lastRunRows), now);
      }
    }
  }

  /** The monitoring window closes: performance policies on the champion's windows, drift policies on the served sample. */
  async #closeWindow(now: number): Promise<void> {
    const windows = championWindows(this.#spec, this.#log, this.#lastClose, now, this.#runs.champion?.version);
    const sample = this.#windows.take('replay');
    this.#lastClose = now;
    for (const w of windows) {
      for (const [i, p] of this.#spec.triggers.entries()) {
        if (p.kind !== 'performance') continue;
        const key = `${i}\u0000${w.version}`;
        const { evaluation, state } = performanceOn(this.#spec, p, this.#perf.get(key), w, this.#runs.model(w.version));
        this.#perf.set(key, state);
        await this.#fire(i, 'performance', evaluation, now);
      }
    }
    if (sample.length === 0 || !this.#spec.triggers.some((t) => t.kind === 'drift')) return;
    for (const w of windows) {
      const model = this.#runs.model(w.version);
      if (!model) continue;
      const drift = liveDrift(model, sample, now, this.#opts.drift);
      for (const [i, p] of this.#spec.triggers.entries()) if (p.kind === 'drift') await this.#fire(i, 'drift', evaluateDrift(p, drift), now);
    }
  }
}
