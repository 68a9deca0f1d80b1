import type pg from 'pg';
import type { ArtifactRef } from '@refit/platform';

type Q = pg.Pool | pg.PoolClient;

/** A stored transform row. */
export type TransformRow = { run_id: string; pipeline: string; transform_key: string; transform_sha256: string; transform_bucket: string; feature_names: string[]; rows_fitted: string };

/** Records the transform fitted for a run. */
export async function insertTransform(db: Q, t: { runId: string; pipeline: string; ref: ArtifactRef; featureNames: string[]; rowsFitted: number }): Promise<void> {
  await db.query(
    `insert into transforms (run_id, pipeline, transform_key, transform_sha256, transform_bucket, feature_names, rows_fitted)
     values ($1, $2, $3, $4, $5, $6, $7) on conflict (run_id) do nothing`,
    [t.runId, t.pipeline, t.ref.key, t.ref.sha256, t.ref.bucket, JSON.stringify(t.featureNames), t.rowsFitted],
  );
}

/** The transform fitted for a run. */
export async function getTransform(db: Q, runId: string): Promise<TransformRow | undefined> {
  return (await db.query<TransformRow>('select * from transforms where run_id = $1', [runId])).rows[0];
}
