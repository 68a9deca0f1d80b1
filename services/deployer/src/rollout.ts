import type { RegistryService, RolloutRequested } from '@refit/contracts';
import { storedThreshold } from '@refit/ml';
import { initBackend, type BackendPreference } from '@refit/modeling';
import { EVENTS, FailedPreconditionError, InvalidInputError, NotFoundError, withTransaction, type Client, type ServiceRuntime } from '@refit/platform';
import type pg from 'pg';
import { AnalysisThread } from './analysis-thread.js';
import { guardrailBreach, type StepAnalysis } from './rollout-analysis.js';
import {
  activeRollouts,
  advanceStep,
  divergenceSince,
  endRollout,
  getRollout,
  labeledSince,
  operationalSince,
  recordAnalysis,
  shadowPairsSince,
  startRollout,
  type RolloutConfig,
  type RolloutRow,
} from './rollout-store.js';
import type { Routing } from './routing.js';
import { loadVersion, type ServingTable } from './serving.js';

/** The candidate's traffic share at a step, percent (0 in shadow mode: it never answers). */
export function weightAt(c: RolloutConfig, step: number): number {
  return c.strategy === 'canary' ? c.steps[step] : c.strategy === 'ab' ? c.split : 0;
}

function routingOf(c: RolloutConfig, step: number): Routing {
  if (c.strategy === 'shadow') return { strategy: 'shadow' };
  if (c.strategy === 'ab') return { strategy: 'ab', split: c.split, entityColumn: c.entityColumn ?? '' };
  return { strategy: 'canary', weight: c.steps[step] };
}

/** Dependencies of {@link createRollouts}. */
export type RolloutDeps = {
  rt: ServiceRuntime;
  table: ServingTable;
  registry: Client<typeof RegistryService>;
  tfBackend: BackendPreference;
  /** The clock. Default `new Date()`. */
  clock?: () => Date;
};

