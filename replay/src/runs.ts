import { applyTransform } from '@refit/modeling';
import type { PipelineSpec } from '@refit/spec';
import type { ChampionOutcome } from '../../services/ingestion/src/label-checks.js';
import { binaryLabel } from '../../services/ingestion/src/label-rule.js';
import { stepName } from '../../services/deployer/src/rollout.js';
import type { ReplayOptions } from './args.js';
import { evaluateCandidate } from './evaluate.js';
import type { EventQueue } from './event-queue.js';
import type { ChampionScorer, Ingestion } from './ingest.js';
import type { PredictionLog } from './prediction-log.js';
import type { PeriodAcc, Summary } from './report.js';
import { beginRollout, decideRollout, rollbackSummary, rolloutConfigOf, type ActiveRollout, type RolloutAction } from './rollout-sim.js';
import { takeSnapshot, trainCandidate, type ReplayModel, type Snapshot, type VersionFacts } from './train.js';
import type { ReplayRun, TriggerBook } from './trigger-book.js';

/** What {@link Runs} works with. */
export type RunsDeps = {
  spec: PipelineSpec;
  opts: ReplayOptions;
  book: TriggerBook;
  ingestion: Ingestion;
  queue: EventQueue;
  log: PredictionLog;
  /** The period events are recorded in. */
  period: () => PeriodAcc;
};

/** Called with the end of a run that succeeded (a model was trained then): age policies count from it. */
export type OnTrained = (at: number) => void;

/**
 * The stages of a run after its trigger, and the deployer's side: the snapshot when the run
 * starts; at its end (its virtual duration later) the training, the evaluation against the
 * champion, the registry's verdict — promoted directly, or a rollout the deployer then analyses
 * on live feedback — and the run's end, which starts a run queued behind it.
 */
export class Runs {
  /** What serves, and the candidate under a rollout. */
  champion: ReplayModel | undefined;
  rollout: ActiveRollout | undefined;
  readonly #d: RunsDeps;
  readonly #work = new Map<string, { snapshot: Snapshot; run: ReplayRun }>();
  readonly #versions = new Map<string, VersionFacts>();
  #registered = 0;
  #epochs = 0;
  #rowEpochs = 0;
  #ms = 0;
  #boot: { version: string | null; verdict: string | null } = { version: null, verdict: null };

  constructor(deps: RunsDeps) {
    this.#d = deps;
  }

  /** A registered version's metrics and training statistics (they stay known after its weights are freed). */
  model(version: string): VersionFacts | undefined {
    return this.#versions.get(version);
  }

