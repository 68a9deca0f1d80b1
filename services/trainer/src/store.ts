import type pg from 'pg';
import type { ArtifactRef } from '@refit/platform';

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
};

/** Records a finished job (once per run). */
export async function insertJob(
  db: Q,
  j: { runId: string; pipeline: string; modelRef: ArtifactRef; backend: string; epochs: number; computeMs: number; finalLoss: number; config: unknown; seed: number },
): Promise<void> {
  await db.query(
    `insert into jobs (run_id, pipeline, model_bucket, model_key, model_sha256, model_size, backend, epochs, compute_ms, final_loss, training_config, seed)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) on conflict (run_id) do nothing`,
    [j.runId, j.pipeline, j.modelRef.bucket, j.modelRef.key, j.modelRef.sha256, j.modelRef.size, j.backend, j.epochs, Math.round(j.computeMs), Number.isFinite(j.finalLoss) ? j.finalLoss : 0, JSON.stringify(j.config), j.seed],
  );
}

/** The job of a run. */
export async function getJob(db: Q, runId: string): Promise<JobRow | undefined> {
  return (await db.query<JobRow>('select * from jobs where run_id = $1', [runId])).rows[0];
}
