import type { StreamProblem } from './stream-parse.js';
import type { StreamQuarantined } from './stream-store.js';
import type { Value } from './validate.js';

/** An accepted row of the open segment: id, event time, typed row JSON, stream sequence, when the stream took it in. */
export type BufferedRow = { id: string; at: string; json: string; seq: number; seenAt: string };
/** A label of the open segment, as it came. */
export type BufferedLabel = { id: string; label: Value; at: string; seq: number; raw: string; seenAt: string };

/**
 * The open segment of a stream: the messages read since the last persisted one, sorted into
 * accepted rows, labels and what was quarantined (a row id met twice in the segment is). Pure
 * bookkeeping: persisting it is stream-segments.ts's.
 */
export class SegmentBuffer {
  /** When the segment was opened (its first message was read). */
  readonly openedAt = new Date();
  /** Stream sequences of the first and last message read into it (a message of another subject included). */
  firstSequence = 0;
  lastSequence = 0;
  /** Messages and bytes read into it. */
  messages = 0;
  bytes = 0;
  readonly rows: BufferedRow[] = [];
  readonly labels: BufferedLabel[] = [];
  readonly rowsQuarantined: StreamQuarantined[] = [];
  readonly labelsQuarantined: StreamQuarantined[] = [];
  readonly #ids = new Map<string, number>();

  /** Counts a message read at stream sequence `seq`. */
  see(seq: number, bytes: number): void {
    if (this.messages === 0) this.firstSequence = seq;
    this.lastSequence = seq;
    this.messages++;
    this.bytes += bytes;
  }

  /** Adds an accepted row; a second row with an id of this segment is quarantined instead. */
  addRow(row: BufferedRow, raw: () => string): void {
    const first = this.#ids.get(row.id);
    if (first === undefined) {
      this.#ids.set(row.id, row.seq);
      this.rows.push(row);
      return;
    }
    this.rowsQuarantined.push({
      sequence: row.seq,
      column: 'id',
      expected: 'a unique id',
      value: row.id,
      message: `id '${row.id}' already names the row at stream sequence ${first}; a row id must be unique`,
      raw: raw(),
    });
  }

  /** Adds a label (joined when the segment is persisted). */
  addLabel(label: BufferedLabel): void {
    this.labels.push(label);
  }

  /** Quarantines a row or label message at `seq`. */
  quarantine(kind: 'row' | 'label', seq: number, p: StreamProblem): void {
    (kind === 'row' ? this.rowsQuarantined : this.labelsQuarantined).push({ sequence: seq, ...p });
  }
}
