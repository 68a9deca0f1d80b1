import { dateMs } from '@refit/modeling';
import type { ColumnSpec, PipelineSpec } from '@refit/spec';
import { CsvReader } from '../../services/ingestion/src/csv-reader.js';
import { JsonlReader } from '../../services/ingestion/src/jsonl-reader.js';
import { mapHeader } from '../../services/ingestion/src/validate.js';
import { ReplayInputError } from './args.js';

/** How one file's fields map to the schema's columns. */
export type Layout = { source: string; indexes: readonly number[]; fieldCount: number };

/** One record of the history, as the ingestion service reads it, with its time (ms). */
export type TimedRecord = { fields: ReadonlyArray<string | undefined>; raw: string; line: number; t: number; layout: Layout };

/** A file's records, and those left out before the replay (no readable time, unreadable line). */
export type FileRecords = { records: TimedRecord[]; untimed: number; unreadable: number };

/** A data file's text and where it came from. */
export type DataFile = { name: string; text: string };

/**
 * The records of a CSV or JSON-lines file, read by the ingestion service's own readers against
 * the spec's columns, each with the time of its `schema.timestamp` cell. A record without a
 * readable time cannot be placed in a period: it is counted, not replayed.
 */
export function readRecords(file: DataFile, spec: PipelineSpec): FileRecords {
  const columns: ColumnSpec[] = spec.schema.columns;
  const ts = spec.schema.timestamp;
  if (!ts) throw new ReplayInputError(`spec '${spec.name}': replay orders the history by schema.timestamp; declare it`);
  const at = columns.findIndex((c) => c.name === ts);
  const bytes = Buffer.from(file.text, 'utf8');
  const out: FileRecords = { records: [], untimed: 0, unreadable: 0 };
  const place = (fields: ReadonlyArray<string | undefined>, raw: string, line: number, layout: Layout) => {
    const t = dateMs((fields[layout.indexes[at]] ?? '').trim());
    if (Number.isFinite(t)) out.records.push({ fields, raw, line, t, layout });
    else out.untimed++;
  };
  if (/\.csv$/i.test(file.name)) {
    const reader = new CsvReader();
    const recs = [...reader.feed(bytes), ...reader.feed(undefined)];
    const [header, ...rest] = recs;
    if (!header) throw new ReplayInputError(`${file.name}: the file is empty`);
    const { indexes, missing } = mapHeader(header.fields, columns);
    if (missing.length > 0) throw new ReplayInputError(`${file.name}: column(s) ${missing.join(', ')} of spec '${spec.name}' missing from the CSV header`);
    const layout = { source: file.name, indexes, fieldCount: header.fields.length };
    for (const r of rest) place(r.fields, r.raw, r.line, layout);
    if (reader.error) out.unreadable++;
    return out;
  }
  const reader = new JsonlReader(columns.map((c) => c.name));
  const layout = { source: file.name, indexes: columns.map((_, j) => j), fieldCount: columns.length };
  for (const r of [...reader.feed(bytes), ...reader.feed(undefined)]) {
    if ('problem' in r) out.unreadable++;
    else place(r.fields, r.raw, r.line, layout);
  }
  if (reader.error) out.unreadable++;
  return out;
}

/** Every file's records in time order (ties keep file order), and what was left out. */
export function historyOf(files: readonly DataFile[], spec: PipelineSpec): FileRecords {
  const all = files.map((f) => readRecords(f, spec));
  const records = all.flatMap((r) => r.records);
  // A stable sort: rows of the same instant keep the order they were given in.
  records.sort((a, b) => a.t - b.t);
  return { records, untimed: all.reduce((s, r) => s + r.untimed, 0), unreadable: all.reduce((s, r) => s + r.unreadable, 0) };
}
