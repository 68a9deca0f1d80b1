import type { DriftReport } from '@refit/contracts';
import { datasetDrift, type DriftColumn } from '@refit/ml';
import { rowsFromJsonl, type RawRow } from '@refit/modeling';
import type { ArtifactStore } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import type pg from 'pg';
import { driftReportMessage, storedColumns } from './drift-report.js';
import { referenceOf, type SnapshotStats } from './stats.js';
import { previousStats, previousTransform } from './store.js';

/** The finite numbers of a column (strings parsed, missing values left out). */
export const numeric = (rows: RawRow[], name: string): number[] =>
  rows.map((r) => (typeof r[name] === 'number' ? (r[name] as number) : Number(r[name]))).filter((x) => Number.isFinite(x));
/** The present values of a column, as strings. */
export const categorical = (rows: RawRow[], name: string): string[] => rows.map((r) => r[name]).filter((v) => v !== null && v !== undefined).map(String);

/** The drift reference: the stored statistics of the previous run, or (runs before statistics existed) its raw training rows. */
async function referenceFor(store: Pick<ArtifactStore, 'get'>, db: pg.Pool | pg.PoolClient, spec: PipelineSpec, runId: string): Promise<{ runId: string; values: (name: string, numeric: boolean) => number[] | string[] } | undefined> {
  const stats = await previousStats(db, spec.name, runId);
  if (stats) {
    const body = JSON.parse((await store.get(stats.stats_key)).toString('utf8')) as SnapshotStats;
    return { runId: stats.run_id, values: (name) => referenceOf(body, name) ?? [] };
  }
  const previous = await previousTransform(db, spec.name, runId);
  if (!previous?.raw_train_key) return undefined;
  const rows = rowsFromJsonl(await store.get(previous.raw_train_key));
  return { runId: previous.run_id, values: (name, isNumeric) => (isNumeric ? numeric(rows, name) : categorical(rows, name)) };
}

/**
 * Compares this run's training rows with the reference — the previous run's stored statistics —
 * feature by feature (Evidently's test choice, plus PSI for numbers), stores the report
 * (content-addressed: checking again writes the same object) and returns it; undefined for a
 * first run. Reads the reference through `db`, outside the transaction that records the result:
 * loading it from the object store is long work.
 */
export async function checkDrift(
  { store }: { store: Pick<ArtifactStore, 'get' | 'putContentAddressed'> },
  db: pg.Pool | pg.PoolClient,
  spec: PipelineSpec,
  runId: string,
  current: RawRow[],
): Promise<DriftReport | undefined> {
  const reference = await referenceFor(store, db, spec, runId);
  if (!reference) return undefined;
  const previous = { run_id: reference.runId };
  const columns: DriftColumn[] = spec.features.map((f) =>
    f.type === 'number'
      ? { name: f.name, type: 'numeric', reference: reference.values(f.name, true) as number[], current: numeric(current, f.name) }
      : { name: f.name, type: 'categorical', reference: reference.values(f.name, false) as string[], current: categorical(current, f.name) },
  );
  const result = datasetDrift(columns);
  const stored = storedColumns(result, columns, 'numeric');
  const body = Buffer.from(JSON.stringify({ ...result, columns: stored, pipeline: spec.name, runId, referenceRunId: previous.run_id }, null, 2));
  const ref = await store.putContentAddressed(`pipelines/${spec.name}/drift`, body, '.json');
  return driftReportMessage({ source: 'training', pipeline: spec.name, runId, referenceRunId: previous.run_id, status: result.status, share: result.share }, stored, ref);
}
