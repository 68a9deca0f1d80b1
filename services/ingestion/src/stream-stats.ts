import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { NatsConnection } from 'nats';
import type { GetStreamStatsResponseSchema } from '@refit/contracts';
import { NotFoundError, type PgPool } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { backlogOf, durableOf } from './stream-jetstream.js';
import { getStreamSource, recentCounts } from './stream-store.js';

/** The window rows/s and labels/s are measured over, in seconds. */
const RATE_WINDOW_S = 60;

/**
 * A pipeline's stream source as GetStreamStats answers it: totals from Postgres (so any replica
 * answers the same), rates over the last minute of committed segments, and the consumer's lag.
 * @throws NotFoundError when the pipeline's spec declares no stream source.
 */
export async function streamStats(deps: { pool: PgPool; nc: NatsConnection }, spec: PipelineSpec): Promise<MessageInitShape<typeof GetStreamStatsResponseSchema>> {
  const src = spec.data.source?.stream;
  if (!src) {
    throw new NotFoundError(`pipeline '${spec.name}' has no stream source: declare data.source.stream.subject in its spec and apply it again`, { details: { pipeline: spec.name } });
  }
  const base = { pipeline: spec.name, subject: src.subject, labelsSubject: src.labels };
  const s = await getStreamSource(deps.pool, spec.name);
  // Applied, but no replica has started reading yet: all zero.
  if (!s) return base;
  const recent = await recentCounts(deps.pool, spec.name, RATE_WINDOW_S);
  const backlog = await backlogOf(await deps.nc.jetstreamManager(), s.stream, durableOf(spec.name)).catch(() => undefined);
  return {
    ...base,
    rowsAccepted: BigInt(s.rows_accepted),
    rowsQuarantined: BigInt(s.rows_quarantined),
    labelsJoined: BigInt(s.labels_joined),
    labelsQuarantined: BigInt(s.labels_quarantined),
    rowsAwaitingLabel: BigInt(s.rows_awaiting_label),
    rowsPerSecond: recent.rows / RATE_WINDOW_S,
    labelsPerSecond: recent.labels / RATE_WINDOW_S,
    lag: BigInt(backlog?.lag ?? 0),
    segments: BigInt(s.segments),
    lastSegmentAt: s.last_segment_at ? timestampFromDate(s.last_segment_at) : undefined,
    // NATS 2.9 does not count publishes a full stream refused; the fill ratio (metrics) shows when it does.
    refused: 0n,
  };
}
