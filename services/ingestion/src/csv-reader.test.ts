import { describe, expect, it } from 'vitest';
import { CsvReader, MAX_RECORD_CHARS } from './csv-reader.js';

/** Feeds `text` in chunks of `size` bytes and collects every record. */
function read(text: string, size = 7) {
  const r = new CsvReader();
  const bytes = Buffer.from(text);
  const out = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...r.feed(bytes.subarray(i, i + size)));
  out.push(...r.feed(undefined));
  return { records: out.map(({ fields, line }) => [line, ...fields]), error: r.error };
}

describe('CsvReader', () => {
  it('reads quoted fields with commas, escaped quotes and line breaks, counting lines as in the file', () => {
    const { records, error } = read('a,b\r\n1,"x, ""y"""\n\n"multi\nline",2\nlast,"é"');
    expect(error).toBeUndefined();
    expect(records).toEqual([
      [1, 'a', 'b'],
      [2, '1', 'x, "y"'],
      [4, 'multi\nline', '2'],
      [6, 'last', 'é'],
    ]);
  });

  it('gives the same records whatever the chunk size (multi-byte characters cut across chunks)', () => {
    const text = '\uFEFFcity,v\nZürich ❄,"1,5"\n"Köln",2\n';
    const expected = read(text, 1 << 20).records;
    expect(expected).toEqual([
      [1, 'city', 'v'],
      [2, 'Zürich ❄', '1,5'],
      [3, 'Köln', '2'],
    ]);
    for (const size of [1, 2, 3, 5]) expect(read(text, size).records).toEqual(expected);
  });

  it('stops at an unclosed quote, a stray quote, or a record over the size limit, saying where', () => {
    expect(read('a\n1\n"open\n2\n').error).toMatchObject({ line: 3, message: 'the record starting on line 3 opens a quote that is never closed' });
    const stray = read('a,b\n1,2\n3,4"5\n6,7\n');
    expect(stray.records).toEqual([
      [1, 'a', 'b'],
      [2, '1', '2'],
    ]);
    expect(stray.error?.message).toMatch(/^Invalid Opening Quote: a quote is found in the unquoted field 2 at line 3/);
    const r = new CsvReader();
    r.feed(Buffer.from('a\n"'));
    for (let i = 0; i < 20 && !r.error; i++) r.feed(Buffer.alloc(MAX_RECORD_CHARS / 8, 'x'));
    expect(r.error?.message).toBe(`the record starting on line 2 runs over ${MAX_RECORD_CHARS} characters (an unclosed quote?)`);
  });
});
