import type pg from 'pg';

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
  status: 'accepted' | 'rejected';
  reject_reason: string | null;
  sha256: string;
  raw_key: string;
  rows_key: string | null;
  rows_total: string;
  rows_accepted: string;
  rows_quarantined: string;
  created_at: Date;
};

/** Records a batch. */
export async function insertBatch(
  db: Q,
  b: {
    batchId: string;
    pipeline: string;
    filename: string;
    format: string;
    status: 'accepted' | 'rejected';
    rejectReason?: string;
    sha256: string;
    rawKey: string;
    rowsKey: string | null;
    rowsTotal: number;
    rowsAccepted: number;
    rowsQuarantined: number;
  },
): Promise<void> {
  await db.query(
    `insert into batches (batch_id, pipeline, filename, format, status, reject_reason, sha256, raw_key, rows_key, rows_total, rows_accepted, rows_quarantined)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [b.batchId, b.pipeline, b.filename, b.format, b.status, b.rejectReason ?? null, b.sha256, b.rawKey, b.rowsKey, b.rowsTotal, b.rowsAccepted, b.rowsQuarantined],
  );
}

/** Stores quarantined rows, a few hundred per statement. */
export async function insertQuarantine(db: Q, pipeline: string, batchId: string, entries: QuarantineEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 500) {
    const part = entries.slice(i, i + 500);
    await db.query(
      `insert into quarantine (pipeline, batch_id, line, column_name, expected, value, message, raw)
       select $1, $2, * from unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
      [pipeline, batchId, part.map((q) => q.line), part.map((q) => q.column), part.map((q) => q.expected), part.map((q) => q.value), part.map((q) => q.message), part.map((q) => q.raw)],
    );
  }
}

/** Batches of a pipeline in arrival order. */
export async function listBatches(db: Q, pipeline: string, status?: 'accepted'): Promise<BatchRow[]> {
  const r = await db.query<BatchRow>(
    `select * from batches where pipeline = $1 ${status ? `and status = '${status}'` : ''} order by seq`,
    [pipeline],
  );
  return r.rows;
}

/** Quarantined rows of a pipeline (optionally one batch), in file order. */
export async function listQuarantine(db: Q, pipeline: string, batchId: string | undefined, limit: number) {
  const r = await db.query<{ batch_id: string; line: string; column_name: string; expected: string; value: string; message: string; raw: string }>(
    `select batch_id, line, column_name, expected, value, message, raw from quarantine
     where pipeline = $1 and ($2::text is null or batch_id = $2) order by id limit $3`,
    [pipeline, batchId ?? null, limit],
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
