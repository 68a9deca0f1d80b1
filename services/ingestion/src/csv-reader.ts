/** Longest record (characters) the reader buffers: an unclosed quote cannot pull a whole file into memory. */
export const MAX_RECORD_CHARS = 1024 * 1024;

/** One record as found: its fields, its text (without line breaks around it) and the file line it starts on. */
export type CsvRecord = { fields: string[]; raw: string; line: number };

/** Where and why a file stopped being readable CSV. */
export type CsvError = { line: number; raw: string; message: string };

/**
 * An incremental RFC 4180 reader (comma, double quotes with "" escapes, LF or CRLF, a UTF-8 BOM,
 * empty lines skipped but counted). Written for speed: a line without quotes is one `split(',')`,
 * which is what most lines of most files are; csv-parse managed ~250k rows/s here, this ~1M+.
 * After the first error it reads nothing more (the caller keeps the raw file).
 */
export class CsvReader {
  #decoder = new TextDecoder('utf-8');
  #pending = '';
  #line = 1; // the file line #pending starts on
  #first = true;
  #error: CsvError | undefined;

  /** The error that stopped reading, if any. */
  get error(): CsvError | undefined {
    return this.#error;
  }

  /** Reads the records completed by `chunk` (pass undefined at the end of the file). */
  feed(chunk: Uint8Array | undefined): CsvRecord[] {
    if (this.#error) return [];
    let text = chunk ? this.#decoder.decode(chunk, { stream: true }) : this.#decoder.decode();
    if (this.#first && text.length > 0) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    text = this.#pending + text;
    const out: CsvRecord[] = [];
    const end = chunk === undefined;
    let p = 0;
    let line = this.#line;
    let nextQuote = text.indexOf('"');
    const n = text.length;
    while (p < n) {
      let nl = text.indexOf('\n', p);
      if (nl < 0) {
        if (!end) break;
        nl = n;
      }
      if (nextQuote >= 0 && nextQuote < p) nextQuote = text.indexOf('"', p);
      if (nextQuote < 0 || nextQuote >= nl) {
        const stop = nl > p && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (stop > p) {
          const raw = text.slice(p, stop);
          out.push({ fields: raw.split(','), raw, line });
        }
        p = nl + 1;
        line++;
        continue;
      }
      const r = this.#quoted(text, p, line, end);
      if (r === 'incomplete') break;
      if ('error' in r) {
        this.#error = r.error;
        this.#pending = '';
        return out;
      }
      out.push(r.record);
      p = r.next;
      line = r.nextLine;
    }
    this.#pending = p < n ? text.slice(p) : '';
    this.#line = line;
    if (this.#pending.length > MAX_RECORD_CHARS) {
      this.#error = { line, raw: this.#pending.slice(0, 2000), message: `the record starting on line ${line} runs over ${MAX_RECORD_CHARS} characters (an unclosed quote?)` };
      this.#pending = '';
    }
    return out;
  }

  /** Reads one record that holds quotes, from `p`; 'incomplete' when the text ends inside it. */
  #quoted(
    text: string,
    p: number,
    line: number,
    end: boolean,
  ): 'incomplete' | { error: CsvError } | { record: CsvRecord; next: number; nextLine: number } {
    const fields: string[] = [];
    const n = text.length;
    let i = p;
    let lines = 0;
    const fail = (message: string) => ({ error: { line, raw: text.slice(p, Math.min(n, p + 2000)).replace(/[\r\n]+$/, ''), message } });
    for (;;) {
      // One field starting at i.
      if (i < n && text.charCodeAt(i) === 34) {
        let value = '';
        let from = i + 1;
        for (;;) {
          const q = text.indexOf('"', from);
          if (q < 0) {
            if (!end) return 'incomplete';
            return fail(`the record starting on line ${line} opens a quote that is never closed`);
          }
          value += text.slice(from, q);
          if (q + 1 < n && text.charCodeAt(q + 1) === 34) {
            value += '"';
            from = q + 2;
            continue;
          }
          if (q + 1 >= n && !end) return 'incomplete';
          i = q + 1;
          break;
        }
        for (let k = value.indexOf('\n'); k >= 0; k = value.indexOf('\n', k + 1)) lines++;
        fields.push(value);
        const c = i < n ? text.charCodeAt(i) : -1;
        if (c === 44) {
          i++;
          continue;
        }
        if (c === 13 && i + 1 < n && text.charCodeAt(i + 1) === 10) i++;
        else if (c === 13 && i + 1 >= n && !end) return 'incomplete';
        if (c === 10 || c === 13 || c === -1) break;
        return fail(`Invalid Closing Quote: got "${text[i]}" after the closing quote of field ${fields.length} at line ${line + lines}`);
      }
      // An unquoted field: up to the next comma or line end; a quote inside it is an error.
      let j = i;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === 44 || c === 10) break;
        if (c === 34) return fail(`Invalid Opening Quote: a quote is found in the unquoted field ${fields.length + 1} at line ${line + lines}`);
        j++;
      }
      if (j >= n && !end) return 'incomplete';
      const stop = j > i && text.charCodeAt(j - 1) === 13 && (j >= n || text.charCodeAt(j) === 10) ? j - 1 : j;
      fields.push(text.slice(i, stop));
      i = j;
      if (i < n && text.charCodeAt(i) === 44) {
        i++;
        continue;
      }
      break;
    }
    // i is at the line feed ending the record (or the end of the text).
    const raw = text.slice(p, i).replace(/\r$/, '');
    return { record: { fields, raw, line }, next: i + 1, nextLine: line + lines + 1 };
  }
}
