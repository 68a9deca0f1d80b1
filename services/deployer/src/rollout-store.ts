import { storedThreshold } from '@refit/ml';
import type pg from 'pg';
import type { BusinessMetric, Labeled, StepAnalysis } from './rollout-analysis.js';

type Q = pg.Pool | pg.PoolClient;

/** The spec's `rollout:` section as the deployer uses it. */
export type RolloutConfig = {
  strategy: 'shadow' | 'canary' | 'ab';
  steps: number[];
  minLabeled: number;
  /** accuracy, logLoss, auc, or the name of a business metric of confusion counts (see `business`). */
  metric: string;
  /**
   * The business metric's definition when `metric` names one: resolved when the rollout starts (from
   * the run's evaluation report) and kept here, so a restarted deployer judges the same way.
   */
  business?: BusinessMetric;
  margin: number;
  alpha: number;
  holdMinutes: number;
  onInconclusive: 'promote' | 'rollback' | 'hold';
  entityColumn?: string;
  split: number;
  guardrails?: { maxErrorRate?: number; maxLatencyRatio?: number; maxDivergence?: number; minPredictions: number };
};

/** What a step's guardrails are judged on: the candidate's operational numbers since the step began. */
export type Operational = {
  /** Rows the candidate answered (canary, A/B) or scored (shadow). */
  predictions: number;
  /** Rows it failed to score. */
  errors: number;
  /** Mean per-row scoring latency, ms, of the candidate and of the champion on the same step (null: not measured). */
  latencyMs: number | null;
  championLatencyMs: number | null;
  /** Mean |candidate − champion| probability on rows both scored (null: none). */
  divergence: number | null;
};

/** A rollout as stored. */
export type RolloutRow = {
  pipeline: string;
  run_id: string;
  strategy: RolloutConfig['strategy'];
  candidate_version: string;
  champion_version: string;
  model_key: string;
  transform_key: string;
  /** The candidate's stored decision threshold. */
  decision_threshold: number;
  config: RolloutConfig;
  status: 'active' | 'promoted' | 'rolled-back' | 'aborted';
  step: number;
  weight: number;
  started_at: Date;
  step_started_at: Date;
  last_outcome: string;
  last_reason: string;
  last_analysis: StepAnalysis | null;
  decided_at: Date | null;
};

/** Starts a pipeline's rollout (replacing a finished or superseded one). */
export async function startRollout(db: Q, r: Omit<RolloutRow, 'status' | 'step' | 'last_outcome' | 'last_reason' | 'last_analysis' | 'decided_at' | 'step_started_at'>): Promise<void> {
  await db.query(
    `insert into rollouts (pipeline, run_id, strategy, candidate_version, champion_version, model_key, transform_key, config, status, step, weight, started_at, step_started_at, decision_threshold)
     values ($1, $2, $3, $4, $5, $6, $7, $8, 'active', 0, $9, $10, $10, $11)
     on conflict (pipeline) do update set run_id = excluded.run_id, strategy = excluded.strategy, candidate_version = excluded.candidate_version,
       champion_version = excluded.champion_version, model_key = excluded.model_key, transform_key = excluded.transform_key, config = excluded.config,
       status = 'active', step = 0, weight = excluded.weight, started_at = excluded.started_at, step_started_at = excluded.started_at,
       decision_threshold = excluded.decision_threshold, last_outcome = '', last_reason = '', last_analysis = null, decided_at = null`,
    [r.pipeline, r.run_id, r.strategy, r.candidate_version, r.champion_version, r.model_key, r.transform_key, JSON.stringify(r.config), r.weight, r.started_at, r.decision_threshold],
  );
  await db.query('insert into rollout_steps (pipeline, run_id, step, weight, started_at) values ($1, $2, 0, $3, $4) on conflict do nothing', [r.pipeline, r.run_id, r.weight, r.started_at]);
}

/** A pipeline's rollout (the last one, whatever its status). */
export async function getRollout(db: Q, pipeline: string): Promise<RolloutRow | undefined> {
  return (await db.query<RolloutRow>('select * from rollouts where pipeline = $1', [pipeline])).rows[0];
}

/** Every active rollout. */
export async function activeRollouts(db: Q): Promise<RolloutRow[]> {
  return (await db.query<RolloutRow>("select * from rollouts where status = 'active' order by pipeline")).rows;
}

/**
 * A rollout as it was read: every change below applies only while the pipeline's rollout is still
 * that run's, active, at that step. A decision made on an older read (the tick analysed while a
 * consumer ended the rollout: the champion moved, a newer candidate superseded it) then changes
 * nothing, instead of overwriting the end's reason, moving an ended rollout's step, or ending it twice.
 */
