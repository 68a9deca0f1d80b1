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

/** A stored statistics row. */
export type StatsRow = { run_id: string; pipeline: string; snapshot_sha256: string; stats_key: string; stats_sha256: string; stats_bucket: string; created_at: Date };

/** Records the statistics of a run's training split. */
export async function insertStats(db: Q, s: { runId: string; pipeline: string; snapshotSha256: string; ref: ArtifactRef }): Promise<void> {
  await db.query(
    'insert into stats (run_id, pipeline, snapshot_sha256, stats_key, stats_sha256, stats_bucket) values ($1, $2, $3, $4, $5, $6) on conflict (run_id) do nothing',
    [s.runId, s.pipeline, s.snapshotSha256, s.ref.key, s.ref.sha256, s.ref.bucket],
  );
}

/** The statistics of a run. */
export async function getStats(db: Q, runId: string): Promise<StatsRow | undefined> {
  return (await db.query<StatsRow>('select * from stats where run_id = $1', [runId])).rows[0];
}

/** The latest statistics of the pipeline from another run: the drift reference. */
export async function previousStats(db: Q, pipeline: string, runId: string): Promise<StatsRow | undefined> {
  return (await db.query<StatsRow>('select * from stats where pipeline = $1 and run_id <> $2 order by created_at desc limit 1', [pipeline, runId])).rows[0];
}

/** Records which run produced a registered model version (first writer wins). */
export async function insertModelVersion(db: Q, v: { pipeline: string; version: string; runId: string }): Promise<void> {
  await db.query('insert into model_versions (pipeline, version, run_id) values ($1, $2, $3) on conflict do nothing', [v.pipeline, v.version, v.runId]);
}

/** The run that produced a model version of a pipeline. */
export async function runOfVersion(db: Q, pipeline: string, version: string): Promise<string | undefined> {
  return (await db.query<{ run_id: string }>('select run_id from model_versions where pipeline = $1 and version = $2', [pipeline, version])).rows[0]?.run_id;
}

/** Records the drift of one live window; false when that window was measured already. */
export async function insertWindowDrift(
  db: Q,
  d: { pipeline: string; version: string; windowEnd: Date; referenceRunId: string; status: string; share: number | null; rows: number; reportKey: string },
): Promise<boolean> {
  const r = await db.query(
    `insert into window_drift (pipeline, version, window_end, reference_run_id, status, share, rows, report_key)
     values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing`,
    [d.pipeline, d.version, d.windowEnd, d.referenceRunId, d.status, d.share, d.rows, d.reportKey],
  );
  return r.rowCount === 1;
}

/** Where a drift report came from: a run's training data, or a live window of served rows. */
export type DriftSource = 'training' | 'live';

/** One drift report, training or live, as the feature service keeps it (the body is at report_key). */
export type DriftRow = {
  source: DriftSource;
  pipeline: string;
  /** training: the run checked; live: ''. */
  run_id: string;
  /** live: the served version; training: ''. */
  version: string;
  /** live: the end of the window; training: null. */
  window_end: Date | null;
  reference_run_id: string;
  status: string;
  share: number | null;
  report_key: string;
  created_at: Date;
};

/**
 * The newest `limit` drift reports of a pipeline from both tables (or one `source`), newest first
 * by when they were recorded; ties (rows of one transaction) by window end, then run id.
 */
export async function listDrift(db: Q, q: { pipeline: string; source?: DriftSource; limit: number }): Promise<DriftRow[]> {
  const r = await db.query<DriftRow>(
    `select * from (
       (select 'training' as source, pipeline, run_id, '' as version, null::timestamptz as window_end, reference_run_id, status, share, report_key, created_at
          from drift_reports where pipeline = $1 and coalesce($2, 'training') = 'training' order by created_at desc limit $3)
       union all
       (select 'live' as source, pipeline, '' as run_id, version, window_end, reference_run_id, status, share, report_key, created_at
          from window_drift where pipeline = $1 and coalesce($2, 'live') = 'live' order by created_at desc limit $3)
     ) d
     order by created_at desc, window_end desc nulls last, run_id desc
     limit $3`,
    [q.pipeline, q.source ?? null, q.limit],
  );
  return r.rows;
}
