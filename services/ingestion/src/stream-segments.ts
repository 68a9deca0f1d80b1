import { randomBytes } from 'node:crypto';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { EVENTS, wireRef, withTransaction, type ArtifactStore, type Logger, type PgPool, type ServiceRuntime } from '@refit/platform';
import type { SegmentBuffer } from './stream-buffer.js';
import { joinSegment, type PredictedRow } from './stream-join.js';
import { joinedPredictionIds, orphanLabels, pendingRows, recordSegment, type OrphanLabel, type PendingRow } from './stream-store.js';

/** Most prediction ids one look-up names (what the deployer's GetPredictedRows takes at most). */
export const MAX_PREDICTION_IDS = 10_000;
/** Labels waiting for their rows looked up again per segment at most (the oldest after the last ones looked up). */
const RETRIED_PER_SEGMENT = 10_000;
/** A prediction id as the deployer's Predict answers it. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The rows of predictions by id (at most {@link MAX_PREDICTION_IDS} a call), checked as stream
 * rows are, keyed by the lower-case id; ids the deployer does not know for the pipeline are absent.
 * Throws when the deployer cannot answer.
 */
export type PredictedRowsLookup = (pipeline: string, ids: readonly string[]) => Promise<ReadonlyMap<string, PredictedRow>>;

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
  /**
   * The stream sequence after which waiting labels named by prediction ids are looked up next (the
   * look-ups go round them, {@link RETRIED_PER_SEGMENT} a segment); in memory only. Default 0.
   */
  retryAfter?: number;
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
  /**
   * Looks up the rows of predictions that labels name by prediction id (the deployer's
   * GetPredictedRows). Default none: labels join rows of the stream only.
   */
  predictedRows?: PredictedRowsLookup;
  /** Most ids one look-up asks for (at most {@link MAX_PREDICTION_IDS}, the deployer's limit). Default that. */
  lookupBatch?: number;
  /** Told when a look-up failed (the labels wait, and are looked up again with a later segment). */
  logger?: Logger;
};

/** What a persisted segment held. */
export type WrittenSegment = {
  segment: number;
  lastSequence: number;
  rowsAccepted: number;
  rowsQuarantined: number;
  labelsJoined: number;
  labelsQuarantined: number;
  rowsExpired: number;
  /** Where the next segment's look-up of waiting labels starts (see {@link SourcePosition.retryAfter}). */
  retryAfter: number;
};

const text = (lines: string[]): string => (lines.length === 0 ? '' : `${lines.join('\n')}\n`);

/**
 * Persists the open segment as segment `segments + 1`: joins its rows and labels with what waits
 * in Postgres, puts its objects (accepted rows, labeled rows) under a fresh key, then in ONE
 * transaction records the segment, the join's changes, quarantine and the `stream.segment` event.
 * Labels named by a prediction id (no row of the segment nor a pending one) are joined to the row
 * the prediction was made from, looked up before anything is written.
 * An attempt that fails before the commit leaves only unnamed objects; the caller reads the same
 * messages again and writes the segment anew.
 */
export async function writeSegment(deps: SegmentDeps, at: SourcePosition, buf: SegmentBuffer): Promise<WrittenSegment> {
  const { pipeline } = at;
  const ids = [...new Set([...buf.rows.map((r) => r.id), ...buf.labels.map((l) => l.id)])];
  const [pending, named] = await Promise.all([pendingRows(deps.pool, pipeline, ids), orphanLabels(deps.pool, pipeline, ids)]);
  const { orphans, predicted, retryAfter } = await lookUpPredictions(deps, at, buf, pending, named);
  const j = joinSegment(buf, pending, orphans, predicted);
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
      joinedPredictions: [...predicted].filter(([, p]) => !('problem' in p)).map(([id]) => id.toLowerCase()),
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
    retryAfter,
  };
}

