import { MAX_RECORD_CHARS, type CsvError } from './csv-reader.js';
import { printable } from './pg-text.js';

/** Deepest nesting of objects and arrays a JSON line may have; a deeper line is a row problem (a row is one object of plain values). */
export const MAX_JSON_DEPTH = 64;

/** Why a JSON line could not be read: the message, what was expected, and the column when one is to blame. */
export type JsonlProblem = { problem: string; expected: string; column: string; raw: string; line: number };

/** One JSON line: its fields as text in column order, or why it could not be read. */
export type JsonlRecord = { fields: Array<string | undefined>; raw: string; line: number } | JsonlProblem;

/** A JSON value as the text of a cell: absent or null is empty, a nested value its JSON. */
export const textOf = (v: unknown): string | undefined =>
  v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);

/**
 * One pass over a JSON line's text, outside its strings: where the nesting first goes deeper than
 * {@link MAX_JSON_DEPTH} (1-based), or how many members the outer object has (its `:` at depth 1).
 * Done before JSON.parse, which takes any depth, while JSON.stringify of a deep value (a column's
 * text) overflowed the stack; the member count finds a key given twice, which JSON.parse drops.
 */
export function jsonShape(raw: string): { tooDeepAt: number } | { members: number } {
  let depth = 0;
  let members = 0;
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c === 34) {
      // Skip the string: to its closing quote, past escapes.
      for (i++; i < n; i++) {
        const d = raw.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 123 || c === 91) {
      if (++depth > MAX_JSON_DEPTH) return { tooDeepAt: i + 1 };
    } else if (c === 125 || c === 93) depth--;
    else if (c === 58 && depth === 1) members++;
  }
  return { members };
}

/** The outer object's keys in the order written (their JSON strings decoded), for naming a duplicate. */
function keysOf(raw: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 34) {
      const start = i;
      for (i++; i < raw.length && raw.charCodeAt(i) !== 34; i++) if (raw.charCodeAt(i) === 92) i++;
      if (depth !== 1) continue;
      let k = i + 1;
      while (k < raw.length && /\s/.test(raw[k])) k++;
      if (raw[k] === ':') keys.push(JSON.parse(raw.slice(start, i + 1)) as string);
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
  }
  return keys;
}

/**
 * An incremental JSON-lines reader: one object per line, mapped to the schema's columns (a key
 * that is absent or null is an empty value). A line that is not a JSON object, nests deeper than
 * {@link MAX_JSON_DEPTH} or gives a key twice is a row problem, not the end of the file.
 * `keysSeen` collects every key met, so a renamed column can be named.
 */
export class JsonlReader {
  #decoder = new TextDecoder('utf-8');
  #pending = '';
  #line = 1;
  #error: CsvError | undefined;
  /** Keys met in the objects (at most 1000). */
  readonly keysSeen = new Set<string>();
  /** How many objects carried each column. */
  readonly present: number[];

  constructor(private readonly columns: readonly string[]) {
    this.present = columns.map(() => 0);
  }

  /** The error that stopped reading (a line over the size limit), if any. */
  get error(): CsvError | undefined {
    return this.#error;
  }

  /** Reads the lines completed by `chunk` (undefined at the end). */
  feed(chunk: Uint8Array | undefined): JsonlRecord[] {
    if (this.#error) return [];
    let text = this.#pending + (chunk ? this.#decoder.decode(chunk, { stream: true }) : this.#decoder.decode());
    if (this.#line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const out: JsonlRecord[] = [];
    let p = 0;
    for (;;) {
      let nl = text.indexOf('\n', p);
      if (nl < 0) {
        if (chunk !== undefined || p >= text.length) break;
        nl = text.length;
      }
      const raw = text.slice(p, nl).replace(/\r$/, '');
      const line = this.#line++;
      p = nl + 1;
      if (raw.trim() === '') continue;
      out.push(this.#record(raw, line));
    }
    this.#pending = p < text.length ? text.slice(p) : '';
    if (this.#pending.length > MAX_RECORD_CHARS) {
      this.#error = { line: this.#line, raw: this.#pending.slice(0, 2000), message: `the line ${this.#line} runs over ${MAX_RECORD_CHARS} characters` };
      this.#pending = '';
    }
    return out;
  }

  #record(raw: string, line: number): JsonlRecord {
    const bad = (problem: string, expected = 'a JSON object', column = ''): JsonlProblem => ({ problem, expected, column, raw, line });
    const shape = jsonShape(raw);
    if ('tooDeepAt' in shape) {
      return bad(`line ${line} nests JSON more than ${MAX_JSON_DEPTH} levels deep (at character ${shape.tooDeepAt}); a row is one object of plain values: flatten it`, `at most ${MAX_JSON_DEPTH} levels of nesting`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      // V8 quotes the text around the error, which may hold any character.
      return bad(`line ${line} is not valid JSON: ${printable((e as Error).message)}`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return bad(`line ${line} is not a JSON object`);
    const o = obj as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length < shape.members) {
      const seen = new Set<string>();
      const twice = keysOf(raw).find((k) => seen.size === seen.add(k).size) ?? '';
      return bad(`line ${line} names the key '${printable(twice)}' twice; which value is meant is unclear: keep one`, 'each key once', twice);
    }
    if (this.keysSeen.size < 1000) for (const k of keys) this.keysSeen.add(k);
    const fields = this.columns.map((c, j) => {
      // Own keys only: a column named 'constructor' must not read Object.prototype's.
      const v = Object.hasOwn(o, c) ? o[c] : undefined;
      if (v !== undefined && v !== null) this.present[j]++;
      return textOf(v);
    });
    return { fields, raw, line };
  }
}
