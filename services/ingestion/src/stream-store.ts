import type pg from 'pg';
import { ConflictError } from '@refit/platform';
import { printable } from './pg-text.js';

type Q = pg.Pool | pg.PoolClient;

/** How far a pipeline's stream was read, and its totals. */
export type StreamSourceRow = {
  pipeline: string;
  stream: string;
  subject: string;
  labels_subject: string;
  last_sequence: string;
  segments: string;
  rows_accepted: string;
  rows_quarantined: string;
  labels_joined: string;
  labels_quarantined: string;
  rows_expired: string;
  rows_awaiting_label: string;
  last_segment_at: Date | null;
};

/** The stream source state of a pipeline, if it ever ran. */
export async function getStreamSource(db: Q, pipeline: string): Promise<StreamSourceRow | undefined> {
  return (await db.query<StreamSourceRow>('select * from stream_sources where pipeline = $1', [pipeline])).rows[0];
}

/** Records (or updates) which stream and subjects a pipeline's source reads; returns its state. */
export async function upsertStreamSource(db: Q, s: { pipeline: string; stream: string; subject: string; labelsSubject: string }): Promise<StreamSourceRow> {
  const r = await db.query<StreamSourceRow>(
    `insert into stream_sources (pipeline, stream, subject, labels_subject) values ($1, $2, $3, $4)
     on conflict (pipeline) do update set stream = excluded.stream, subject = excluded.subject, labels_subject = excluded.labels_subject
     returning *`,
    [s.pipeline, s.stream, s.subject, s.labelsSubject],
  );
  return r.rows[0];
}

/**
 * Starts a source's position over at sequence 0, its segment count kept: the stream it reads was
 * deleted and created again, so its sequences restarted below what was committed.
 */
export async function rebaseStreamSource(db: Q, pipeline: string, from: number): Promise<void> {
  await db.query('update stream_sources set last_sequence = 0 where pipeline = $1 and last_sequence = $2', [pipeline, from]);
}

/** A row awaiting its label. */
export type PendingRow = { row: string; at: string };
/** A label that came before its row. */
export type OrphanLabel = { id: string; label: unknown; labelAt: string; sequence: number; raw: string };

/** The rows awaiting a label among `ids`. */
export async function pendingRows(db: Q, pipeline: string, ids: readonly string[]): Promise<Map<string, PendingRow>> {
  if (ids.length === 0) return new Map();
  const r = await db.query<{ id: string; row: string; at: Date }>(
    'select id, row, at from stream_pending where pipeline = $1 and id in (select json_array_elements_text($2::json))',
    [pipeline, JSON.stringify(ids)],
  );
  return new Map(r.rows.map((p) => [p.id, { row: p.row, at: p.at.toISOString() }]));
}

/** The labels waiting for their rows among `ids`, oldest first. */
export async function orphanLabels(db: Q, pipeline: string, ids: readonly string[]): Promise<Map<string, OrphanLabel>> {
  if (ids.length === 0) return new Map();
  const r = await db.query<{ id: string; label: unknown; label_at: Date; sequence: string; raw: string }>(
    'select id, label, label_at, sequence, raw from stream_orphan_labels where pipeline = $1 and id in (select json_array_elements_text($2::json)) order by sequence',
    [pipeline, JSON.stringify(ids)],
  );
  return new Map(r.rows.map((o) => [o.id, { id: o.id, label: o.label, labelAt: o.label_at.toISOString(), sequence: Number(o.sequence), raw: o.raw }]));
}

/** One quarantined stream message: its stream sequence and the reason. */
export type StreamQuarantined = { sequence: number; column: string; expected: string; value: string; message: string; raw: string };

/** Everything one segment changes, written in its transaction. */
export type SegmentRecord = {
  pipeline: string;
  segment: number;
  /** The segment count and last sequence this one follows: refused when another writer moved them. */
  after: { segments: number; lastSequence: number };
  firstSequence: number;
  lastSequence: number;
  rows: { key: string; sha256: string; size: number };
  labeled: { key: string; sha256: string; size: number } | undefined;
  rowsAccepted: number;
  labelsJoined: number;
  specVersion: number;
  openedAt: Date;
  /** Rows left awaiting their label. */
  pending: Array<{ id: string; json: string; at: string; seenAt: string }>;
  /** Ids whose pending rows and waiting labels were joined. */
  joinedPending: string[];
  joinedOrphans: string[];
  /** Prediction ids (lower case) whose label this segment joined to the predicted row. */
  joinedPredictions: string[];
  /** Labels left waiting for their rows. */
  orphans: Array<{ id: string; label: string; labelAt: string; sequence: number; raw: string; seenAt: string }>;
  rowsQuarantined: StreamQuarantined[];
  labelsQuarantined: StreamQuarantined[];
  /** Limits on what waits: rows expire after `labelWaitHours`; labels after `orphanWaitMs` or past `maxOrphans`. */
  labelWaitHours: number;
  orphanWaitMs: number;
  maxOrphans: number;
};

