/**
 * What the prediction log's worker thread writes, and how: served predictions travel from the
 * serving thread in columns (typed arrays and a per-batch string dictionary, which a postMessage
 * copies in one memcpy each) and are inserted here with one statement per group of batches.
 * Nothing here may import the platform's runtime: the worker thread loads only this and `pg`.
 */
import type pg from 'pg';

/** Bits of {@link PredictionColumns.present}: which optional values a row has. */
export const HAS_SHADOW_PROBABILITY = 1;
export const HAS_CHAMPION_PROBABILITY = 2;
export const HAS_SHADOW_LATENCY = 4;

/**
 * A batch of served predictions in columns. Strings (pipeline, version, variant, shadow version)
 * are indexes into `dict` (-1: none); thresholds are already the stored ones.
 */
export type PredictionColumns = {
  n: number;
  dict: string[];
  ids: string[];
  pipeline: Int32Array;
  version: Int32Array;
  variant: Int32Array;
  shadowVersion: Int32Array;
  probability: Float64Array;
  latencyMs: Float64Array;
  atMs: Float64Array;
  shadowProbability: Float64Array;
  championProbability: Float64Array;
  threshold: Float64Array;
  shadowThreshold: Float64Array;
  shadowLatencyMs: Float64Array;
  championThreshold: Float64Array;
  present: Uint8Array;
  /** Raw rows kept for pipelines that train on feedback: [row index, row]. */
  rows: Array<[number, unknown]>;
};

/** Rows a served version failed to score in one Predict call. */
export type LoggedFailure = { pipeline: string; version: string; variant: string; rows: number; at: Date };

/** Serving thread → worker. Every message has a sequence number, answered in order. */
export type LogRequest =
  | { type: 'predictions'; seq: number; columns: PredictionColumns }
  | { type: 'failures'; seq: number; failures: LoggedFailure[] }
  | { type: 'flush'; seq: number };

/** Worker → serving thread. */
export type LogReply =
  | { type: 'written'; seqs: number[]; rows: number }
  | { type: 'flushed'; seq: number; ok: boolean }
  | { type: 'failed'; message: string; rows: number; retryInMs: number }
  | { type: 'ready' };

/** What the worker needs to reach Postgres. */
export type LogWorkerData = { url: string; schema: string };

/**
 * A Postgres array literal of strings (quoted, `"` and `\\` escaped), numbers (shortest
 * round-trip form, so float8 reads back the same double) and nulls.
 */
export function pgArray(values: ReadonlyArray<string | number | null>): string {
  return columnLiteral([values], (v, i) => v[i], (v) => v.length);
}

/** The array literal of one value per row across `batches` (see {@link pgArray}). */
function columnLiteral<B>(batches: readonly B[], value: (b: B, i: number) => string | number | null, size: (b: B) => number): string {
  const parts: string[] = [];
  for (const b of batches) {
    const n = size(b);
    for (let i = 0; i < n; i++) {
      const v = value(b, i);
      if (v === null) parts.push('NULL');
      else if (typeof v === 'number') parts.push(Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
      else parts.push(`"${v.replace(/["\\]/g, '\\$&')}"`);
    }
  }
  return `{${parts.join(',')}}`;
}

/** Inserts the predictions of `batches` (and the raw rows some carry) in two idempotent statements. */
export async function writePredictions(pool: pg.Pool, batches: readonly PredictionColumns[]): Promise<number> {
  const col = (value: (b: PredictionColumns, i: number) => string | number | null) => columnLiteral(batches, value, (b) => b.n);
  const str = (codes: (b: PredictionColumns) => Int32Array) => col((b, i) => {
    const c = codes(b)[i];
    return c < 0 ? null : b.dict[c];
  });
  const opt = (values: (b: PredictionColumns) => Float64Array, bit: number) => col((b, i) => (b.present[i] & bit ? values(b)[i] : null));
  await pool.query(
    `insert into predictions (prediction_id, pipeline, version, variant, probability, latency_ms, created_at, shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms, champion_threshold)
     select id, pipeline, version, variant, probability, latency_ms, to_timestamp(at_ms / 1000), shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms, champion_threshold
     from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::text[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[])
       as u(id, pipeline, version, variant, probability, latency_ms, at_ms, shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms, champion_threshold)
     on conflict do nothing`,
    [
      col((b, i) => b.ids[i]),
      str((b) => b.pipeline),
      str((b) => b.version),
      str((b) => b.variant),
      col((b, i) => b.probability[i]),
      col((b, i) => b.latencyMs[i]),
      col((b, i) => b.atMs[i]),
      str((b) => b.shadowVersion),
      opt((b) => b.shadowProbability, HAS_SHADOW_PROBABILITY),
      opt((b) => b.championProbability, HAS_CHAMPION_PROBABILITY),
      col((b, i) => b.threshold[i]),
      col((b, i) => (b.shadowVersion[i] < 0 ? null : b.shadowThreshold[i])),
      opt((b) => b.shadowLatencyMs, HAS_SHADOW_LATENCY),
      col((b, i) => (b.present[i] & HAS_CHAMPION_PROBABILITY ? b.championThreshold[i] : null)),
    ],
  );
  const kept = batches.flatMap((b) => b.rows.map(([i, row]) => ({ id: b.ids[i], pipeline: b.dict[b.pipeline[i]], row })));
  if (kept.length > 0) {
    await pool.query(
      `insert into prediction_rows (prediction_id, pipeline, row)
       select * from unnest($1::uuid[], $2::text[], $3::jsonb[]) on conflict do nothing`,
      [kept.map((r) => r.id), kept.map((r) => r.pipeline), kept.map((r) => JSON.stringify(r.row))],
    );
  }
  return batches.reduce((t, b) => t + b.n, 0);
}

/** Inserts scoring failures in one statement. */
export async function writeFailures(pool: pg.Pool, failures: readonly LoggedFailure[]): Promise<void> {
  await pool.query(
    `insert into prediction_errors (pipeline, version, variant, rows, created_at)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[])`,
    [failures.map((r) => r.pipeline), failures.map((r) => r.version), failures.map((r) => r.variant), failures.map((r) => r.rows), failures.map((r) => r.at)],
  );
}
