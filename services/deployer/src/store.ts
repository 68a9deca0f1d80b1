import type pg from 'pg';

type Q = pg.Pool | pg.PoolClient;

/** A pipeline's current deployment. */
export type DeploymentRow = { pipeline: string; version: string; run_id: string; model_key: string; transform_key: string; decision_threshold: number; loaded_at: Date };

/** Records what a pipeline serves now (and keeps the history). */
export async function saveDeployment(db: Q, d: { pipeline: string; version: string; runId: string; modelKey: string; transformKey: string; threshold: number; reason: string }): Promise<void> {
  await db.query(
    `insert into deployments (pipeline, version, run_id, model_key, transform_key, decision_threshold) values ($1, $2, $3, $4, $5, $6)
     on conflict (pipeline) do update set version = excluded.version, run_id = excluded.run_id, model_key = excluded.model_key,
       transform_key = excluded.transform_key, decision_threshold = excluded.decision_threshold, loaded_at = now()`,
    [d.pipeline, d.version, d.runId, d.modelKey, d.transformKey, d.threshold],
  );
  await db.query('insert into deployment_history (pipeline, version, run_id, reason) values ($1, $2, $3, $4)', [d.pipeline, d.version, d.runId, d.reason]);
}

/** What a pipeline serves now, if anything (`lock`: row-locked until the transaction ends). */
export async function currentDeployment(db: Q, pipeline: string, opts: { lock?: boolean } = {}): Promise<DeploymentRow | undefined> {
  return (await db.query<DeploymentRow>(`select * from deployments where pipeline = $1${opts.lock ? ' for update' : ''}`, [pipeline])).rows[0];
}

/** Every current deployment. */
export async function listDeployments(db: Q): Promise<DeploymentRow[]> {
  return (await db.query<DeploymentRow>('select * from deployments order by pipeline')).rows;
}
