import type pg from 'pg';
import { Verdict } from '@refit/contracts';
import type { ArtifactRef } from '@refit/platform';
import type { Evaluation } from './judge.js';

type Q = pg.Pool | pg.PoolClient;

/** A stored evaluation report. */
export type ReportRow = {
  run_id: string;
  pipeline: string;
  verdict: string;
  reasons: string[];
  candidate_metrics: Record<string, number>;
  champion_metrics: Record<string, number>;
  champion_version: string;
  rows_test: string;
  report_bucket: string;
  report_key: string;
  report_sha256: string;
  report_size: string;
};

/** Records a run's evaluation (once). */
export async function insertReport(db: Q, r: { runId: string; pipeline: string; evaluation: Evaluation; verdict: Verdict; reasons: string[]; reportRef: ArtifactRef }): Promise<void> {
  await db.query(
    `insert into reports (run_id, pipeline, verdict, reasons, candidate_metrics, champion_metrics, champion_version, rows_test, report_bucket, report_key, report_sha256, report_size)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) on conflict (run_id) do nothing`,
    [
      r.runId,
      r.pipeline,
      Verdict[r.verdict],
      JSON.stringify(r.reasons),
      JSON.stringify(r.evaluation.candidate),
      JSON.stringify(r.evaluation.champion?.metrics ?? {}),
      r.evaluation.champion?.version ?? '',
      r.evaluation.rowsTest,
      r.reportRef.bucket,
      r.reportRef.key,
      r.reportRef.sha256,
      r.reportRef.size,
    ],
  );
}

/** The evaluation of a run. */
export async function getReport(db: Q, runId: string): Promise<ReportRow | undefined> {
  return (await db.query<ReportRow>('select * from reports where run_id = $1', [runId])).rows[0];
}

/** Records a cancelled run (idempotent). */
export async function markCancelled(db: Q, runId: string, reason: string): Promise<void> {
  await db.query('insert into cancelled_runs (run_id, reason) values ($1, $2) on conflict do nothing', [runId, reason]);
}

/** Why the run was cancelled, if it was. */
export async function cancellationOf(db: Q, runId: string): Promise<string | undefined> {
  return (await db.query<{ reason: string }>('select reason from cancelled_runs where run_id = $1', [runId])).rows[0]?.reason;
}
