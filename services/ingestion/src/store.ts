import type pg from 'pg';
import type { ColumnSpec } from '@refit/spec';
import { pgJson, printable } from './pg-text.js';
import type { BatchProfile } from './profile.js';

type Q = pg.Pool | pg.PoolClient;

/** One quarantined row with its reason. */
export type QuarantineEntry = { line: number; column: string; expected: string; value: string; message: string; raw: string };

/** A batch row. */
export type BatchRow = {
  seq: string;
  batch_id: string;
  pipeline: string;
  filename: string;
  format: string;
  status: 'accepted' | 'flagged' | 'rejected';
  reject_reason: string | null;
  problems: string[];
  warnings: string[];
  sha256: string;
  raw_key: string;
  rows_key: string | null;
  rows_total: string;
  rows_accepted: string;
  rows_quarantined: string;
  created_at: Date;
  /** push, import or feedback. */
  source: string;
};

/** Records a batch. Its texts may come from a file (names, messages): a NUL in them is stored as ␀. */
export async function insertBatch(
  db: Q,
  b: {
    batchId: string;
    pipeline: string;
    filename: string;
    format: string;
    status: 'accepted' | 'flagged' | 'rejected';
    rejectReason?: string;
    problems?: string[];
    warnings?: string[];
    profile?: BatchProfile;
    sha256: string;
    rawKey: string;
    rowsKey: string | null;
    rowsTotal: number;
    rowsAccepted: number;
    rowsQuarantined: number;
    /** push (default), import or feedback. */
    source?: string;
  },
): Promise<void> {
  await db.query(
    `insert into batches (batch_id, pipeline, filename, format, status, reject_reason, sha256, raw_key, rows_key, rows_total, rows_accepted, rows_quarantined, problems, warnings, profile, source)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [
      b.batchId,
      b.pipeline,
      printable(b.filename),
      b.format,
      b.status,
      b.rejectReason === undefined ? null : printable(b.rejectReason),
      b.sha256,
      b.rawKey,
      b.rowsKey,
      b.rowsTotal,
      b.rowsAccepted,
      b.rowsQuarantined,
      pgJson(b.problems ?? []),
      pgJson(b.warnings ?? []),
      b.profile ? pgJson(b.profile) : null,
      b.source ?? 'push',
    ],
  );
}

/** Stores quarantined rows, a few hundred per statement; a NUL in their texts is stored as ␀. */
export async function insertQuarantine(db: Q, pipeline: string, batchId: string, entries: QuarantineEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 500) {
    const part = entries.slice(i, i + 500);
    await db.query(
      `insert into quarantine (pipeline, batch_id, line, column_name, expected, value, message, raw)
       select $1, $2, * from unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
      [
        pipeline,
        batchId,
        part.map((q) => q.line),
        part.map((q) => printable(q.column)),
        part.map((q) => printable(q.expected)),
        part.map((q) => printable(q.value)),
        part.map((q) => printable(q.message)),
        part.map((q) => printable(q.raw)),
      ],
    );
  }
}

/** Batches of a pipeline in arrival order; `usable`: only those training may use (accepted or flagged). */
export async function listBatches(db: Q, pipeline: string, which?: 'usable'): Promise<BatchRow[]> {
  const r = await db.query<BatchRow>(
    `select seq, batch_id, pipeline, filename, format, status, reject_reason, sha256, raw_key, rows_key, rows_total, rows_accepted, rows_quarantined, problems, warnings, created_at, source
     from batches where pipeline = $1 ${which ? `and status in ('accepted', 'flagged')` : ''} order by seq`,
    [pipeline],
  );
  return r.rows;
}

/** The pipeline a batch belongs to, or undefined when there is no such batch. */
export async function pipelineOfBatch(db: Q, batchId: string): Promise<string | undefined> {
  return (await db.query<{ pipeline: string }>('select pipeline from batches where batch_id = $1', [batchId])).rows[0]?.pipeline;
}

/** An earlier usable batch of the pipeline with the same content, if any. */
export async function batchWithSha(db: Q, pipeline: string, sha256: string): Promise<{ batch_id: string; created_at: Date } | undefined> {
  const r = await db.query<{ batch_id: string; created_at: Date }>(
    `select batch_id, created_at from batches where pipeline = $1 and sha256 = $2 and status <> 'rejected' order by seq limit 1`,
    [pipeline, sha256],
  );
  return r.rows[0];
}

/** The profile later batches of a pipeline are checked against. */
export async function getPinnedProfile(db: Q, pipeline: string): Promise<{ batchId: string; profile: BatchProfile } | undefined> {
  const r = await db.query<{ batch_id: string; profile: BatchProfile }>('select batch_id, profile from pinned_profiles where pipeline = $1', [pipeline]);
  return r.rows[0] ? { batchId: r.rows[0].batch_id, profile: r.rows[0].profile } : undefined;
}

/** Pins a batch's profile: only if none is pinned yet (`first`), or in place of the pinned one (`latest`). */
export async function pinProfile(db: Q, pipeline: string, batchId: string, profile: BatchProfile, mode: 'first' | 'latest' = 'first'): Promise<void> {
  await db.query(
    `insert into pinned_profiles (pipeline, batch_id, profile) values ($1, $2, $3)
     on conflict (pipeline) do ${mode === 'latest' ? 'update set batch_id = excluded.batch_id, profile = excluded.profile, created_at = now()' : 'nothing'}`,
    [pipeline, batchId, pgJson(profile)],
  );
}