/**
 * The labels waiting for their rows named by prediction ids, oldest first after sequence `after`,
 * at most `limit`.
 */
async function waitingPredictionLabels(pool: PgPool, pipeline: string, after: number, limit: number): Promise<OrphanLabel[]> {
  const r = await pool.query<{ id: string; label: unknown; label_at: Date; sequence: string; raw: string }>(
    `select id, label, label_at, sequence, raw from stream_orphan_labels
      where pipeline = $1 and sequence > $2 and id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      order by sequence limit $3`,
    [pipeline, after, limit],
  );
  return r.rows.map((o) => ({ id: o.id, label: o.label, labelAt: o.label_at.toISOString(), sequence: Number(o.sequence), raw: o.raw }));
}

/**
 * Finds the rows of predictions that labels name: the segment's labels, and those waiting for
 * their rows (the ones the segment names, and up to {@link RETRIED_PER_SEGMENT} others, going
 * round them segment after segment), whose ids look like prediction ids and name no row of the
 * segment nor a pending one, asked for in calls of at most {@link MAX_PREDICTION_IDS}. A look-up
 * that fails finds nothing (logged): the labels wait as any label without its row does, and are
 * looked up again with a later segment while they wait. Returns the waiting labels to join
 * (oldest first) with the rows found, keyed by the labels' ids.
 */
async function lookUpPredictions(
  deps: SegmentDeps,
  at: SourcePosition,
  buf: SegmentBuffer,
  pending: ReadonlyMap<string, PendingRow>,
  named: Map<string, OrphanLabel>,
): Promise<{ orphans: ReadonlyMap<string, OrphanLabel>; predicted: ReadonlyMap<string, PredictedRow>; retryAfter: number }> {
  const lookup = deps.predictedRows;
  if (!lookup) return { orphans: named, predicted: new Map(), retryAfter: 0 };
  const retried = await waitingPredictionLabels(deps.pool, at.pipeline, at.retryAfter ?? 0, RETRIED_PER_SEGMENT);
  const retryAfter = retried.length === RETRIED_PER_SEGMENT ? retried[retried.length - 1].sequence : 0;
  const rows = new Set(buf.rows.map((r) => r.id));
  const candidates = [...new Set([...buf.labels.map((l) => l.id), ...named.keys(), ...retried.map((o) => o.id)])].filter((id) => UUID.test(id) && !rows.has(id) && !pending.has(id));
  // A prediction whose label was joined already is not joined again (a second label waits, as a
  // second label for a row whose label came does, and expires with the reason).
  const lower = [...new Set(candidates.map((id) => id.toLowerCase()))];
  const done = await joinedPredictionIds(deps.pool, at.pipeline, lower);
  const asked = lower.filter((id) => !done.has(id));
  const found = new Map<string, PredictedRow>();
  const batch = Math.min(MAX_PREDICTION_IDS, Math.max(1, deps.lookupBatch ?? MAX_PREDICTION_IDS));
  for (let i = 0; i < asked.length; i += batch) {
    const part = asked.slice(i, i + batch);
    try {
      for (const [id, row] of await lookup(at.pipeline, part)) found.set(id, row);
    } catch (err) {
      deps.logger?.warn({ err, pipeline: at.pipeline, ids: asked.length - i }, 'could not look up the predictions that labels name; the labels wait for their rows and are looked up again with a later segment');
      break;
    }
  }
  const predicted = new Map(candidates.flatMap((id) => {
    const p = found.get(id.toLowerCase());
    return p ? [[id, p] as const] : [];
  }));
  // Waiting labels the segment does not name join only when their predictions were found.
  const joining = retried.filter((o) => !named.has(o.id) && predicted.has(o.id));
  const orphans = joining.length === 0 ? named : new Map([...named, ...joining.map((o) => [o.id, o] as const)].sort(([, a], [, b]) => a.sequence - b.sequence));
  return { orphans, predicted, retryAfter };
}
