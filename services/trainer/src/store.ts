import type pg from 'pg';
import type { ArtifactRef } from '@refit/platform';
import type { TrainingOutcome } from './train.js';

type Q = pg.Pool | pg.PoolClient;

/** A finished training job. */
export type JobRow = {
  run_id: string;
  pipeline: string;
  model_bucket: string;
  model_key: string;
  model_sha256: string;
  model_size: string;
  backend: string;
  epochs: number;
  compute_ms: string;
  final_loss: number;
  training_config: unknown;
  seed: string;
  finished_at: Date;
  search_strategy: string;
  best_trial: number;
  trial_count: number;
  stop_reason: string;
  warm_start_model: ArtifactRef | null;
  code_version: string;
};

/** What a finished job records: the training outcome (its lineage and validation metrics travel in events). */
export type NewJob = { runId: string; pipeline: string } & Omit<TrainingOutcome, 'lineage' | 'validationMetrics'>;

/** Records a finished job and its trials (once per run). */
export async function insertJob(db: Q, j: NewJob): Promise<void> {
  const { rowCount } = await db.query(
    `insert into jobs (run_id, pipeline, model_bucket, model_key, model_sha256, model_size, backend, epochs, compute_ms, final_loss, training_config, seed,
                       search_strategy, best_trial, trial_count, stop_reason, warm_start_model, code_version)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) on conflict (run_id) do nothing`,
    [
      j.runId, j.pipeline, j.modelRef.bucket, j.modelRef.key, j.modelRef.sha256, j.modelRef.size, j.backend, j.epochs, Math.round(j.computeMs),
      Number.isFinite(j.finalLoss) ? j.finalLoss : 0, JSON.stringify(j.config), j.seed,
      j.searchStrategy, j.bestTrial, j.trials.length, j.stopReason, j.warmStartModel ? JSON.stringify(j.warmStartModel) : null, j.codeVersion,
    ],
  );
  if (rowCount === 0) return;
  for (const t of j.trials) {
    await db.query(
      `insert into trials (run_id, trial, rung, params, status, epochs, best_epoch, score, curve, duration_ms, error)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict do nothing`,
      [j.runId, t.trial, t.rung, JSON.stringify(t.params), t.status, t.epochs, t.bestEpoch, t.score, JSON.stringify(t.curve), Math.round(t.ms), t.error ?? ''],
    );
  }
}

/** The job of a run. */
export async function getJob(db: Q, runId: string): Promise<JobRow | undefined> {
  return (await db.query<JobRow>('select * from jobs where run_id = $1', [runId])).rows[0];
}

/** A stored trial. */
export type TrialRow = {
  run_id: string;
  trial: number;
  rung: number;
  params: Record<string, unknown>;
  status: string;
  epochs: number;
  best_epoch: number;
  score: number | null;
  curve: Array<{ epoch: number; loss: number; valLoss?: number }>;
  duration_ms: string;
  error: string;
};

/** The trials of a run, in the order they ran. */
export async function listTrials(db: Q, runId: string): Promise<TrialRow[]> {
  return (await db.query<TrialRow>('select * from trials where run_id = $1 order by trial', [runId])).rows;
}

/** The latest progress of a run. */
export type ProgressRow = {
  run_id: string;
  pipeline: string;
  trial: number;
  trials: number;
  rung: number;
  epoch: number;
  epochs: number;
  loss: number;
  val_loss: number | null;
  done: boolean;
  updated_at: Date;
};

/** Replaces the run's progress row. */
export async function saveProgress(db: Q, p: Omit<ProgressRow, 'updated_at'>): Promise<void> {
  await db.query(
    `insert into progress (run_id, pipeline, trial, trials, rung, epoch, epochs, loss, val_loss, done, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
     on conflict (run_id) do update set trial = $3, trials = $4, rung = $5, epoch = $6, epochs = $7, loss = $8, val_loss = $9, done = $10, updated_at = now()`,
    [p.run_id, p.pipeline, p.trial, p.trials, p.rung, p.epoch, p.epochs, Number.isFinite(p.loss) ? p.loss : 0, p.val_loss !== null && Number.isFinite(p.val_loss) ? p.val_loss : null, p.done],
  );
}

/** The run's latest progress. */
export async function getProgress(db: Q, runId: string): Promise<ProgressRow | undefined> {
  return (await db.query<ProgressRow>('select * from progress where run_id = $1', [runId])).rows[0];
}

/** Records a cancellation (idempotent). */
export async function markCancelled(db: Q, runId: string, reason: string): Promise<void> {
  await db.query('insert into cancelled_runs (run_id, reason) values ($1, $2) on conflict do nothing', [runId, reason]);
}

/** Why the run was cancelled, if it was. */
export async function cancellationOf(db: Q, runId: string): Promise<string | undefined> {
  return (await db.query<{ reason: string }>('select reason from cancelled_runs where run_id = $1', [runId])).rows[0]?.reason;
}
