/** ListWindows: a pipeline's recent monitoring windows, as they were published. */
import { fromBinary } from '@bufbuild/protobuf';
import { EVENTS, InvalidInputError, type PgPool } from '@refit/platform';
import type { MonitoringWindow } from '@refit/contracts';

/** Most windows one call returns. */
export const WINDOWS_MAX = 500;
const WINDOWS_DEFAULT = 50;

/** The checked arguments of a ListWindows call. */
export function windowQuery(req: { pipeline: string; limit: number; version: string }): { pipeline: string; limit: number; version?: string } {
  if (!req.pipeline) throw new InvalidInputError('ListWindowsRequest: pipeline is required', { details: { field: 'pipeline' } });
  if (req.pipeline.length > 200) throw new InvalidInputError(`ListWindowsRequest: pipeline is ${req.pipeline.length} characters long; at most 200`, { details: { field: 'pipeline' } });
  if (!Number.isInteger(req.limit) || req.limit < 0 || req.limit > WINDOWS_MAX) {
    throw new InvalidInputError(`ListWindowsRequest: limit is ${req.limit}; expected 1 to ${WINDOWS_MAX} (0 means ${WINDOWS_DEFAULT})`, { details: { field: 'limit' } });
  }
  if (req.version.length > 200) throw new InvalidInputError(`ListWindowsRequest: version is ${req.version.length} characters long; at most 200`, { details: { field: 'version' } });
  return { pipeline: req.pipeline, limit: req.limit || WINDOWS_DEFAULT, version: req.version || undefined };
}

/** The newest `limit` windows of a pipeline (of one version, when given), newest first. */
export async function listWindows(pool: PgPool, q: { pipeline: string; limit: number; version?: string }): Promise<MonitoringWindow[]> {
  const { rows } = await pool.query<{ message: Buffer }>(
    'select message from monitoring_windows where pipeline = $1 and ($2::text is null or version = $2) order by id desc limit $3',
    [q.pipeline, q.version ?? null, q.limit],
  );
  return rows.map((r) => fromBinary(EVENTS.monitoringWindow.schema, r.message));
}
