import { storedThreshold } from '@refit/ml';
import type pg from 'pg';
import type { StepAnalysis } from './rollout-analysis.js';

type Q = pg.Pool | pg.PoolClient;

/** The spec's `rollout:` section as the deployer uses it. */
export type RolloutConfig = {
  strategy: 'shadow' | 'canary' | 'ab';
  steps: number[];
  minLabeled: number;
  metric: 'accuracy' | 'logLoss';
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
}

/** A pipeline's rollout (the last one, whatever its status). */
export async function getRollout(db: Q, pipeline: string): Promise<RolloutRow | undefined> {
  return (await db.query<RolloutRow>('select * from rollouts where pipeline = $1', [pipeline])).rows[0];
}

/** Every active rollout. */
export async function activeRollouts(db: Q): Promise<RolloutRow[]> {
  return (await db.query<RolloutRow>("select * from rollouts where status = 'active' order by pipeline")).rows;
}

/** Records an analysis that held the step. */
export async function recordAnalysis(db: Q, pipeline: string, a: StepAnalysis): Promise<void> {
  await db.query('update rollouts set last_outcome = $2, last_reason = $3, last_analysis = $4 where pipeline = $1', [pipeline, a.outcome, a.reason, JSON.stringify(a)]);
}

/** Moves to the next step. */
export async function advanceStep(db: Q, pipeline: string, step: number, weight: number, at: Date, a: StepAnalysis): Promise<void> {
  await db.query(
    'update rollouts set step = $2, weight = $3, step_started_at = $4, last_outcome = $5, last_reason = $6, last_analysis = $7 where pipeline = $1',
    [pipeline, step, weight, at, a.outcome, a.reason, JSON.stringify(a)],
  );
}

/** Ends a rollout (promoted, rolled back or aborted); the candidate's weight drops to zero unless promoted. */
export async function endRollout(db: Q, pipeline: string, status: Exclude<RolloutRow['status'], 'active'>, reason: string, a: StepAnalysis | null, at: Date): Promise<void> {
  await db.query(
    `update rollouts set status = $2, weight = case when $2 = 'promoted' then weight else 0 end, last_reason = $3, last_outcome = coalesce($4, last_outcome),
       last_analysis = coalesce($5, last_analysis), decided_at = $6 where pipeline = $1`,
    [pipeline, status, reason, a?.outcome ?? null, a ? JSON.stringify(a) : null, at],
  );
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

/** Shadow mode: labeled rows scored by both, the champion's and the shadow's probabilities side by side. */
export async function shadowPairsSince(
  db: Q,
  pipeline: string,
  version: string,
  since: Date,
): Promise<{ y: number[]; champion: number[]; shadow: number[]; championThreshold: number; shadowThreshold: number }> {
  const r = await db.query<{ feedback_label: number; probability: number; shadow_probability: number; threshold: number | null; shadow_threshold: number | null }>(
    `select feedback_label, probability, shadow_probability, threshold, shadow_threshold from predictions
     where pipeline = $1 and shadow_version = $2 and created_at >= $3 and feedback_label is not null`,
    [pipeline, version, since],
  );
  return {
    y: r.rows.map((x) => x.feedback_label),
    champion: r.rows.map((x) => x.probability),
    shadow: r.rows.map((x) => x.shadow_probability),
    championThreshold: storedThreshold(r.rows[0]?.threshold),
    shadowThreshold: storedThreshold(r.rows[0]?.shadow_threshold),
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
