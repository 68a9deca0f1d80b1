// Bench data for bench/console: turns a pipeline's real runs into 1,000 runs and 100 model
// versions by copying the rows the trigger and registry services keep, in their own schemas.
// This is bench data written straight into the services' tables (the console itself reads only
// through gRPC): each copy is a real run's row with a new id and an older timestamp, so every
// page lists, counts and renders as many rows as a pipeline with that history would have.
import { createPool, type PgPool } from '@refit/platform';

/** Options of {@link seedHistory}. */
export type SeedOptions = {
  pgUrl: string;
  /** The stack's REFIT_SCHEMA_PREFIX (schemas `<prefix>trigger`, `<prefix>registry`). */
  schemaPrefix: string;
  pipeline: string;
  /** A finished run of the pipeline whose rows (run, stages) are copied. */
  templateRunId: string;
  /** Runs the pipeline should have in all. */
  runs: number;
  /** Model versions the pipeline should have in all. */
  versions: number;
};

async function columns(pool: PgPool, schema: string, table: string): Promise<string[]> {
  const { rows } = await pool.query<{ column_name: string }>('select column_name from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position', [schema, table]);
  return rows.map((r) => r.column_name);
}

/** `insert … select` copying one table's rows, with some columns replaced by expressions. */
async function copyRows(pool: PgPool, schema: string, table: string, replace: Record<string, string>, from: string, params: unknown[]): Promise<number> {
  const cols = await columns(pool, schema, table);
  const exprs = cols.map((c) => replace[c] ?? `t.${c}`);
  const r = await pool.query(`insert into ${table} (${cols.join(', ')}) select ${exprs.join(', ')} from ${from}`, params);
  return r.rowCount ?? 0;
}

/** Copies runs and model versions until the pipeline has `runs` runs and `versions` versions; returns the ids of the copied runs. */
export async function seedHistory(o: SeedOptions): Promise<{ runIds: string[]; runs: number; versions: number }> {
  const trigger = createPool({ url: o.pgUrl, schema: `${o.schemaPrefix}trigger` });
  const registry = createPool({ url: o.pgUrl, schema: `${o.schemaPrefix}registry` });
  try {
    const have = Number((await trigger.query<{ n: string }>('select count(*) as n from runs where pipeline = $1', [o.pipeline])).rows[0].n);
    const extra = Math.max(0, o.runs - have);
    // Copy g (1…extra) is g hours older than the template, so the real runs stay the newest.
    const id = `t.run_id || '-h' || g`;
    const older = (col: string) => `t.${col} - g * interval '1 hour'`;
    const series = `generate_series(1, $2::int) g`;
    await copyRows(trigger, `${o.schemaPrefix}trigger`, 'runs', { run_id: id, created_at: older('created_at'), updated_at: older('updated_at') }, `runs t, ${series} where t.run_id = $1`, [o.templateRunId, extra]);
    await copyRows(trigger, `${o.schemaPrefix}trigger`, 'run_stages', { run_id: id, started_at: older('started_at'), finished_at: older('finished_at') }, `run_stages t, ${series} where t.run_id = $1`, [o.templateRunId, extra]);
    const runIds = Array.from({ length: extra }, (_, i) => `${o.templateRunId}-h${i + 1}`);

    // Versions: copies of the template run's model, each made by one of the copied runs.
    const { rows } = await registry.query<{ n: string; top: number }>('select count(*) as n, max(version_num) as top from models where pipeline = $1', [o.pipeline]);
    const more = Math.min(runIds.length, Math.max(0, o.versions - Number(rows[0].n)));
    await copyRows(
      registry,
      `${o.schemaPrefix}registry`,
      'models',
      { version_num: `$3::int + g`, version: `'v' || ($3::int + g)`, run_id: id, created_at: older('created_at') },
      `models t, ${series} where t.run_id = $1`,
      [o.templateRunId, more, rows[0].top],
    );
    const counted = async (pool: PgPool, table: string) => Number((await pool.query<{ n: string }>(`select count(*) as n from ${table} where pipeline = $1`, [o.pipeline])).rows[0].n);
    return { runIds, runs: await counted(trigger, 'runs'), versions: await counted(registry, 'models') };
  } finally {
    await Promise.all([trigger.end(), registry.end()]);
  }
}