/** Stores quarantined stream messages under their segment (`line`: the stream sequence). */
async function insertStreamQuarantine(tx: pg.PoolClient, pipeline: string, segment: number, entries: StreamQuarantined[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 1000) {
    const part = entries.slice(i, i + 1000);
    await tx.query(
      `insert into quarantine (pipeline, segment, line, column_name, expected, value, message, raw)
       select $1, $2, * from unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
      [
        pipeline,
        segment,
        part.map((q) => q.sequence),
        part.map((q) => printable(q.column)),
        part.map((q) => printable(q.expected)),
        part.map((q) => printable(q.value)),
        part.map((q) => printable(q.message)),
        part.map((q) => printable(q.raw)),
      ],
    );
  }
}

/**
 * Labels that waited too long for their rows (or are past the cap, oldest first), removed and
 * returned as quarantine entries with the reason.
 */
async function expireOrphans(tx: pg.PoolClient, r: SegmentRecord): Promise<StreamQuarantined[]> {
  const { rows } = await tx.query<{ id: string; sequence: string; raw: string; seen_at: Date; over_cap: boolean }>(
    `with ranked as (
       select id, row_number() over (order by seen_at desc, sequence desc) as n, seen_at
       from stream_orphan_labels where pipeline = $1)
     delete from stream_orphan_labels o using ranked
     where o.pipeline = $1 and o.id = ranked.id and (ranked.seen_at < now() - make_interval(secs => $2) or ranked.n > $3)
     returning o.id, o.sequence, o.raw, o.seen_at, ranked.n > $3 as over_cap`,
    [r.pipeline, r.orphanWaitMs / 1000, r.maxOrphans],
  );
  return rows.map((o) => ({
    sequence: Number(o.sequence),
    column: 'id',
    expected: 'the id of a row on the stream',
    value: o.id,
    message: o.over_cap
      ? `no row with id '${o.id}' arrived, and more than ${r.maxOrphans} labels were waiting for their rows (REFIT_STREAM_MAX_ORPHAN_LABELS): the oldest were given up`
      : `no row with id '${o.id}' arrived within ${r.orphanWaitMs / 1000} s of its label (REFIT_STREAM_ORPHAN_LABEL_WAIT_MS), or its row was labeled already`,
    raw: o.raw,
  }));
}

/** Rows expired per segment at most: a large backlog of them goes over several segments. */
const EXPIRE_PER_SEGMENT = 50_000;

/**
 * Records a persisted segment in one transaction: the source's position and totals (refused when
 * another writer moved them since `after`), the segment row, the rows left awaiting labels, the
 * joins, the labels left waiting, expirations and quarantine. Returns the labels quarantined
 * (with those that expired) and the rows that expired.
 * @throws ConflictError when the source moved meanwhile (another replica wrote the segment).
 */
export async function recordSegment(tx: pg.PoolClient, r: SegmentRecord): Promise<{ labelsQuarantined: number; rowsExpired: number }> {
  const { pipeline } = r;
  if (r.joinedPending.length > 0) {
    const d = await tx.query('delete from stream_pending where pipeline = $1 and id = any($2::text[])', [pipeline, r.joinedPending]);
    if (d.rowCount !== r.joinedPending.length) throw new ConflictError(`stream of pipeline '${pipeline}': rows awaiting labels changed while segment ${r.segment} was written`);
  }
  if (r.joinedOrphans.length > 0) await tx.query('delete from stream_orphan_labels where pipeline = $1 and id = any($2::text[])', [pipeline, r.joinedOrphans]);
  if (r.joinedPredictions.length > 0) {
    await tx.query('insert into stream_predicted_joins (pipeline, id, segment) select $1, unnest($2::text[]), $3 on conflict do nothing', [pipeline, r.joinedPredictions, r.segment]);
  }
  if (r.pending.length > 0) {
    // One JSON parameter with the rows' JSON inside as it is (a `json` value keeps its text): pg's
    // escaping of four text arrays cost more than the insert itself.
    const rows = r.pending.map((p) => `{"id":${JSON.stringify(p.id)},"row":${p.json},"at":"${p.at}","seen_at":"${p.seenAt}"}`);
    await tx.query(
      `insert into stream_pending (pipeline, id, row, at, seen_at, segment)
       select $1, p.id, p.row::text, p.at, p.seen_at, $2 from json_to_recordset($3::json) as p(id text, row json, at timestamptz, seen_at timestamptz)`,
      [pipeline, r.segment, `[${rows.join(',')}]`],
    );
  }
  if (r.orphans.length > 0) {
    await tx.query(
      `insert into stream_orphan_labels (pipeline, id, label, label_at, sequence, raw, seen_at)
       select $1, * from unnest($2::text[], $3::jsonb[], $4::timestamptz[], $5::bigint[], $6::text[], $7::timestamptz[])`,
      [pipeline, r.orphans.map((o) => o.id), r.orphans.map((o) => o.label), r.orphans.map((o) => o.labelAt), r.orphans.map((o) => o.sequence), r.orphans.map((o) => printable(o.raw)), r.orphans.map((o) => o.seenAt)],
    );
  }
  const expiredLabels = await expireOrphans(tx, r);
  const expired = await tx.query(
    `delete from stream_pending where pipeline = $1 and id in (
       select id from stream_pending where pipeline = $1 and seen_at < now() - make_interval(secs => $2) limit $3)`,
    [pipeline, r.labelWaitHours * 3600, EXPIRE_PER_SEGMENT],
  );
  const rowsExpired = expired.rowCount ?? 0;
  const labelsQuarantined = [...r.labelsQuarantined, ...expiredLabels];
  const moved = await tx.query(
    `update stream_sources set last_sequence = $4, segments = $5, rows_accepted = rows_accepted + $6, rows_quarantined = rows_quarantined + $7,
       labels_joined = labels_joined + $8, labels_quarantined = labels_quarantined + $9, rows_expired = rows_expired + $10,
       rows_awaiting_label = rows_awaiting_label + $11, last_segment_at = now()
     where pipeline = $1 and segments = $2 and last_sequence = $3`,
    [
      pipeline,
      r.after.segments,
      r.after.lastSequence,
      r.lastSequence,
      r.segment,
      r.rowsAccepted,
      r.rowsQuarantined.length,
      r.labelsJoined,
      labelsQuarantined.length,
      rowsExpired,
      r.pending.length - r.joinedPending.length - rowsExpired,
    ],
  );
  if (moved.rowCount !== 1) throw new ConflictError(`stream of pipeline '${pipeline}' was read past sequence ${r.after.lastSequence} by another reader; segment ${r.segment} is not recorded`);
  await tx.query(
    `insert into stream_segments (pipeline, segment, first_sequence, last_sequence, rows_key, rows_sha256, rows_size, labeled_key, labeled_sha256, labeled_size,
       rows_accepted, rows_quarantined, labels_joined, labels_quarantined, rows_expired, spec_version, opened_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
    [
      pipeline,
      r.segment,
      r.firstSequence,
      r.lastSequence,
      r.rows.key,
      r.rows.sha256,
      r.rows.size,
      r.labeled?.key ?? null,
      r.labeled?.sha256 ?? null,
      r.labeled?.size ?? null,
      r.rowsAccepted,
      r.rowsQuarantined.length,
      r.labelsJoined,
      labelsQuarantined.length,
      rowsExpired,
      r.specVersion,
      r.openedAt,
    ],
  );
  await insertStreamQuarantine(tx, pipeline, r.segment, [...r.rowsQuarantined, ...labelsQuarantined]);
  return { labelsQuarantined: labelsQuarantined.length, rowsExpired };
}

/** Rows accepted and labels joined in segments closed over the last `seconds`. */
export async function recentCounts(db: Q, pipeline: string, seconds: number): Promise<{ rows: number; labels: number }> {
  const r = await db.query<{ rows: string | null; labels: string | null }>(
    `select sum(rows_accepted) as rows, sum(labels_joined) as labels from stream_segments where pipeline = $1 and closed_at > now() - make_interval(secs => $2)`,
    [pipeline, seconds],
  );
  return { rows: Number(r.rows[0]?.rows ?? 0), labels: Number(r.rows[0]?.labels ?? 0) };
}

/** A committed segment as listed. */
export type SegmentRow = { segment: string; first_sequence: string; last_sequence: string; rows_key: string; labeled_key: string | null; rows_accepted: number; rows_quarantined: number; labels_joined: number; labels_quarantined: number };

/** The committed segments of a pipeline, in order. */
export async function listSegments(db: Q, pipeline: string): Promise<SegmentRow[]> {
  return (await db.query<SegmentRow>('select * from stream_segments where pipeline = $1 order by segment', [pipeline])).rows;
}

/** Of these prediction ids (lower case), those whose label was joined already. */
export async function joinedPredictionIds(db: Q, pipeline: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const r = await db.query<{ id: string }>('select id from stream_predicted_joins where pipeline = $1 and id = any($2::text[])', [pipeline, ids]);
  return new Set(r.rows.map((x) => x.id));
}
