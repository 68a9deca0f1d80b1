import { fromBinary, toJson } from '@bufbuild/protobuf';
import { timestampDate, ValueSchema, type Timestamp } from '@bufbuild/protobuf/wkt';
import { StreamLabelSchema, StreamRowSchema } from '@refit/contracts';
import type { ColumnSpec } from '@refit/spec';
import { jsonShape, MAX_JSON_DEPTH, textOf } from './jsonl-reader.js';
import { printable } from './pg-text.js';
import type { RowChecker } from './row-check.js';
import { parseValue, type Value } from './validate.js';

/** Longest row or label id, in characters. */
export const MAX_ID_CHARS = 256;
/** Characters of a refused message kept in quarantine. */
const RAW_KEPT_CHARS = 2000;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Why a message was refused, as a quarantine entry (line: the message's stream sequence). */
export type StreamProblem = { column: string; expected: string; value: string; message: string; raw: string };

/** An accepted row: its id, event time (ISO) and typed row as JSON (columns in schema order). */
export type ParsedRow = { id: string; at: string; json: string };
/** A label that passed its column's checks: the typed value, when it was known (ISO). */
export type ParsedLabel = { id: string; label: Value; at: string };

/** What rows and labels of one pipeline are read against. */
export type StreamSchema = {
  /** The columns a row must carry: the schema's, without the label column (labels arrive later). */
  rowColumns: ColumnSpec[];
  /** The label column, when the schema declares it. */
  label: ColumnSpec | undefined;
  /** A column whose value is the id of a row without `id`. */
  idColumn: string | undefined;
  /** Largest message in bytes. */
  maxBytes: number;
};

const problem = (message: string, expected: string, raw: string, column = '', value = ''): { problem: StreamProblem } => ({
  problem: { column, expected, value: printable(value.slice(0, RAW_KEPT_CHARS)), message, raw: printable(raw.slice(0, RAW_KEPT_CHARS)) },
});

/** A message's JSON object, or why it is not one (depth checked before parsing, keys given twice refused). */
function jsonObject(raw: string): { obj: Record<string, unknown> } | { problem: StreamProblem } {
  const shape = jsonShape(raw);
  if ('tooDeepAt' in shape) return problem(`the message nests JSON more than ${MAX_JSON_DEPTH} levels deep; a row is one object of plain values`, `at most ${MAX_JSON_DEPTH} levels of nesting`, raw);
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch (e) {
    return problem(`the message is not valid JSON: ${printable((e as Error).message)}`, 'a JSON object', raw);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return problem('the message is not a JSON object', 'a JSON object', raw);
  if (Object.keys(obj).length < shape.members) return problem('the message names a key twice; which value is meant is unclear', 'each key once', raw);
  return { obj: obj as Record<string, unknown> };
}

/** The id of a message: a string (or a number) of 1 to 256 characters. */
function idOf(v: unknown, raw: string): { id: string } | { problem: StreamProblem } {
  const id = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
  if (id === undefined || id === '') return problem("the message has no 'id' (a string naming the row)", 'a non-empty string id', raw, 'id', textOf(v) ?? '');
  if (id.length > MAX_ID_CHARS) return problem(`'id' is ${id.length} characters long, over the limit of ${MAX_ID_CHARS}`, `at most ${MAX_ID_CHARS} characters`, raw, 'id', id);
  if (id.includes('\u0000')) return problem("'id' holds a NUL byte, which cannot be stored", 'text without NUL bytes', raw, 'id', id);
  return { id };
}

/** An event time: ISO 8601 text, or `fallback` (when the stream took the message in) when absent. */
function atOf(v: unknown, fallback: string, raw: string, field: string): { at: string } | { problem: StreamProblem } {
  if (v === undefined || v === null || v === '') return { at: fallback };
  const ms = typeof v === 'string' && ISO_TIME.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) return problem(`'${field}' is not an ISO 8601 time`, 'an ISO 8601 time (2024-05-01T12:00:00Z)', raw, field, textOf(v) ?? '');
  return { at: new Date(ms).toISOString() };
}

const isoOf = (t: Timestamp | undefined): string | undefined => (t ? timestampDate(t).toISOString() : undefined);

/**
 * Reads a message's bytes into a JSON object: the JSON form as it is, the protobuf form
 * (`protoRow`/`protoLabel`) turned into the same object. Too large or undecodable is a problem.
 */
function messageObject(data: Uint8Array, form: 'json' | 'row' | 'label', maxBytes: number): { obj: Record<string, unknown>; raw: string } | { problem: StreamProblem } {
  if (data.length > maxBytes) {
    const raw = Buffer.from(data.subarray(0, RAW_KEPT_CHARS)).toString('utf8');
    return problem(`the message is ${data.length} bytes, over the limit of ${maxBytes}`, `at most ${maxBytes} bytes`, raw);
  }
  if (form === 'json') {
    const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    const r = jsonObject(raw);
    return 'problem' in r ? r : { obj: r.obj, raw };
  }
  try {
    if (form === 'row') {
      const m = fromBinary(StreamRowSchema, data);
      const obj: Record<string, unknown> = { ...(m.values ?? {}), id: m.id, at: isoOf(m.at) };
      return { obj, raw: JSON.stringify(obj) };
    }
    const m = fromBinary(StreamLabelSchema, data);
    const obj = { id: m.id, label: m.label ? toJson(ValueSchema, m.label) : undefined, at: isoOf(m.at) };
    return { obj, raw: JSON.stringify(obj) };
  } catch (e) {
    return problem(`the message is not a ${form === 'row' ? 'StreamRow' : 'StreamLabel'} (Content-Type: application/protobuf): ${printable((e as Error).message)}`, `a refit.events.v1.${form === 'row' ? 'StreamRow' : 'StreamLabel'}`, '');
  }
}

/**
 * Reads one row message and checks it with `checker` (the row checks of a pushed batch: types,
 * ranges, nullability, categories, NUL bytes) against `schema.rowColumns`.
 * @param seq - the message's stream sequence (the "line" of what is quarantined).
 * @param seenAt - when the stream took it in (ISO): the row's time when it gives none.
 */
export function readRow(data: Uint8Array, protobuf: boolean, schema: StreamSchema, checker: RowChecker, seq: number, seenAt: string): ParsedRow | { problem: StreamProblem } {
  const m = messageObject(data, protobuf ? 'row' : 'json', schema.maxBytes);
  if ('problem' in m) return m;
  const { obj, raw } = m;
  const idValue = obj.id ?? (schema.idColumn !== undefined && Object.hasOwn(obj, schema.idColumn) ? obj[schema.idColumn] : undefined);
  const id = idOf(idValue, raw);
  if ('problem' in id) return id;
  const at = atOf(obj.at, seenAt, raw, 'at');
  if ('problem' in at) return at;
  const cols = schema.rowColumns;
  const fields = new Array<string | undefined>(cols.length);
  const indexes = new Array<number>(cols.length);
  for (let j = 0; j < cols.length; j++) {
    // Own keys only: a column named 'constructor' must not read Object.prototype's.
    fields[j] = textOf(Object.hasOwn(obj, cols[j].name) ? obj[cols[j].name] : undefined);
    indexes[j] = j;
  }
  const r = checker.check(fields, indexes, cols.length, raw, seq);
  if ('problem' in r) return { problem: { ...r.problem, raw: printable(raw.slice(0, RAW_KEPT_CHARS)) } };
  return { id: id.id, at: at.at, json: r.json };
}

/** Reads one label message and checks its value as the label column of a pushed batch is checked. */
export function readLabel(data: Uint8Array, protobuf: boolean, schema: StreamSchema, seenAt: string): (ParsedLabel & { raw: string }) | { problem: StreamProblem } {
  const m = messageObject(data, protobuf ? 'label' : 'json', schema.maxBytes);
  if ('problem' in m) return m;
  const { obj, raw } = m;
  const id = idOf(obj.id, raw);
  if ('problem' in id) return id;
  const at = atOf(obj.at, seenAt, raw, 'at');
  if ('problem' in at) return at;
  if (!Object.hasOwn(obj, 'label') || obj.label === undefined) return problem("the label message has no 'label'", 'a label value', raw, 'label');
  if (!schema.label) {
    const v = obj.label;
    if (v !== null && typeof v === 'object') return problem("'label' must be a plain value", 'a string, number or boolean', raw, 'label', textOf(v) ?? '');
    return { id: id.id, label: v as Value, at: at.at, raw };
  }
  const parsed = parseValue(schema.label, textOf(obj.label));
  if ('problem' in parsed) return { problem: { ...parsed.problem, raw: printable(raw.slice(0, RAW_KEPT_CHARS)) } };
  if (parsed.value === null) return problem(`'label' is empty: a label of column '${schema.label.name}' is required`, 'a label value', raw, schema.label.name);
  return { id: id.id, label: parsed.value, at: at.at, raw };
}
