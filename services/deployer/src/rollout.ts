import { setTimeout as sleep } from 'node:timers/promises';
import type { RegistryService, RolloutRequested } from '@refit/contracts';
import { storedThreshold } from '@refit/ml';
import { actorOf, EVENTS, FailedPreconditionError, InvalidInputError, NotFoundError, onBehalfOfMetadata, withTransaction, type Client, type Identity, type Lease, type ServiceRuntime } from '@refit/platform';
import type pg from 'pg';
import { AnalysisThread } from './analysis-thread.js';
import { guardrailBreach, labeledCounts, type StepAnalysis } from './rollout-analysis.js';
import { BUILTIN_ROLLOUT_METRICS } from './rollout-bounds.js';
import { businessMetricOfRun } from './rollout-business-source.js';
import { activeRollouts, advanceStep, divergenceSince, endRollout, getRollout, labeledSince, operationalSince, pairsSince, recordAnalysis, startRollout, stillActive, type RolloutConfig, type RolloutRow } from './rollout-store.js';
import { wireAnalysis } from './rollout-wire.js';
import type { Routing } from './routing.js';
import type { ServingTable } from './serving.js';

/** The candidate's traffic share at a step, percent (0 in shadow mode: it never answers). */
export function weightAt(c: RolloutConfig, step: number): number {
  return c.strategy === 'canary' ? c.steps[step] : c.strategy === 'ab' ? c.split : 0;
}

/** A step as the run numbers it, 1-based: `step 2/3`. */
export function stepName(r: Pick<RolloutRow, 'config' | 'step'>): string {
  return `step ${r.step + 1}/${r.config.strategy === 'canary' ? r.config.steps.length : 1}`;
}

/**
 * Whether a step is judged on paired rows: in shadow mode, and at a canary step where the champion
 * answers nothing (the last, 100 %), on the champion's background scores of the candidate's rows.
 * Every other step compares two arms served side by side in the same period.
 */
export function pairedStep(r: Pick<RolloutRow, 'config' | 'step'>): boolean {
  return r.config.strategy === 'shadow' || (r.config.strategy === 'canary' && weightAt(r.config, r.step) >= 100);
}

/** How traffic is split at a rollout's step. */
export function routingOf(c: RolloutConfig, step: number): Routing {
  if (c.strategy === 'shadow') return { strategy: 'shadow' };
  if (c.strategy === 'ab') return { strategy: 'ab', split: c.split, entityColumn: c.entityColumn ?? '' };
  return { strategy: 'canary', weight: c.steps[step] };
}

/** Whether two routings split traffic the same way. */
export function sameRouting(a: Routing, b: Routing): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Dependencies of {@link createRollouts}. */
export type RolloutDeps = {
  /** The pool, the outbox and its relay, the object store (candidate models) and the log. */
  rt: Pick<ServiceRuntime, 'pool' | 'publish' | 'relay' | 'store' | 'logger'>;
  table: ServingTable;
  registry: Client<typeof RegistryService>;
  /** The clock. Default `new Date()`. */
  clock?: () => Date;
};

/**
 * Progressive delivery: serves a candidate next to the champion (shadow, canary, A/B), analyses
 * each step on the live feedback of that step's own period (arms served side by side; in shadow mode
 * and at the last canary step both models' scores of the same rows), and promotes it (registry champion alias, with the run id, so the
 * champion path swaps it in and the run completes) or rolls it back (weight 0, candidate unloaded,
 * ledger rollback entry, `run.failed` at stage deployer with the numbers). State lives in the
 * `rollouts` table, so a restarted deployer resumes at the step it was on.
 */
