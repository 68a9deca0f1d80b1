/**
 * What the prediction log's worker thread writes, and how: served predictions travel from the
 * serving thread in columns (typed arrays and a per-batch string dictionary, which a postMessage
 * copies in one memcpy each) and are inserted here with one statement per group of batches.
 * Nothing here may import the platform's runtime: the worker thread loads only this and `pg`.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

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
  /** The prediction ids, joined by newlines. */
  ids: string;
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
      else if (typeof v === 'number') parts.push(numberText(v));
      else parts.push(`"${v.replace(/["\\]/g, '\\$&')}"`);
    }
  }
  return `{${parts.join(',')}}`;
}

const COLUMNS = 'prediction_id, pipeline, version, variant, probability, latency_ms, created_at, shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms, champion_threshold';
/** SQLSTATE unique_violation: a COPY of rows of which some were written already. */
const UNIQUE_VIOLATION = '23505';

/**
 * Writes the predictions of `batches` (and the raw rows some carry). The predictions go by
 * COPY, 2–3× the rows per second of an INSERT from arrays; a batch sent again after the writer
 * was restarted may hold rows written already, which COPY refuses as a whole: then the
 * idempotent INSERT writes what is missing.
 */
export async function writePredictions(pool: pg.Pool, batches: readonly PredictionColumns[]): Promise<void> {
  try {
    await copyPredictions(pool, batches);
  } catch (err) {
    if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
    await insertPredictions(pool, batches);
    return;
  }
  await insertKeptRows(pool, batches);
}

const split = new WeakMap<PredictionColumns, string[]>();
/** The prediction ids of a batch, one per row. */
function idsOf(b: PredictionColumns): string[] {
  let ids = split.get(b);
  if (!ids) {
    ids = b.n === 0 ? [] : b.ids.split('\n');
    split.set(b, ids);
  }
  return ids;
}

/** COPY's text format of one value: `\N` for null; backslash, tab, newline and CR escaped. */
function copyText(v: string | null): string {
  return v === null ? '\\N' : /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : v;
}

/** A double as Postgres reads it back exactly (shortest round-trip form), in array literals and COPY text alike. */
function numberText(v: number): string {
  return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** One batch as lines of COPY text (see {@link copyText}). */
function copyLines(b: PredictionColumns): string {
  const dict = b.dict.map(copyText);
  const str = (c: number) => (c < 0 ? '\\N' : dict[c]);
  let at = NaN;
  let atText = '';
  const ids = idsOf(b);
  const lines: string[] = new Array<string>(b.n);
  for (let i = 0; i < b.n; i++) {
    if (b.atMs[i] !== at) {
      at = b.atMs[i];
      atText = new Date(at).toISOString();
    }
    const p = b.present[i];
    const shadow = b.shadowVersion[i] >= 0;
    lines[i] = [
      copyText(ids[i]),
      str(b.pipeline[i]),
      str(b.version[i]),
      str(b.variant[i]),
      numberText(b.probability[i]),
      numberText(b.latencyMs[i]),
      atText,
      str(b.shadowVersion[i]),
      p & HAS_SHADOW_PROBABILITY ? numberText(b.shadowProbability[i]) : '\\N',
      p & HAS_CHAMPION_PROBABILITY ? numberText(b.championProbability[i]) : '\\N',
      numberText(b.threshold[i]),
      shadow ? numberText(b.shadowThreshold[i]) : '\\N',
      p & HAS_SHADOW_LATENCY ? numberText(b.shadowLatencyMs[i]) : '\\N',
      p & HAS_CHAMPION_PROBABILITY ? numberText(b.championThreshold[i]) : '\\N',
    ].join('\t');
  }
  return lines.join('\n') + '\n';
}

async function copyPredictions(pool: pg.Pool, batches: readonly PredictionColumns[]): Promise<void> {
  const client = await pool.connect();
  let failed: unknown;
  try {
    await pipeline(Readable.from(batches.map(copyLines)), client.query(copyFrom(`copy predictions (${COLUMNS}) from stdin`)));
  } catch (err) {
    failed = err;
    throw err;
  } finally {
    // A connection whose COPY failed midway is not handed out again.
    client.release(failed instanceof Error ? failed : undefined);
  }
}

/** Inserts the predictions of `batches` (and the raw rows some carry) in two idempotent statements. */
async function insertPredictions(pool: pg.Pool, batches: readonly PredictionColumns[]): Promise<void> {
  const col = (value: (b: PredictionColumns, i: number) => string | number | null) => columnLiteral(batches, value, (b) => b.n);
  const str = (codes: (b: PredictionColumns) => Int32Array) => col((b, i) => {
    const c = codes(b)[i];
    return c < 0 ? null : b.dict[c];
  });
  const opt = (values: (b: PredictionColumns) => Float64Array, bit: number) => col((b, i) => (b.present[i] & bit ? values(b)[i] : null));
  await pool.query(
    `insert into predictions (${COLUMNS})
     select id, pipeline, version, variant, probability, latency_ms, to_timestamp(at_ms / 1000), shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms, champion_threshold
     from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::text[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[])
       as u(id, pipeline, version, variant, probability, latency_ms, at_ms, shadow_version, shadow_probability, champion_probability, threshold, shadow_threshold, shadow_latency_ms, champion_threshold)
     on conflict do nothing`,
    [
      col((b, i) => idsOf(b)[i]),
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
  await insertKeptRows(pool, batches);
}

/** The raw rows kept for pipelines that train on feedback (idempotent). */
async function insertKeptRows(pool: pg.Pool, batches: readonly PredictionColumns[]): Promise<void> {
  const kept = batches.flatMap((b) => b.rows.map(([i, row]) => ({ id: idsOf(b)[i], pipeline: b.dict[b.pipeline[i]], row })));
  if (kept.length > 0) {
    await pool.query(
      `insert into prediction_rows (prediction_id, pipeline, row)
       select * from unnest($1::uuid[], $2::text[], $3::jsonb[]) on conflict do nothing`,
      [kept.map((r) => r.id), kept.map((r) => r.pipeline), kept.map((r) => JSON.stringify(r.row))],
    );
  }
}

/** Inserts scoring failures in one statement. */
export async function writeFailures(pool: pg.Pool, failures: readonly LoggedFailure[]): Promise<void> {
  await pool.query(
    `insert into prediction_errors (pipeline, version, variant, rows, created_at)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[])`,
    [failures.map((r) => r.pipeline), failures.map((r) => r.version), failures.map((r) => r.variant), failures.map((r) => r.rows), failures.map((r) => r.at)],
  );
}
