/**
 * Predicted rows as training data: which pipelines keep the raw row of each prediction (from the
 * specs the trigger service announces: `data.include: [feedback]` or a `data.source.stream`), their
 * labeled predictions read back as rows for the ingestion service, oldest feedback first, and the
 * rows of given predictions (a stream label named by a prediction id joins the row that was scored).
 */
import { specFromJson } from '@refit/spec';
import type { PgPool } from '@refit/platform';
import type pg from 'pg';

/**
 * The pipelines whose predictions log their raw rows: those that train on feedback
 * (`data.include: [feedback]`) and those with a stream source (`data.source.stream`, whose labels may
 * name a prediction id instead of a row on the stream). Kept in memory for the Predict path, the
 * database is the truth (one replica consumes each spec; every replica re-reads the table).
 */
export class FeedbackPipelines {
  #names = new Set<string>();

  /** Loads the set from the database (at start-up, and on every refresh). */
  async load(pool: PgPool): Promise<void> {
    this.#names = new Set((await pool.query<{ pipeline: string }>('select pipeline from feedback_pipelines')).rows.map((r) => r.pipeline));
  }

  /** Re-reads the table every `everyMs` (default 5 s); a failed read keeps the last set. */
  refresh(pool: PgPool, onError: (err: unknown) => void, everyMs = 5000): { stop(): void } {
    const timer = setInterval(() => void this.load(pool).catch(onError), everyMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  /** True when `pipeline`'s predictions keep their rows. */
  has(pipeline: string): boolean {
    return this.#names.has(pipeline);
  }

  /** Records a spec version (in the consumer's transaction); the set follows after the commit. */
  async applied(tx: pg.PoolClient, pipeline: string, version: number, specJson: string): Promise<() => void> {
    const { data } = specFromJson(specJson);
    const wants = data.include.includes('feedback') || data.source?.stream !== undefined;
    if (wants) {
      await tx.query(
        `insert into feedback_pipelines (pipeline, spec_version) values ($1, $2)
         on conflict (pipeline) do update set spec_version = excluded.spec_version where feedback_pipelines.spec_version <= excluded.spec_version`,
        [pipeline, version],
      );
    } else {
      await tx.query('delete from feedback_pipelines where pipeline = $1 and spec_version <= $2', [pipeline, version]);
    }
    return () => (wants ? this.#names.add(pipeline) : this.#names.delete(pipeline));
  }
}

/** One labeled prediction with its row. */
export type FeedbackRowRecord = { predictionId: string; row: unknown; label: number; labelValue: string | null; predictedAt: Date; feedbackAt: Date };

/** Most rows one ListFeedbackRows call returns. */
export const MAX_FEEDBACK_ROWS = 100_000;

/**
 * The pipeline's labeled predictions that have a logged row, feedback after `after` (all when
 * undefined), oldest feedback first, at most `limit`; read in pages so memory stays bounded.
 */
export async function* listFeedbackRows(pool: PgPool, pipeline: string, after: Date | undefined, limit: number): AsyncGenerator<FeedbackRowRecord> {
  let cursor: { at: Date; id: string } | undefined = after ? { at: after, id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' } : undefined;
  let left = Math.min(limit, MAX_FEEDBACK_ROWS);
  while (left > 0) {
    const page = Math.min(left, 5000);
    const { rows } = await pool.query<{ prediction_id: string; row: unknown; feedback_label: number; feedback_value: string | null; created_at: Date; feedback_at: Date }>(
      `select p.prediction_id, r.row, p.feedback_label, p.feedback_value, p.created_at, p.feedback_at
         from predictions p join prediction_rows r using (prediction_id)
        where p.pipeline = $1 and p.feedback_at is not null
          and ($2::timestamptz is null or (p.feedback_at, p.prediction_id) > ($2::timestamptz, $3::uuid))
        order by p.feedback_at, p.prediction_id limit $4`,
      [pipeline, cursor?.at ?? null, cursor?.id ?? null, page],
    );
    for (const r of rows) yield { predictionId: r.prediction_id, row: r.row, label: r.feedback_label, labelValue: r.feedback_value, predictedAt: r.created_at, feedbackAt: r.feedback_at };
    left -= rows.length;
    if (rows.length < page) return;
    const last = rows[rows.length - 1];
    cursor = { at: last.feedback_at, id: last.prediction_id };
  }
}

/** Most prediction ids one GetPredictedRows call may name. */
export const MAX_PREDICTED_ROWS = 10_000;

/** The row a prediction was made from. */
export type PredictedRowRecord = { predictionId: string; rowJson: string; predictedAt: Date; version: string };

/**
 * The logged rows of the pipeline's predictions among `ids` (UUIDs, at most
 * {@link MAX_PREDICTED_ROWS}); ids of another pipeline, or without a logged row, are left out.
 */
export async function predictedRows(pool: PgPool, pipeline: string, ids: readonly string[]): Promise<PredictedRowRecord[]> {
  if (ids.length === 0) return [];
  const { rows } = await pool.query<{ prediction_id: string; row_json: string; created_at: Date; version: string }>(
    `select r.prediction_id, r.row::text as row_json, p.created_at, p.version
       from prediction_rows r join predictions p using (prediction_id)
      where r.pipeline = $1 and r.prediction_id = any($2::uuid[])`,
    [pipeline, [...new Set(ids)]],
  );
  return rows.map((r) => ({ predictionId: r.prediction_id, rowJson: r.row_json, predictedAt: r.created_at, version: r.version }));
}
