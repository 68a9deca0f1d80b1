import type pg from 'pg';
import { ConflictError } from '@refit/platform';

type Q = pg.Pool | pg.PoolClient;

/** A registered model version. */
export type ModelRow = {
  pipeline: string;
  version_num: number;
  version: string;
  run_id: string;
  created_at: Date;
  lineage: unknown;
  verdict: string;
  reasons: string[];
  metrics: Record<string, number>;
  trigger_kind: string;
  trigger_reason: string;
  promoted_by: string;
};
/** An alias and the version it points at. */
export type AliasRow = { pipeline: string; alias: string; version: string; revision: string };

/** The model registered for a run, if any. */
export async function modelOfRun(db: Q, runId: string): Promise<ModelRow | undefined> {
  return (await db.query<ModelRow>('select * from models where run_id = $1', [runId])).rows[0];
}

/** Registers the next version of a pipeline's model (numbering is serialized per pipeline). */
export async function insertModel(
  db: pg.PoolClient,
  m: { pipeline: string; runId: string; lineage: unknown; verdict: string; reasons: string[]; metrics: Record<string, number>; triggerKind: string; triggerReason: string; promotedBy: string },
): Promise<ModelRow> {
  await db.query('select pg_advisory_xact_lock(hashtext($1))', [`registry:${m.pipeline}`]);
  const next = (await db.query<{ n: number }>('select coalesce(max(version_num), 0) + 1 as n from models where pipeline = $1', [m.pipeline])).rows[0].n;
  const r = await db.query<ModelRow>(
    `insert into models (pipeline, version_num, version, run_id, lineage, verdict, reasons, metrics, trigger_kind, trigger_reason, promoted_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning *`,
    [m.pipeline, next, `v${next}`, m.runId, JSON.stringify(m.lineage), m.verdict, JSON.stringify(m.reasons), JSON.stringify(m.metrics), m.triggerKind, m.triggerReason, m.promotedBy],
  );
  return r.rows[0];
}

/** A model version, or undefined. */
export async function getModel(db: Q, pipeline: string, version: string): Promise<ModelRow | undefined> {
  return (await db.query<ModelRow>('select * from models where pipeline = $1 and version = $2', [pipeline, version])).rows[0];
}

/** Every version of a pipeline's model, newest first. */
export async function listModels(db: Q, pipeline: string): Promise<ModelRow[]> {
  return (await db.query<ModelRow>('select * from models where pipeline = $1 order by version_num desc', [pipeline])).rows;
}

/** An alias of a pipeline, or undefined when unset. */
export async function getAlias(db: Q, pipeline: string, alias: string): Promise<AliasRow | undefined> {
  return (await db.query<AliasRow>('select * from aliases where pipeline = $1 and alias = $2', [pipeline, alias])).rows[0];
}

/** Every alias of a pipeline. */
export async function aliasesOf(db: Q, pipeline: string): Promise<AliasRow[]> {
  return (await db.query<AliasRow>('select * from aliases where pipeline = $1', [pipeline])).rows;
}

/**
 * Moves an alias if it is still at `expectedRevision` (undefined: it must not exist yet). Throws
 * ConflictError when someone else moved it first.
 */
export async function moveAlias(
  db: Q,
  a: { pipeline: string; alias: string; version: string; expectedRevision: string | undefined; runId: string; reason: string; previousVersion?: string; actor?: string },
): Promise<void> {
  const r =
    a.expectedRevision === undefined
      ? await db.query('insert into aliases (pipeline, alias, version, revision) values ($1, $2, $3, 1) on conflict do nothing', [a.pipeline, a.alias, a.version])
      : await db.query('update aliases set version = $3, revision = revision + 1, updated_at = now() where pipeline = $1 and alias = $2 and revision = $4', [
          a.pipeline,
          a.alias,
          a.version,
          a.expectedRevision,
        ]);
  if (r.rowCount !== 1) throw new ConflictError(`alias '${a.alias}' of pipeline '${a.pipeline}' was moved concurrently; retry`);
  await db.query('insert into alias_history (pipeline, alias, version, previous_version, run_id, reason, actor) values ($1, $2, $3, $4, $5, $6, $7)', [
    a.pipeline,
    a.alias,
    a.version,
    a.previousVersion ?? null,
    a.runId,
    a.reason,
    a.actor ?? '',
  ]);
}