export function createRollouts(deps: RolloutDeps) {
  const { rt, table, registry } = deps;
  const clock = deps.clock ?? (() => new Date());
  // Large analyses (a paired bootstrap over thousands of shadow rows) run off the serving thread.
  const analysis = new AnalysisThread();
  let queue: Promise<unknown> = Promise.resolve();
  // Decisions run one at a time (the timer's analysis, manual promote/abort).
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn);
    queue = next.catch(() => undefined);
    return next;
  };

  // `person`: who asked (a manual promote or abort); the registry records them, via the deployer.
  async function promoteNow(r: RolloutRow, reason: string, a: StepAnalysis | null, person?: Identity): Promise<void> {
    if (!(await stillActive(rt.pool, r))) return overtaken(r, 'promotion');
    await registry.setAlias({ pipeline: r.pipeline, alias: 'champion', version: r.candidate_version, reason, runId: r.run_id }, { timeoutMs: 10_000, metadata: onBehalfOfMetadata(person) });
    await withTransaction(rt.pool, async (tx) => {
      if (await endRollout(tx, r, 'promoted', reason, a, clock())) await publishDecided(tx, r, 'promoted', reason, a);
    });
    rt.relay.kick();
    rt.logger.info({ pipeline: r.pipeline, version: r.candidate_version, runId: r.run_id }, `rollout promoted: ${reason}`);
  }

  async function rollbackNow(r: RolloutRow, status: 'rolled-back' | 'aborted', reason: string, a: StepAnalysis | null, person?: Identity): Promise<void> {
    // The champion that keeps serving is the one loaded now (it may have moved by hand since the start).
    const champion = table.current(r.pipeline)?.version ?? r.champion_version;
    const where = r.strategy === 'shadow' ? stepName(r) : `${stepName(r)} (weight ${r.weight}%)`;
    const summary = `${r.strategy} of ${r.candidate_version} ${status === 'aborted' ? 'aborted' : 'rolled back'} at ${where}, ${champion} stays champion: ${reason}`;
    if (!(await stillActive(rt.pool, r))) return overtaken(r, status === 'aborted' ? 'abort' : 'rollback');
    await registry.recordDecision(
      { pipeline: r.pipeline, kind: 'rollback', runId: r.run_id, summary, detailsJson: JSON.stringify({ version: r.candidate_version, champion, strategy: r.strategy, step: r.step + 1, weight: r.weight, analysis: a }) },
      { timeoutMs: 10_000, metadata: onBehalfOfMetadata(person) },
    );
    await withTransaction(rt.pool, async (tx) => {
      if (!(await endRollout(tx, r, status, reason, a, clock()))) return;
      await publishDecided(tx, r, status, reason, a);
      await rt.publish(tx, EVENTS.runFailed, { runId: r.run_id, pipeline: r.pipeline, stage: 'deployer', reason: summary }, { runId: r.run_id });
    });
    if (table.candidate(r.pipeline)?.loaded.version === r.candidate_version) table.clearCandidate(r.pipeline);
    rt.relay.kick();
    rt.logger.warn({ pipeline: r.pipeline, version: r.candidate_version, runId: r.run_id }, summary);
  }

  /** A decision made on a read the rollout has since moved past (ended by a consumer, or another step): nothing to do. */
  function overtaken(r: RolloutRow, what: string): void {
    rt.logger.info({ pipeline: r.pipeline, runId: r.run_id, step: r.step + 1 }, `rollout changed since it was analysed: no ${what}`);
  }

  async function publishDecided(tx: pg.PoolClient, r: RolloutRow, outcome: string, reason: string, a: StepAnalysis | null): Promise<void> {
    // Steps are numbered as the run's sentences number them: 1-based. The analysis goes typed and,
    // for consumers of the previous release, as JSON.
    await rt.publish(tx, EVENTS.rolloutDecided, { pipeline: r.pipeline, version: r.candidate_version, runId: r.run_id, outcome, step: r.step + 1, reason, analysisJson: JSON.stringify(a), analysis: a ? wireAnalysis(a) : undefined }, { runId: r.run_id });
  }

  // Only rows of this step's own period: the two sides were served at the same time.
  async function analyse(r: RolloutRow): Promise<StepAnalysis> {
    const c = r.config;
    if (pairedStep(r)) {
      const { candidate, champion } = await pairsSince(rt.pool, r, r.step_started_at);
      return analysis.analyse(c, candidate, champion, true);
    }
    const variant = c.strategy === 'ab' ? 'b' : 'canary';
    const cand = await labeledSince(rt.pool, r.pipeline, variant, r.candidate_version, r.step_started_at);
    const champ = await labeledSince(rt.pool, r.pipeline, 'champion', r.champion_version, r.step_started_at);
    const divergence = await divergenceSince(rt.pool, r.pipeline, variant, r.candidate_version, r.step_started_at);
    const a = await analysis.analyse(c, cand, champ, false);
    return divergence === null ? a : { ...a, divergence };
  }

  // A passed step: the next canary step, or (after the last, and for shadow and A/B) promotion.
  async function passStep(r: RolloutRow, reason: string, a: StepAnalysis, now: Date): Promise<void> {
    const c = r.config;
    if (c.strategy === 'canary' && r.step + 1 < c.steps.length) {
      if (!(await advanceStep(rt.pool, r, c.steps[r.step + 1], now, { ...a, reason }))) return overtaken(r, 'step');
      table.route(r.pipeline, routingOf(c, r.step + 1));
      rt.logger.info({ pipeline: r.pipeline, step: r.step + 2, weight: c.steps[r.step + 1] }, `canary advances: ${reason}`);
      return;
    }
    return promoteNow(r, reason, a);
  }

  // An inconclusive step past its hold. Without `minLabeled` labeled rows a side nothing is ever
  // passed on the clock: rollback still applies, promote (and hold) keep holding until the labels arrive.
  async function holdExpired(r: RolloutRow, a: StepAnalysis, now: Date): Promise<void> {
    const c = r.config;
    const at = stepName(r);
    if (a.nCandidate < c.minLabeled || a.nChampion < c.minLabeled) {
      const short = `${at}: still short of feedback after the ${c.holdMinutes}-min hold: ${labeledCounts(a, c.minLabeled)}`;
      if (c.onInconclusive === 'rollback') return rollbackNow(r, 'rolled-back', `${short} (onInconclusive: rollback)`, a);
      const then = c.onInconclusive === 'promote' ? 'onInconclusive: promote never passes a step without them, so it holds until they arrive' : 'onInconclusive: hold';
      await recordAnalysis(rt.pool, r, { ...a, reason: `${short}; ${then}` });
      return;
    }
    const late = `${at} still inconclusive after the ${c.holdMinutes}-min hold (onInconclusive: ${c.onInconclusive}): ${a.reason}`;
    if (c.onInconclusive === 'promote') return passStep(r, late, a, now);
    if (c.onInconclusive === 'rollback') return rollbackNow(r, 'rolled-back', late, a);
    await recordAnalysis(rt.pool, r, { ...a, reason: late });
  }

  async function step(r: RolloutRow, now: Date): Promise<void> {
    const c = r.config;
    const at = stepName(r);
    let a = await analyse(r);
    if (c.guardrails) {
      // Operational limits come first: they need no feedback, and a breach ends the step whatever the quality says.
      const operational = await operationalSince(rt.pool, r, r.step_started_at);
      a = { ...a, operational };
      const breach = guardrailBreach(c.guardrails, operational);
      if (breach) return rollbackNow(r, 'rolled-back', `${at}: ${breach}`, { ...a, outcome: 'fail', reason: breach });
    }
    if (a.outcome === 'fail') return rollbackNow(r, 'rolled-back', `${at}: ${a.reason}`, a);
    if (a.outcome === 'pass') return passStep(r, `${at}: ${a.reason}`, a, now);
    if (now.getTime() - r.step_started_at.getTime() > c.holdMinutes * 60_000) return holdExpired(r, a, now);
    await recordAnalysis(rt.pool, r, a);
  }

  async function active(pipeline: string): Promise<RolloutRow> {
    const r = await getRollout(rt.pool, pipeline);
    if (!r) throw new NotFoundError(`pipeline '${pipeline}' has no rollout`);
    if (r.status !== 'active') throw new FailedPreconditionError(`the rollout of ${r.candidate_version} on '${pipeline}' is already ${r.status}`);
    return r;
  }

  return {
    /**
     * Starts a rollout requested by the registry, inside the consumer's transaction. Without a
     * serving champion there is nothing to compare with: the candidate is promoted at once. A
     * rollout still active for the pipeline is superseded (its run fails with the reason).
     */
    async begin(tx: pg.PoolClient, e: RolloutRequested): Promise<RolloutRow | undefined> {
      let config = JSON.parse(e.rolloutJson) as RolloutConfig;
      if (!['shadow', 'canary', 'ab'].includes(config.strategy)) throw new InvalidInputError(`rollout strategy '${config.strategy}' is not shadow, canary or ab`);
      const champion = table.current(e.pipeline);
      if (!champion) {
        await registry.setAlias({ pipeline: e.pipeline, alias: 'champion', version: e.version, reason: `no champion serving to compare with: ${config.strategy} skipped`, runId: e.runId }, { timeoutMs: 10_000 });
        return;
      }
      const { model } = await registry.getModel({ pipeline: e.pipeline, version: e.version }, { timeoutMs: 10_000 });
      const modelKey = model?.lineage?.model?.key;
      const transformKey = model?.lineage?.transform?.key;
      if (!modelKey || !transformKey) throw new InvalidInputError(`model ${e.pipeline}/${e.version} has no model or transform artifact in its lineage`);
      if (!BUILTIN_ROLLOUT_METRICS.has(config.metric)) {
        // A business metric: its definition comes with the run (its evaluation report), kept with the rollout.
        const found = await businessMetricOfRun(rt.store, config.metric, model?.lineage?.evaluationReport?.key);
        if (typeof found === 'string') {
          const reason = `${config.strategy} of ${e.version} not started, ${champion.version} stays champion: ${found}`;
          await rt.publish(tx, EVENTS.runFailed, { runId: e.runId, pipeline: e.pipeline, stage: 'deployer', reason }, { runId: e.runId });
          rt.logger.warn({ pipeline: e.pipeline, version: e.version, runId: e.runId }, reason);
          return;
        }
        config = { ...config, business: found };
      }
      const row = {
        pipeline: e.pipeline,
        run_id: e.runId,
        strategy: config.strategy,
        candidate_version: e.version,
        champion_version: champion.version,
        model_key: modelKey,
        transform_key: transformKey,
        decision_threshold: storedThreshold(model?.lineage?.decisionThreshold),
        config,
        weight: weightAt(config, 0),
        started_at: clock(),
      };
      const old = await getRollout(tx, e.pipeline);
      if (old?.status === 'active' && old.run_id !== e.runId) {
        // One rollout per pipeline: a newer candidate supersedes the one under test, whose run ends.
        const reason = `${old.strategy} of ${old.candidate_version} superseded by ${e.version} of run ${e.runId} at ${stepName(old)}`;
        await endRollout(tx, old, 'aborted', reason, null, clock());
        await rt.publish(tx, EVENTS.runFailed, { runId: old.run_id, pipeline: e.pipeline, stage: 'deployer', reason }, { runId: old.run_id });
      }
      // Every replica's serving sync loads the candidate once this commits.
      await startRollout(tx, row);
      return { ...row, status: 'active', step: 0, step_started_at: row.started_at, last_outcome: '', last_reason: '', last_analysis: null, decided_at: null };
    },
    /**
     * A new champion: a rollout of that version is over (promoted here or by hand); the serving
     * sync unloads it. A rollout of another candidate ends too: it was judged, and is compared
     * live, against the champion it started with, which no longer serves (its champion arm would
     * stay empty and the step hold until its limit).
     */
    async championMoved(tx: pg.PoolClient, pipeline: string, version: string): Promise<void> {
      const r = await getRollout(tx, pipeline);
      if (r?.status !== 'active' || r.champion_version === version) return;
      if (r.candidate_version === version) {
        await endRollout(tx, r, 'promoted', `${version} became champion`, null, clock());
        return;
      }
      const reason = `the champion moved from ${r.champion_version} to ${version} during the ${r.strategy} of ${r.candidate_version} (at ${stepName(r)}): ${r.candidate_version} was judged against ${r.champion_version} only; retrain or re-evaluate it against ${version}`;
      if (!(await endRollout(tx, r, 'aborted', reason, null, clock()))) return;
      await rt.publish(tx, EVENTS.runFailed, { runId: r.run_id, pipeline, stage: 'deployer', reason }, { runId: r.run_id });
    },
    /** Analyses every active rollout once and acts on the outcome. */
    tick(): Promise<void> {
      return serial(async () => {
        let active: RolloutRow[];
        try {
          active = await activeRollouts(rt.pool);
        } catch (err) {
          rt.logger.warn({ err }, 'could not read the active rollouts; retried at the next tick');
          return;
        }
        for (const r of active) {
          try {
            await step(r, clock());
          } catch (err) {
            rt.logger.error({ err, pipeline: r.pipeline }, 'rollout analysis failed; retried at the next tick');
          }
        }
      });
    },
    /** Promotes the pipeline's candidate now (manual). */
    promote(pipeline: string, by: Identity, reason: string): Promise<RolloutRow> {
      return serial(async () => {
        await promoteNow(await active(pipeline), `manual promotion by ${actorOf(by)}: ${reason}`, null, by);
        return (await getRollout(rt.pool, pipeline)) as RolloutRow;
      });
    },
    /** Rolls the pipeline's candidate back now (manual). */
    abort(pipeline: string, by: Identity, reason: string): Promise<RolloutRow> {
      return serial(async () => {
        await rollbackNow(await active(pipeline), 'aborted', `aborted by ${actorOf(by)}: ${reason}`, null, by);
        return (await getRollout(rt.pool, pipeline)) as RolloutRow;
      });
    },
    /** The pipeline's rollout (NotFoundError when it never had one). */
    async get(pipeline: string): Promise<RolloutRow> {
      const r = await getRollout(rt.pool, pipeline);
      if (!r) throw new NotFoundError(`pipeline '${pipeline}' has no rollout`);
      return r;
    },
    /** Stops the analysis worker. */
    close(): Promise<void> {
      return serial(() => analysis.close());
    },
  };
}

/** The rollout controller {@link createRollouts} returns. */
export type Rollouts = ReturnType<typeof createRollouts>;

/**
 * Runs the rollout analysis every `tickMs` in one replica of the deployer: under the
 * `rollout-analysis` lease, so two replicas never analyse (and decide) the same step twice. A
 * failed tick is logged and the next one runs.
 */
export function runRolloutTicks(rt: Pick<ServiceRuntime, 'runLeased' | 'logger'>, rollouts: Rollouts, tickMs: number): Lease {
  return rt.runLeased({
    name: 'rollout-analysis',
    run: async ({ signal }) => {
      while (!signal.aborted) {
        await rollouts.tick().catch((err: unknown) => rt.logger.error({ err }, 'rollout tick failed; the next one runs'));
        await sleep(tickMs, undefined, { signal }).catch(() => undefined);
      }
    },
  });
}