/**
 * Progressive delivery: serves a candidate next to the champion (shadow, canary, A/B), analyses
 * each step on live feedback, and promotes it (registry champion alias, with the run id, so the
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

  async function install(r: RolloutRow): Promise<void> {
    await initBackend({ prefer: deps.tfBackend });
    const loaded = await loadVersion(rt.store, { pipeline: r.pipeline, version: r.candidate_version, runId: r.run_id, modelKey: r.model_key, transformKey: r.transform_key, threshold: r.decision_threshold });
    table.setCandidate(loaded, routingOf(r.config, r.step));
  }

  async function promoteNow(r: RolloutRow, actor: string, reason: string, a: StepAnalysis | null): Promise<void> {
    await registry.setAlias({ pipeline: r.pipeline, alias: 'champion', version: r.candidate_version, actor, reason, runId: r.run_id }, { timeoutMs: 10_000 });
    await withTransaction(rt.pool, async (tx) => {
      await endRollout(tx, r.pipeline, 'promoted', reason, a, clock());
      await publishDecided(tx, r, 'promoted', reason, a);
    });
    rt.relay.kick();
    rt.logger.info({ pipeline: r.pipeline, version: r.candidate_version, runId: r.run_id }, `rollout promoted: ${reason}`);
  }

  async function rollbackNow(r: RolloutRow, status: 'rolled-back' | 'aborted', actor: string, reason: string, a: StepAnalysis | null): Promise<void> {
    const summary = `${r.strategy} of ${r.candidate_version} ${status} at step ${r.step + 1} (weight ${r.weight}%), ${r.champion_version} stays champion: ${reason}`;
    await registry.recordDecision(
      { pipeline: r.pipeline, kind: 'rollback', runId: r.run_id, actor, summary, detailsJson: JSON.stringify({ version: r.candidate_version, champion: r.champion_version, strategy: r.strategy, step: r.step, weight: r.weight, analysis: a }) },
      { timeoutMs: 10_000 },
    );
    await withTransaction(rt.pool, async (tx) => {
      await endRollout(tx, r.pipeline, status, reason, a, clock());
      await publishDecided(tx, r, status, reason, a);
      await rt.publish(tx, EVENTS.runFailed, { runId: r.run_id, pipeline: r.pipeline, stage: 'deployer', reason: summary }, { runId: r.run_id });
    });
    if (table.candidate(r.pipeline)?.loaded.version === r.candidate_version) table.clearCandidate(r.pipeline);
    rt.relay.kick();
    rt.logger.warn({ pipeline: r.pipeline, version: r.candidate_version, runId: r.run_id }, summary);
  }

  async function publishDecided(tx: pg.PoolClient, r: RolloutRow, outcome: string, reason: string, a: StepAnalysis | null): Promise<void> {
    await rt.publish(tx, EVENTS.rolloutDecided, { pipeline: r.pipeline, version: r.candidate_version, runId: r.run_id, outcome, step: r.step, reason, analysisJson: JSON.stringify(a) }, { runId: r.run_id });
  }

  async function analyse(r: RolloutRow): Promise<StepAnalysis> {
    const c = r.config;
    if (c.strategy === 'shadow') {
      const s = await shadowPairsSince(rt.pool, r.pipeline, r.candidate_version, r.step_started_at);
      return analysis.analyse(c, { y: s.y, p: s.shadow, threshold: s.shadowThreshold }, { y: s.y, p: s.champion, threshold: s.championThreshold }, true);
    }
    const variant = c.strategy === 'ab' ? 'b' : 'canary';
    const cand = await labeledSince(rt.pool, r.pipeline, variant, r.candidate_version, r.step_started_at);
    // The champion's rows since the rollout began: at a 100 % step it answers nothing any more.
    const champ = await labeledSince(rt.pool, r.pipeline, 'champion', r.champion_version, r.started_at);
    const divergence = await divergenceSince(rt.pool, r.pipeline, variant, r.candidate_version, r.step_started_at);
    const a = await analysis.analyse(c, cand, champ, false);
    return divergence === null ? a : { ...a, divergence };
  }

  async function step(r: RolloutRow, now: Date): Promise<void> {
    const c = r.config;
    const at = `step ${r.step + 1}/${c.strategy === 'canary' ? c.steps.length : 1}`;
    let a = await analyse(r);
    if (c.guardrails) {
      // Operational limits come first: they need no feedback, and a breach ends the step whatever the quality says.
      const operational = await operationalSince(rt.pool, r, r.step_started_at);
      a = { ...a, operational };
      const breach = guardrailBreach(c.guardrails, operational);
      if (breach) return rollbackNow(r, 'rolled-back', 'deployer', `${at}: ${breach}`, { ...a, outcome: 'fail', reason: breach });
    }
    if (a.outcome === 'fail') return rollbackNow(r, 'rolled-back', 'deployer', `${at}: ${a.reason}`, a);
    if (a.outcome === 'pass') {
      if (c.strategy === 'canary' && r.step + 1 < c.steps.length) {
        await advanceStep(rt.pool, r.pipeline, r.step + 1, c.steps[r.step + 1], now, a);
        table.route(r.pipeline, routingOf(c, r.step + 1));
        rt.logger.info({ pipeline: r.pipeline, step: r.step + 1, weight: c.steps[r.step + 1] }, `canary advances: ${a.reason}`);
        return;
      }
      return promoteNow(r, 'deployer', `${at}: ${a.reason}`, a);
    }
    const overdue = now.getTime() - r.step_started_at.getTime() > c.holdMinutes * 60_000;
    if (overdue && c.onInconclusive === 'promote') return promoteNow(r, 'deployer', `${at} still inconclusive after ${c.holdMinutes} min (onInconclusive: promote): ${a.reason}`, a);
    if (overdue && c.onInconclusive === 'rollback') return rollbackNow(r, 'rolled-back', 'deployer', `${at} still inconclusive after ${c.holdMinutes} min (onInconclusive: rollback): ${a.reason}`, a);
    await recordAnalysis(rt.pool, r.pipeline, a);
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
    async begin(tx: pg.PoolClient, e: RolloutRequested): Promise<void> {
      const config = JSON.parse(e.rolloutJson) as RolloutConfig;
      if (!['shadow', 'canary', 'ab'].includes(config.strategy)) throw new InvalidInputError(`rollout strategy '${config.strategy}' is not shadow, canary or ab`);
      const champion = table.current(e.pipeline);
      if (!champion) {
        await registry.setAlias({ pipeline: e.pipeline, alias: 'champion', version: e.version, actor: 'deployer', reason: `no champion serving to compare with: ${config.strategy} skipped`, runId: e.runId }, { timeoutMs: 10_000 });
        return;
      }
      const { model } = await registry.getModel({ pipeline: e.pipeline, version: e.version }, { timeoutMs: 10_000 });
      const modelKey = model?.lineage?.model?.key;
      const transformKey = model?.lineage?.transform?.key;
      if (!modelKey || !transformKey) throw new InvalidInputError(`model ${e.pipeline}/${e.version} has no model or transform artifact in its lineage`);
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
        const reason = `${old.strategy} of ${old.candidate_version} superseded by ${e.version} of run ${e.runId} at step ${old.step + 1}`;
        await endRollout(tx, e.pipeline, 'aborted', reason, null, clock());
        await rt.publish(tx, EVENTS.runFailed, { runId: old.run_id, pipeline: e.pipeline, stage: 'deployer', reason }, { runId: old.run_id });
      }
      await startRollout(tx, row);
      await install({ ...row, status: 'active', step: 0, step_started_at: row.started_at, last_outcome: '', last_reason: '', last_analysis: null, decided_at: null });
    },
    /** Reloads every active rollout's candidate at its step (after a restart). */
    async resume(): Promise<void> {
      for (const r of await activeRollouts(rt.pool)) {
        await install(r);
        rt.logger.info({ pipeline: r.pipeline, version: r.candidate_version, step: r.step, weight: r.weight }, 'resumed rollout');
      }
    },
    /** A new champion: a rollout of that version is over (promoted here or by hand). */
    async championMoved(tx: pg.PoolClient, pipeline: string, version: string): Promise<void> {
      if (table.candidate(pipeline)?.loaded.version === version) table.clearCandidate(pipeline);
      const r = await getRollout(tx, pipeline);
      if (r?.status === 'active' && r.candidate_version === version) await endRollout(tx, pipeline, 'promoted', `${version} became champion`, null, clock());
    },
    /** Analyses every active rollout once and acts on the outcome. */
    tick(): Promise<void> {
      return serial(async () => {
        for (const r of await activeRollouts(rt.pool)) {
          try {
            await step(r, clock());
          } catch (err) {
            rt.logger.error({ err, pipeline: r.pipeline }, 'rollout analysis failed; retried at the next tick');
          }
        }
      });
    },
    /** Promotes the pipeline's candidate now (manual). */
    promote(pipeline: string, actor: string, reason: string): Promise<RolloutRow> {
      return serial(async () => {
        await promoteNow(await active(pipeline), actor, `manual promotion by ${actor}: ${reason}`, null);
        return (await getRollout(rt.pool, pipeline)) as RolloutRow;
      });
    },
    /** Rolls the pipeline's candidate back now (manual). */
    abort(pipeline: string, actor: string, reason: string): Promise<RolloutRow> {
      return serial(async () => {
        await rollbackNow(await active(pipeline), 'aborted', actor, `aborted by ${actor}: ${reason}`, null);
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

/** Runs the rollout analysis every `tickMs`. */
export function startRolloutTicks(rollouts: Rollouts, tickMs: number): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => rollouts.tick());
  }, tickMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
