import { MAX_RECORD_CHARS, type CsvError } from './csv-reader.js';

/** One JSON line: its fields as text in column order, or why it could not be read. */
export type JsonlRecord = { fields: Array<string | undefined>; raw: string; line: number } | { problem: string; raw: string; line: number };

const textOf = (v: unknown): string | undefined =>
  v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);

/**
 * An incremental JSON-lines reader: one object per line, mapped to the schema's columns (a key
 * that is absent or null is an empty value). A line that is not a JSON object is a row problem,
 * not the end of the file. `keysSeen` collects every key met, so a renamed column can be named.
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
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      return { problem: `line ${line} is not valid JSON: ${(e as Error).message}`, raw, line };
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { problem: `line ${line} is not a JSON object`, raw, line };
    const o = obj as Record<string, unknown>;
    if (this.keysSeen.size < 1000) for (const k of Object.keys(o)) this.keysSeen.add(k);
    const fields = this.columns.map((c, j) => {
      if (o[c] !== undefined && o[c] !== null) this.present[j]++;
      return textOf(o[c]);
    });
    return { fields, raw, line };
  }
}
