import type { RawRow } from './spec.js';

/** Parses a JSON-lines object of rows (as written by the ingestion service). */
export function rowsFromJsonl(buf: Uint8Array): RawRow[] {
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8');
  const rows: RawRow[] = [];
  let line = 0;
  for (const part of text.split('\n')) {
    line++;
    if (!part) continue;
    try {
      rows.push(JSON.parse(part) as RawRow);
    } catch (e) {
      throw new RangeError(`rowsFromJsonl: line ${line} is not valid JSON: ${(e as Error).message}`);
    }
  }
  return rows;
}
