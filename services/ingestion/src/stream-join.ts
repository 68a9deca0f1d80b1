import type { SegmentBuffer } from './stream-buffer.js';
import type { StreamProblem } from './stream-parse.js';
import type { OrphanLabel, PendingRow, StreamQuarantined } from './stream-store.js';

/**
 * The row of a prediction a label names by its prediction id, as the deployer logged it and checked
 * as a stream row is (`row`: the typed row's JSON; `at`: when it was predicted), or why it cannot
 * be one.
 */
export type PredictedRow = { row: string; at: string; version: string } | { problem: StreamProblem };

/** What joining a segment's rows and labels yields, ready to persist. */
export type JoinedSegment = {
  /** Accepted rows, JSON lines `{"id","at","row"}` in stream order. */
  rowLines: string[];
  rowsAccepted: number;
  /**
   * Labeled rows, JSON lines `{"id","at","labelAt","row","label"}` in the order their labels came;
   * a row a prediction was made from adds `"source":"prediction","version"` (the version that scored it).
   */
  labeledLines: string[];
  /** Accepted rows still waiting for their labels. */
  pending: Array<{ id: string; json: string; at: string; seenAt: string }>;
  /** Ids whose earlier pending rows, or earlier waiting labels, were joined (or quarantined: a predicted row that failed its checks). */
  joinedPending: string[];
  joinedOrphans: string[];
  /** Labels whose rows have not come yet. */
  orphans: Array<{ id: string; label: string; labelAt: string; sequence: number; raw: string; seenAt: string }>;
  rowsQuarantined: StreamQuarantined[];
  labelsQuarantined: StreamQuarantined[];
};

const rowLine = (id: string, at: string, row: string): string => `{"id":${JSON.stringify(id)},"at":"${at}","row":${row}}`;
const labeledLine = (id: string, at: string, labelAt: string, row: string, label: string): string =>
  `{"id":${JSON.stringify(id)},"at":"${at}","labelAt":"${labelAt}","row":${row},"label":${label}}`;
const predictedLine = (id: string, p: { row: string; at: string; version: string }, labelAt: string, label: string): string =>
  `{"id":${JSON.stringify(id)},"at":"${p.at}","labelAt":"${labelAt}","row":${p.row},"label":${label},"source":"prediction","version":${JSON.stringify(p.version)}}`;
/** The quarantine entry of a label whose predicted row failed the row checks. */
const predictedProblem = (id: string, sequence: number, raw: string, p: StreamProblem): StreamQuarantined => ({
  sequence,
  column: p.column,
  expected: p.expected,
  value: p.value,
  message: `the row of prediction '${id}' (the label's id) does not pass the row checks: ${p.message}`,
  raw,
});

/**
 * Joins a segment's rows and labels with what waits in Postgres: `pending` (rows of earlier
 * segments awaiting labels, among the ids the segment names) and `orphans` (labels that came before
 * their rows, oldest first). A row whose id is still awaiting its label is a duplicate and is
 * quarantined; a label joins the row of its id (this segment's or a pending one) once; a second
 * label for the same row, or for an id whose label already waits, is quarantined; a label for an
 * id not seen yet waits for its row. `predicted` holds the rows of predictions named by labels
 * (this segment's, or waiting ones) whose ids are no row here nor pending: such a label joins the
 * row the prediction was made from, or is quarantined when that row fails its checks.
 */
export function joinSegment(
  buf: SegmentBuffer,
  pending: ReadonlyMap<string, PendingRow>,
  orphans: ReadonlyMap<string, OrphanLabel>,
  predicted: ReadonlyMap<string, PredictedRow> = new Map(),
): JoinedSegment {
  const rowsQuarantined = [...buf.rowsQuarantined];
  const labelsQuarantined = [...buf.labelsQuarantined];
  const rows = new Map<string, { at: string; json: string; seenAt: string }>();
  const rowLines: string[] = [];
  for (const r of buf.rows) {
    if (pending.has(r.id)) {
      rowsQuarantined.push({ sequence: r.seq, column: 'id', expected: 'a unique id', value: r.id, message: `id '${r.id}' already names a row awaiting its label; a row id must be unique`, raw: r.json });
      continue;
    }
    rows.set(r.id, r);
    rowLines.push(rowLine(r.id, r.at, r.json));
  }
  const labeledLines: string[] = [];
  const labeled = new Set<string>();
  const joinedPending: string[] = [];
  const joinedOrphans: string[] = [];
  for (const o of orphans.values()) {
    const r = rows.get(o.id);
    const p = r ? undefined : predicted.get(o.id);
    if (r) labeledLines.push(labeledLine(o.id, r.at, o.labelAt, r.json, JSON.stringify(o.label)));
    else if (p && 'problem' in p) labelsQuarantined.push(predictedProblem(o.id, o.sequence, o.raw, p.problem));
    else if (p) labeledLines.push(predictedLine(o.id, p, o.labelAt, JSON.stringify(o.label)));
    else continue;
    labeled.add(o.id);
    if (p) labeled.add(o.id.toLowerCase());
    joinedOrphans.push(o.id);
  }
  const waiting = new Map<string, JoinedSegment['orphans'][number]>();
  const refuse = (l: (typeof buf.labels)[number], message: string): void => {
    labelsQuarantined.push({ sequence: l.seq, column: 'id', expected: 'one label per row', value: l.id, message, raw: l.raw });
  };
  for (const l of buf.labels) {
    const label = JSON.stringify(l.label);
    if (labeled.has(l.id)) {
      refuse(l, `the row with id '${l.id}' was labeled already in this segment; a row takes one label`);
      continue;
    }
    const r = rows.get(l.id);
    const p = r ? undefined : pending.get(l.id);
    if (r || p) {
      labeledLines.push(r ? labeledLine(l.id, r.at, l.at, r.json, label) : labeledLine(l.id, p?.at ?? l.at, l.at, p?.row ?? 'null', label));
      labeled.add(l.id);
      if (p) joinedPending.push(l.id);
      continue;
    }
    if (orphans.has(l.id) || waiting.has(l.id)) {
      refuse(l, `a label for id '${l.id}' is already waiting for its row; a row takes one label`);
      continue;
    }
    const q = predicted.get(l.id);
    if (q) {
      // A prediction id names its prediction in either case.
      if (labeled.has(l.id.toLowerCase())) {
        refuse(l, `the prediction '${l.id}' was labeled already in this segment; a row takes one label`);
        continue;
      }
      if ('problem' in q) {
        labelsQuarantined.push(predictedProblem(l.id, l.seq, l.raw, q.problem));
        continue;
      }
      labeledLines.push(predictedLine(l.id, q, l.at, label));
      labeled.add(l.id);
      labeled.add(l.id.toLowerCase());
      continue;
    }
    waiting.set(l.id, { id: l.id, label, labelAt: l.at, sequence: l.seq, raw: l.raw, seenAt: l.seenAt });
  }
  const pendingOut = [...rows].filter(([id]) => !labeled.has(id)).map(([id, r]) => ({ id, json: r.json, at: r.at, seenAt: r.seenAt }));
  return { rowLines, rowsAccepted: rows.size, labeledLines, pending: pendingOut, joinedPending, joinedOrphans, orphans: [...waiting.values()], rowsQuarantined, labelsQuarantined };
}
