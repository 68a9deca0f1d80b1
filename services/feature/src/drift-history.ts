import { createHash } from 'node:crypto';
import type { DriftReport, ListDriftRequest } from '@refit/contracts';
import { InvalidInputError, isNotFound, type ArtifactStore } from '@refit/platform';
import { isPipelineName } from '@refit/spec';
import type pg from 'pg';
import { driftReportMessage, type StoredColumn } from './drift-report.js';
import { listDrift, type DriftRow, type DriftSource } from './store.js';

/** Reports ListDrift returns when the request asks for none in particular. */
export const DEFAULT_DRIFT_LIMIT = 20;
/** Most reports one ListDrift returns: each one is an object store read. */
export const MAX_DRIFT_LIMIT = 200;
/** Report bodies read from the object store at once. */
const READS_IN_FLIGHT = 8;

/** A validated ListDrift request. */
export type DriftQuery = { pipeline: string; source?: DriftSource; limit: number };

/**
 * Checks a ListDrift request field by field.
 * @throws InvalidInputError naming the field (in `details.field`) and what it accepts.
 */
export function driftQuery(req: Pick<ListDriftRequest, 'pipeline' | 'limit' | 'source'>): DriftQuery {
  if (!req.pipeline) throw new InvalidInputError('pipeline is required', { details: { field: 'pipeline' } });
  if (!isPipelineName(req.pipeline)) {
    throw new InvalidInputError(`pipeline: '${req.pipeline.slice(0, 80)}' is not a pipeline name (lower-case letters, digits and dashes, starting with a letter)`, { details: { field: 'pipeline' } });
  }
  if (!Number.isInteger(req.limit) || req.limit < 0 || req.limit > MAX_DRIFT_LIMIT) {
    throw new InvalidInputError(`limit must be between 1 and ${MAX_DRIFT_LIMIT} (0 means ${DEFAULT_DRIFT_LIMIT}), got ${req.limit}`, { details: { field: 'limit' } });
  }
  if (req.source !== '' && req.source !== 'training' && req.source !== 'live') {
    throw new InvalidInputError(`source must be 'training', 'live' or empty (both), got '${req.source.slice(0, 80)}'`, { details: { field: 'source' } });
  }
  return { pipeline: req.pipeline, source: req.source || undefined, limit: req.limit || DEFAULT_DRIFT_LIMIT };
}

/** The columns of a stored report body; none when the object is gone (the row still says what was decided). */
async function bodyOf(store: Pick<ArtifactStore, 'get'>, key: string): Promise<{ columns: StoredColumn[]; bytes: Buffer }> {
  try {
    const bytes = await store.get(key);
    const body = JSON.parse(bytes.toString('utf8')) as { columns?: StoredColumn[] };
    return { columns: body.columns ?? [], bytes };
  } catch (e) {
    if (isNotFound(e)) return { columns: [], bytes: Buffer.alloc(0) };
    throw e;
  }
}

async function reportOf(store: Pick<ArtifactStore, 'get' | 'bucket'>, row: DriftRow): Promise<DriftReport> {
  const { columns, bytes } = await bodyOf(store, row.report_key);
  // The tables keep only the key; the bytes just read give the rest of the reference.
  const ref = { bucket: store.bucket, key: row.report_key, sha256: bytes.length ? createHash('sha256').update(bytes).digest('hex') : '', size: bytes.length };
  const header = {
    source: row.source,
    pipeline: row.pipeline,
    runId: row.run_id,
    referenceRunId: row.reference_run_id,
    status: row.status,
    share: row.share,
    version: row.version,
    windowEnd: row.window_end ?? undefined,
  };
  return driftReportMessage(header, columns, ref);
}

/**
 * The newest drift reports of a pipeline (training, live or both), newest first, each rebuilt as
 * the `drift.report` it was published as: the row from the database, the columns (with their
 * histograms) from the stored body. An unknown pipeline has no rows: an empty list.
 */
export async function listDriftReports({ pool, store }: { pool: pg.Pool; store: Pick<ArtifactStore, 'get' | 'bucket'> }, q: DriftQuery): Promise<DriftReport[]> {
  const rows = await listDrift(pool, q);
  const out: DriftReport[] = new Array<DriftReport>(rows.length);
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const i = next++;
      out[i] = await reportOf(store, rows[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, rows.length) }, worker));
  return out;
}