export type RolloutAsRead = Pick<RolloutRow, 'pipeline' | 'run_id' | 'step'>;

const STILL = "pipeline = $1 and run_id = $2 and step = $3 and status = 'active'";

/** Whether the rollout is still as read (see {@link RolloutAsRead}). */
export async function stillActive(db: Q, r: RolloutAsRead): Promise<boolean> {
  return ((await db.query(`select 1 from rollouts where ${STILL}`, [r.pipeline, r.run_id, r.step])).rowCount ?? 0) > 0;
}

// Each statement changes the rollout and its step's history together (one statement: atomic
// without a transaction), and counts the rollouts it changed.
const counted = async (db: Q, sql: string, params: unknown[]): Promise<boolean> => Number((await db.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0) > 0;

/** Records an analysis that held the step; false when the rollout is no longer as read. */
export async function recordAnalysis(db: Q, r: RolloutAsRead, a: StepAnalysis): Promise<boolean> {
  return counted(
    db,
    `with r as (update rollouts set last_outcome = $4, last_reason = $5, last_analysis = $6 where ${STILL} returning run_id, step),
     s as (update rollout_steps s set outcome = $4, reason = $5, analysis = $6 from r where s.run_id = r.run_id and s.step = r.step)
     select count(*) as n from r`,
    [r.pipeline, r.run_id, r.step, a.outcome, a.reason, JSON.stringify(a)],
  );
}

/** Moves to the next step, closing the step passed; false when the rollout is no longer as read. */
export async function advanceStep(db: Q, r: RolloutAsRead, weight: number, at: Date, a: StepAnalysis): Promise<boolean> {
  return counted(
    db,
    `with m as (update rollouts set step = step + 1, weight = $4, step_started_at = $5, last_outcome = $6, last_reason = $7, last_analysis = $8 where ${STILL}
                returning pipeline, run_id, step, weight, step_started_at),
     closed as (update rollout_steps s set ended_at = $5, outcome = $6, reason = $7, analysis = $8 from m where s.run_id = m.run_id and s.step = m.step - 1),
     opened as (insert into rollout_steps (pipeline, run_id, step, weight, started_at) select pipeline, run_id, step, weight, step_started_at from m on conflict do nothing)
     select count(*) as n from m`,
    [r.pipeline, r.run_id, r.step, weight, at, a.outcome, a.reason, JSON.stringify(a)],
  );
}

/**
 * Ends a rollout (promoted, rolled back or aborted), and its current step with it; the candidate's
 * weight drops to zero unless promoted. False when it is no longer as read (ended already, or
 * another run's).
 */
export async function endRollout(db: Q, r: RolloutAsRead, status: Exclude<RolloutRow['status'], 'active'>, reason: string, a: StepAnalysis | null, at: Date): Promise<boolean> {
  return counted(
    db,
    `with e as (update rollouts set status = $4, weight = case when $4 = 'promoted' then weight else 0 end, last_reason = $5, last_outcome = coalesce($6, last_outcome),
                  last_analysis = coalesce($7, last_analysis), decided_at = $8 where ${STILL} returning run_id, step),
     s as (update rollout_steps s set ended_at = $8, outcome = $4, reason = $5, analysis = coalesce($7::jsonb, s.analysis) from e where s.run_id = e.run_id and s.step = e.step)
     select count(*) as n from e`,
    [r.pipeline, r.run_id, r.step, status, reason, a?.outcome ?? null, a ? JSON.stringify(a) : null, at],
  );
}

/** One step of a rollout as it went (see migration 010). */
export type RolloutStepRow = { step: number; weight: number; started_at: Date; ended_at: Date | null; outcome: string; reason: string; analysis: StepAnalysis | null };

/** The steps of a run's rollout, first to last. */
export async function rolloutSteps(db: Q, runId: string): Promise<RolloutStepRow[]> {
  return (await db.query<RolloutStepRow>('select step, weight, started_at, ended_at, outcome, reason, analysis from rollout_steps where run_id = $1 order by step', [runId])).rows;
}

/** Labeled predictions of one variant and version made since `since`. */
export async function labeledSince(db: Q, pipeline: string, variant: string, version: string, since: Date): Promise<{ y: number[]; p: number[]; threshold: number }> {
  const r = await db.query<{ feedback_label: number; probability: number; threshold: number | null }>(
    `select feedback_label, probability, threshold from predictions
     where pipeline = $1 and variant = $2 and version = $3 and created_at >= $4 and feedback_label is not null`,
    [pipeline, variant, version, since],
  );
  // One version always decides at its own threshold (rows logged before thresholds were: 0.5).
  return { y: r.rows.map((x) => x.feedback_label), p: r.rows.map((x) => x.probability), threshold: storedThreshold(r.rows[0]?.threshold) };
}

/**
 * Canary and A/B: mean |candidate − champion| probability on the candidate's rows since `since`
 * (labeled or not) that the champion also scored; null when there are none.
 */
export async function divergenceSince(db: Q, pipeline: string, variant: string, version: string, since: Date): Promise<number | null> {
  const r = await db.query<{ divergence: number | null }>(
    `select avg(abs(probability - champion_probability)) as divergence from predictions
     where pipeline = $1 and variant = $2 and version = $3 and created_at >= $4 and champion_probability is not null`,
    [pipeline, variant, version, since],
  );
  return r.rows[0]?.divergence ?? null;
}

/**
 * Labeled rows both models scored since `since`, each side at its own threshold: in shadow mode the
 * champion answered and the shadow scored; at the last canary step the candidate answered and the
 * champion scored in the background (`champion_probability`; rows where that failed are left out).
 */
export async function pairsSince(db: Q, r: Pick<RolloutRow, 'pipeline' | 'strategy' | 'candidate_version'>, since: Date): Promise<{ candidate: Labeled; champion: Labeled }> {
  type Pair = { y: number; c: number; h: number; ct: number | null; ht: number | null };
  const shadow = r.strategy === 'shadow';
  const q = await db.query<Pair>(
    shadow
      ? `select feedback_label as y, shadow_probability as c, probability as h, shadow_threshold as ct, threshold as ht from predictions
         where pipeline = $1 and shadow_version = $2 and created_at >= $3 and feedback_label is not null`
      : `select feedback_label as y, probability as c, champion_probability as h, threshold as ct, champion_threshold as ht from predictions
         where pipeline = $1 and variant = 'canary' and version = $2 and created_at >= $3 and feedback_label is not null and champion_probability is not null`,
    [r.pipeline, r.candidate_version, since],
  );
  const y = q.rows.map((x) => x.y);
  return {
    // One threshold per version; rows logged before thresholds were have none (0.5 if no row has one).
    candidate: { y, p: q.rows.map((x) => x.c), threshold: storedThreshold(q.rows.find((x) => x.ct !== null)?.ct) },
    champion: { y, p: q.rows.map((x) => x.h), threshold: storedThreshold(q.rows.find((x) => x.ht !== null)?.ht) },
  };
}

/** The candidate's operational numbers since `since` (the step's start), for the guardrails. */
export async function operationalSince(db: Q, r: Pick<RolloutRow, 'pipeline' | 'strategy' | 'candidate_version' | 'champion_version'>, since: Date): Promise<Operational> {
  const shadow = r.strategy === 'shadow';
  const variant = shadow ? 'shadow' : r.strategy === 'ab' ? 'b' : 'canary';
  type Made = { n: string; latency: number | null; divergence: number | null; champion_latency?: number | null };
  const made = shadow
    ? await db.query<Made>(
        `select count(*) as n, avg(shadow_latency_ms) as latency, avg(abs(probability - shadow_probability)) as divergence, avg(latency_ms) as champion_latency
         from predictions where pipeline = $1 and shadow_version = $2 and created_at >= $3`,
        [r.pipeline, r.candidate_version, since],
      )
    : await db.query<Made>(
        `select count(*) as n, avg(latency_ms) as latency, avg(abs(probability - champion_probability)) as divergence
         from predictions where pipeline = $1 and variant = $2 and version = $3 and created_at >= $4`,
        [r.pipeline, variant, r.candidate_version, since],
      );
  const champion = shadow
    ? undefined
    : await db.query<{ latency: number | null }>(
        `select avg(latency_ms) as latency from predictions where pipeline = $1 and variant = 'champion' and version = $2 and created_at >= $3`,
        [r.pipeline, r.champion_version, since],
      );
  const failed = await db.query<{ errors: string | null }>(
    `select sum(rows) as errors from prediction_errors where pipeline = $1 and variant = $2 and version = $3 and created_at >= $4`,
    [r.pipeline, variant, r.candidate_version, since],
  );
  const m = made.rows[0];
  return {
    predictions: Number(m?.n ?? 0),
    errors: Number(failed.rows[0]?.errors ?? 0),
    latencyMs: m?.latency ?? null,
    // Shadow: the champion answered the very rows the shadow scored.
    championLatencyMs: (shadow ? m?.champion_latency : champion?.rows[0]?.latency) ?? null,
    divergence: m?.divergence ?? null,
  };
}
