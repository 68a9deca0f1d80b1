import type pg from 'pg';

type Q = pg.Pool | pg.PoolClient;

/** A pipeline's current deployment. */
export type DeploymentRow = { pipeline: string; version: string; run_id: string; model_key: string; transform_key: string; loaded_at: Date };

/** Records what a pipeline serves now (and keeps the history). */
export async function saveDeployment(db: Q, d: { pipeline: string; version: string; runId: string; modelKey: string; transformKey: string; reason: string }): Promise<void> {
  await db.query(
    `insert into deployments (pipeline, version, run_id, model_key, transform_key) values ($1, $2, $3, $4, $5)
     on conflict (pipeline) do update set version = excluded.version, run_id = excluded.run_id, model_key = excluded.model_key,
       transform_key = excluded.transform_key, loaded_at = now()`,
    [d.pipeline, d.version, d.runId, d.modelKey, d.transformKey],
  );
  await db.query('insert into deployment_history (pipeline, version, run_id, reason) values ($1, $2, $3, $4)', [d.pipeline, d.version, d.runId, d.reason]);
}

/** Every current deployment. */
export async function listDeployments(db: Q): Promise<DeploymentRow[]> {
  return (await db.query<DeploymentRow>('select * from deployments order by pipeline')).rows;
}