  /** The ingestion service's label check by the champion, in process. */
  championScorer(): ChampionScorer | undefined {
    const c = this.champion;
    const label = binaryLabel(this.#d.spec);
    if (!c || !label) return undefined;
    return (rows): ChampionOutcome => {
      const labelled = rows.flatMap((r) => {
        const v = label.of(r[label.column] ?? null);
        return v === undefined ? [] : [{ r, v }];
      });
      if (labelled.length === 0) return { kind: 'skipped', reason: 'the batch has no labelled rows to score' };
      const t = applyTransform(c.transform, labelled.map((x) => x.r));
      return { kind: 'scored', version: c.version, evaluatedAuc: c.metrics.auc, y: Float64Array.from(labelled, (x) => x.v), scores: c.model.predict(t.X, t.n) };
    };
  }

  /** A run starts: its snapshot of what was pushed by now; it ends `runMinutes` later (the bootstrap's at once). */
  async start(run: ReplayRun, now: number, instant: boolean, onTrained: OnTrained): Promise<void> {
    const snapshot = takeSnapshot(this.#d.spec, this.#d.ingestion.usable(now));
    if ('problem' in snapshot) return this.#fail(run.id, 'ingestion', `pipeline '${this.#d.spec.name}' has ${snapshot.problem}`, now, onTrained);
    // The size of the training set is what a relative volume policy compares new data with.
    this.#d.book.lastRunRows = snapshot.train.length;
    this.#work.set(run.id, { snapshot, run });
    this.#d.queue.push({ kind: 'run-done', at: instant ? now : now + this.#d.opts.runMinutes * 60_000, runId: run.id });
  }

  /** A run's training, evaluation and registration are done. */
  async done(runId: string, now: number, onTrained: OnTrained): Promise<void> {
    const work = this.#work.get(runId);
    if (!work) return;
    this.#work.delete(runId);
    const { spec } = this.#d;
    const c = this.champion;
    // The trainer warm-starts from the champion when the spec asks, or for a continuous trigger.
    const warm = c && (spec.model.warmStart === 'champion' || (work.run.trigger === 'continuous' && !spec.model.search)) ? { version: c.version, model: c.model, transform: c.transform } : undefined;
    const trained = await trainCandidate(spec, work.snapshot, runId, warm);
    if ('problem' in trained) return this.#fail(runId, trained.stage, trained.problem, now, onTrained);
    this.#epochs += trained.epochs;
    this.#rowEpochs += trained.rowEpochs;
    this.#ms += trained.computeMs;
    const evaluation = evaluateCandidate(spec, trained, c);
    const version = `v${++this.#registered}`;
    const { test: _test, trainRows, epochs, rowEpochs: _r, computeMs: _c, ...kept } = trained;
    const model: ReplayModel = { ...kept, version, metrics: evaluation.candidate };
    this.#versions.set(version, { version, runId, metrics: model.metrics, stats: model.stats });
    const verdict = evaluation.verdict;
    this.#d.period().row.trainings.push({ runId, trigger: work.run.trigger, version, verdict, trainRows, epochs, gates: evaluation.gates.map((g) => `${g.outcome}: ${g.reason}`) });
    if (work.run.trigger === 'manual' && this.#boot.version === null) this.#boot = { version, verdict };
    if (verdict !== 'pass') {
      model.model.dispose();
      return this.#end(runId, 'succeeded', 'rejected', now, onTrained);
    }
    const config = rolloutConfigOf(spec);
    if (typeof config === 'string') {
      model.model.dispose();
      const reason = `${spec.rollout.strategy} of ${version} not started, ${c?.version ?? 'no model'} stays champion: ${config}`;
      return this.#fail(runId, 'deployer', reason, now, onTrained);
    }
    if (!config) return this.#promote(model, runId, 'direct: passed its gates', now, onTrained);
    if (!c) return this.#promote(model, runId, `no champion serving to compare with: ${config.strategy} skipped`, now, onTrained);
    const old = this.rollout;
    if (old) {
      // One rollout per pipeline: a newer candidate (hygiene's duringRollout: supersede) replaces the one under test, whose run ends.
      old.candidate.model.dispose();
      this.rollout = undefined;
      await this.#fail(old.runId, 'deployer', `${old.config.strategy} of ${old.candidate.version} superseded by ${version} of run ${runId} at ${stepName({ config: old.config, step: old.step })}`, now, onTrained);
    }
    this.rollout = beginRollout(runId, model, c, config, now);
    this.#d.book.inRollout(runId);
    this.#queueHold(now);
  }

  #queueHold(now: number): void {
    const r = this.rollout;
    // The deployer's tick after the hold ran out (`now - step start > holdMinutes`).
    if (r) this.#d.queue.push({ kind: 'hold', at: now + r.config.holdMinutes * 60_000 + 1, runId: r.runId, step: r.step });
  }

  /** Analyses the rollout (a period's feedback came back, or a hold ran out) and acts as the deployer would. */
  async analyseRollout(now: number, runId: string | undefined, step: number | undefined, onTrained: OnTrained): Promise<void> {
    const r = this.rollout;
    if (!r || (runId !== undefined && (r.runId !== runId || r.step !== step))) return;
    const action = decideRollout(r, this.#d.log, now);
    r.last = action.analysis;
    await this.#act(r, action, now, onTrained);
  }

  async #act(r: ActiveRollout, a: RolloutAction, now: number, onTrained: OnTrained): Promise<void> {
    if (a.kind === 'hold') return;
    if (a.kind === 'advance') {
      Object.assign(r, { step: a.step, weight: a.weight, stepStartedAt: now });
      return this.#queueHold(now);
    }
    this.rollout = undefined;
    if (a.kind === 'promote') return this.#promote(r.candidate, r.runId, `${r.config.strategy}: ${a.reason}`, now, onTrained);
    r.candidate.model.dispose();
    const summary = rollbackSummary(r, this.champion?.version ?? r.champion.version, a.reason);
    this.#d.period().row.rollbacks.push({ version: r.candidate.version, runId: r.runId, reason: summary });
    return this.#end(r.runId, 'failed', `deployer: ${summary}`, now, onTrained);
  }

  async #promote(model: ReplayModel, runId: string, how: string, now: number, onTrained: OnTrained): Promise<void> {
    const old = this.champion;
    this.champion = model;
    if (old && old !== model) old.model.dispose();
    this.#d.period().row.promotions.push({ version: model.version, runId, how });
    return this.#end(runId, 'succeeded', 'promoted', now, onTrained);
  }

  async #fail(runId: string, stage: string, reason: string, now: number, onTrained: OnTrained): Promise<void> {
    this.#d.period().row.failures.push({ runId, stage, reason });
    return this.#end(runId, 'failed', `${stage}: ${reason}`, now, onTrained);
  }

  /** Ends a run; a run queued behind it starts. */
  async #end(runId: string, status: 'succeeded' | 'failed', outcome: string, now: number, onTrained: OnTrained): Promise<void> {
    const next = this.#d.book.endRun(runId, status, outcome, now);
    if (status === 'succeeded') onTrained(now);
    if (next) await this.start(next, now, false, onTrained);
  }

  /** Where the rollout stands, in words (for the period's row). */
  rolloutStatus(): string | undefined {
    const r = this.rollout;
    if (!r) return undefined;
    const weight = r.config.strategy === 'shadow' ? '' : ` (${r.weight}%)`;
    return `${r.config.strategy} of ${r.candidate.version} at ${stepName({ config: r.config, step: r.step })}${weight}${r.last ? `: ${r.last.outcome}` : ''}`;
  }

  /** The first model's version and verdict. */
  bootstrapOutcome(): { version: string | null; verdict: string | null } {
    return this.#boot;
  }

  /** Notes what the end of the history cut short, and frees every model. */
  finish(notes: string[]): void {
    const running = this.#d.book.inFlight();
    if (running) notes.push(`run ${running.id} (${running.trigger}) was still in flight when the history ended`);
    if (this.rollout) notes.push(`the ${this.rollout.config.strategy} of ${this.rollout.candidate.version} was still undecided when the history ended`);
    this.rollout?.candidate.model.dispose();
    this.champion?.model.dispose();
  }

  /** The compute and run totals of the summary. */
  totals(timings: boolean, runs: number): Pick<Summary, 'runs' | 'epochs' | 'rowEpochs' | 'trainingMs' | 'champion'> {
    return { runs, epochs: this.#epochs, rowEpochs: this.#rowEpochs, ...(timings ? { trainingMs: Math.round(this.#ms) } : {}), champion: this.champion?.version ?? null };
  }
}
