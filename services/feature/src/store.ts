import type pg from 'pg';
import type { ArtifactRef } from '@refit/platform';

type Q = pg.Pool | pg.PoolClient;

/** A stored transform row. */
export type TransformRow = {
  run_id: string;
  pipeline: string;
  transform_key: string;
  transform_sha256: string;
  transform_bucket: string;
  feature_names: string[];
  rows_fitted: string;
  raw_train_key: string | null;
  created_at: Date;
};

/** Records the transform fitted for a run. */
export async function insertTransform(
  db: Q,
  t: { runId: string; pipeline: string; ref: ArtifactRef; featureNames: string[]; rowsFitted: number; rawTrainKey: string },
): Promise<void> {
  await db.query(
    `insert into transforms (run_id, pipeline, transform_key, transform_sha256, transform_bucket, feature_names, rows_fitted, raw_train_key)
     values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (run_id) do nothing`,
    [t.runId, t.pipeline, t.ref.key, t.ref.sha256, t.ref.bucket, JSON.stringify(t.featureNames), t.rowsFitted, t.rawTrainKey],
  );
}

/** The latest transform of the pipeline fitted for another run: the reference for drift. */
export async function previousTransform(db: Q, pipeline: string, runId: string): Promise<TransformRow | undefined> {
  const r = await db.query<TransformRow>('select * from transforms where pipeline = $1 and run_id <> $2 order by created_at desc limit 1', [pipeline, runId]);
  return r.rows[0];
}

/** Records a drift report. */
export async function insertDriftReport(db: Q, d: { runId: string; pipeline: string; referenceRunId: string; status: string; share: number; reportKey: string }): Promise<void> {
  await db.query(
    'insert into drift_reports (run_id, pipeline, reference_run_id, status, share, report_key) values ($1, $2, $3, $4, $5, $6) on conflict (run_id) do nothing',
    [d.runId, d.pipeline, d.referenceRunId, d.status, d.share, d.reportKey],
  );
}

/** The transform fitted for a run. */
export async function getTransform(db: Q, runId: string): Promise<TransformRow | undefined> {
  return (await db.query<TransformRow>('select * from transforms where run_id = $1', [runId])).rows[0];
}
