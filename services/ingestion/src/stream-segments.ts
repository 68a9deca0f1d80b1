import { randomBytes } from 'node:crypto';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { EVENTS, wireRef, withTransaction, type ArtifactStore, type PgPool, type ServiceRuntime } from '@refit/platform';
import type { SegmentBuffer } from './stream-buffer.js';
import { joinSegment } from './stream-join.js';
import { orphanLabels, pendingRows, recordSegment } from './stream-store.js';

/** Where a pipeline's source stands: the last committed segment and sequence, and the rules it reads by. */
export type SourcePosition = {
  pipeline: string;
  specVersion: number;
  /** The applied spec (JSON) whose schema checks the rows; the learner reads its options from it. */
  specJson: string;
  segments: number;
  lastSequence: number;
  labelWaitHours: number;
  orphanWaitMs: number;
  maxOrphans: number;
};

/** What a segment's write needs. */
export type SegmentDeps = {
  pool: PgPool;
  store: ArtifactStore;
  publish: ServiceRuntime['publish'];
  /** Wakes the outbox relay after a commit. */
  kick: () => void;
  /** Called between the objects' upload and the commit (tests stop the service there). */
  beforeCommit?: (pipeline: string, segment: number) => Promise<void>;
};

/** What a persisted segment held. */
export type WrittenSegment = { segment: number; lastSequence: number; rowsAccepted: number; rowsQuarantined: number; labelsJoined: number; labelsQuarantined: number; rowsExpired: number };

const text = (lines: string[]): string => (lines.length === 0 ? '' : `${lines.join('\n')}\n`);

/**
 * Persists the open segment as segment `segments + 1`: joins its rows and labels with what waits
 * in Postgres, puts its objects (accepted rows, labeled rows) under a fresh key, then in ONE
 * transaction records the segment, the join's changes, quarantine and the `stream.segment` event.
 * An attempt that fails before the commit leaves only unnamed objects; the caller reads the same
 * messages again and writes the segment anew.
 */
export async function writeSegment(deps: SegmentDeps, at: SourcePosition, buf: SegmentBuffer): Promise<WrittenSegment> {
  const { pipeline } = at;
  const ids = [...new Set([...buf.rows.map((r) => r.id), ...buf.labels.map((l) => l.id)])];
  const [pending, orphans] = await Promise.all([pendingRows(deps.pool, pipeline, ids), orphanLabels(deps.pool, pipeline, ids)]);
  const j = joinSegment(buf, pending, orphans);
  const segment = at.segments + 1;
  // A fresh key per attempt: a retried segment may hold other joins than an abandoned attempt.
  const prefix = `pipelines/${pipeline}/stream/segments/${String(segment).padStart(10, '0')}-${randomBytes(4).toString('hex')}`;
  const [rows, labeled] = await Promise.all([
    deps.store.put(`${prefix}/rows.jsonl`, text(j.rowLines), { contentType: 'application/x-ndjson' }),
    j.labeledLines.length > 0 ? deps.store.put(`${prefix}/labeled.jsonl`, text(j.labeledLines), { contentType: 'application/x-ndjson' }) : undefined,
  ]);
  await deps.beforeCommit?.(pipeline, segment);
  const closedAt = new Date();
  const done = await withTransaction(deps.pool, async (tx) => {
    const r = await recordSegment(tx, {
      pipeline,
      segment,
      after: { segments: at.segments, lastSequence: at.lastSequence },
      firstSequence: buf.firstSequence,
      lastSequence: buf.lastSequence,
      rows,
      labeled,
      rowsAccepted: j.rowsAccepted,
      labelsJoined: j.labeledLines.length,
      specVersion: at.specVersion,
      openedAt: buf.openedAt,
      pending: j.pending,
      joinedPending: j.joinedPending,
      joinedOrphans: j.joinedOrphans,
      orphans: j.orphans,
      rowsQuarantined: j.rowsQuarantined,
      labelsQuarantined: j.labelsQuarantined,
      labelWaitHours: at.labelWaitHours,
      orphanWaitMs: at.orphanWaitMs,
      maxOrphans: at.maxOrphans,
    });
    await deps.publish(tx, EVENTS.streamSegment, {
      pipeline,
      segment: BigInt(segment),
      rows: wireRef(rows),
      labeled: labeled ? wireRef(labeled) : undefined,
      rowsAccepted: BigInt(j.rowsAccepted),
      rowsQuarantined: BigInt(j.rowsQuarantined.length),
      labelsJoined: BigInt(j.labeledLines.length),
      labelsQuarantined: BigInt(r.labelsQuarantined),
      openedAt: timestampFromDate(buf.openedAt),
      closedAt: timestampFromDate(closedAt),
      firstSequence: BigInt(buf.firstSequence),
      lastSequence: BigInt(buf.lastSequence),
      specVersion: at.specVersion,
      specJson: at.specJson,
    });
    return r;
  });
  deps.kick();
  return {
    segment,
    lastSequence: buf.lastSequence,
    rowsAccepted: j.rowsAccepted,
    rowsQuarantined: j.rowsQuarantined.length,
    labelsJoined: j.labeledLines.length,
    labelsQuarantined: done.labelsQuarantined,
    rowsExpired: done.rowsExpired,
  };
}