/** Marks the open quarantined rows of `batchId` as fixed by `by`; returns how many. */
export async function resolveQuarantine(db: Q, pipeline: string, batchId: string, by: string): Promise<number> {
  const r = await db.query('update quarantine set resolved_by = $3 where pipeline = $1 and batch_id = $2 and resolved_by is null', [pipeline, batchId, by]);
  return r.rowCount ?? 0;
}

/** Where a batch read an incremental source to: `value`, past `after` (undefined: from the start). */
export type Watermark = { source: string; value: string; after: string | undefined };

/** The last watermark taken from a source. */
export async function getWatermark(db: Q, pipeline: string, source: string): Promise<string | undefined> {
  return (await db.query<{ value: string }>('select value from watermarks where pipeline = $1 and source = $2', [pipeline, source])).rows[0]?.value;
}

/**
 * Moves a source's watermark from `after` (undefined: none yet) to `value`, with the batch that
 * took the rows. False, and nothing changed, when it is no longer at `after`: another reader of
 * the same rows moved it first (a concurrent move waits for that one's transaction to end).
 */
export async function setWatermark(db: Q, w: { pipeline: string; source: string; value: string; batchId: string; after: string | undefined }): Promise<boolean> {
  const r = await db.query(
    `insert into watermarks (pipeline, source, value, batch_id) values ($1, $2, $3, $4)
     on conflict (pipeline, source) do update set value = excluded.value, batch_id = excluded.batch_id, updated_at = now()
     where watermarks.value is not distinct from $5`,
    [w.pipeline, w.source, w.value, w.batchId, w.after ?? null],
  );
  return r.rowCount === 1;
}

/** Quarantined rows of a pipeline (optionally one batch), in file order; a stream's quarantined messages under `stream-segment-<n>`. */
export async function listQuarantine(db: Q, pipeline: string, batchId: string | undefined, limit: number, includeResolved = false) {
  const r = await db.query<{ batch_id: string; line: string; column_name: string; expected: string; value: string; message: string; raw: string; resolved_by: string | null }>(
    // A stream's quarantined messages belong to a segment (line: the stream sequence), shown as `stream-segment-<n>`.
    `select coalesce(batch_id, 'stream-segment-' || segment) as batch_id, line, column_name, expected, value, message, raw, resolved_by from quarantine
     where pipeline = $1 and ($2::text is null or batch_id = $2) and ($4 or resolved_by is null) order by id limit $3`,
    [pipeline, batchId ?? null, limit, includeResolved],
  );
  return r.rows;
}

/** Stores (or replaces, on an identical redelivery) the spec a pipeline was applied with. */
export async function upsertPipeline(db: Q, p: { name: string; version: number; specJson: string }): Promise<void> {
  await db.query(
    `insert into pipelines (name, version, spec_json) values ($1, $2, $3)
     on conflict (name) do update set version = excluded.version, spec_json = excluded.spec_json, updated_at = now()
     where pipelines.version < excluded.version`,
    [p.name, p.version, p.specJson],
  );
}

/** The latest known spec (JSON) of a pipeline. */
export async function getPipelineSpec(db: Q, name: string): Promise<{ version: number; spec_json: string } | undefined> {
  return (await db.query<{ version: number; spec_json: string }>('select version, spec_json from pipelines where name = $1', [name])).rows[0];
}

/** Records the snapshot a run was given. */
export async function insertSnapshot(db: Q, s: { runId: string; pipeline: string; sha256: string; lineage: unknown }): Promise<void> {
  await db.query('insert into snapshots (run_id, pipeline, sha256, lineage) values ($1, $2, $3, $4) on conflict (run_id) do nothing', [
    s.runId,
    s.pipeline,
    s.sha256,
    JSON.stringify(s.lineage),
  ]);
}

/** A schema inferred from a batch and pinned (`schema.infer`). */
export type PinnedSchema = { batchId: string; columns: ColumnSpec[]; rows: number; createdAt: Date };

/** The pinned schema of a pipeline whose spec infers it, if a batch pinned one yet. */
export async function getPinnedSchema(db: Q, pipeline: string): Promise<PinnedSchema | undefined> {
  const r = await db.query<{ batch_id: string; columns: ColumnSpec[]; rows: string; created_at: Date }>('select batch_id, columns, rows, created_at from pinned_schemas where pipeline = $1', [pipeline]);
  const row = r.rows[0];
  return row ? { batchId: row.batch_id, columns: row.columns, rows: Number(row.rows), createdAt: row.created_at } : undefined;
}

/** Pins an inferred schema unless one is pinned already (the first accepted batch wins). */
export async function pinSchema(db: Q, pipeline: string, batchId: string, columns: ColumnSpec[], rows: number): Promise<void> {
  await db.query('insert into pinned_schemas (pipeline, batch_id, columns, rows) values ($1, $2, $3, $4) on conflict (pipeline) do nothing', [pipeline, batchId, pgJson(columns), rows]);
}
