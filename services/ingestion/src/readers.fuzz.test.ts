// Property-based fuzzing of what reads uploads: the CSV and JSON-lines readers and the row checker
// behind them. Inputs start from real data (a slice of vega-datasets' weather.csv, as CSV and as
// JSON lines) and are mutated — bytes flipped, cut, doubled, nested, NULs and quotes put in — or
// are random bytes. Whatever comes in: nothing throws (a bad file is an answer, never a crash),
// each case ends quickly, the records do not depend on how the bytes are cut into chunks, and no
// accepted row holds a NUL (Postgres cannot store one). Seeded: a failure prints its seed and path.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '@refit/spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvReader, type CsvError } from './csv-reader.js';
import { JsonlReader, MAX_JSON_DEPTH } from './jsonl-reader.js';
import { RowChecker } from './row-check.js';
import { mapHeader } from './validate.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const weather = readFileSync(join(here, '../../../node_modules/vega-datasets/data/weather.csv'), 'utf8').split('\n').slice(0, 30);
const CSV = `${weather.join('\n')}\n`;
const ROWS = weather.slice(1);
const JSONL = `${ROWS.map((r) => {
  const v = r.split(',');
  return JSON.stringify({ location: v[0], date: v[1], precipitation: Number(v[2]), temp_max: Number(v[3]), temp_min: Number(v[4]), wind: Number(v[5]), weather: v[6] });
}).join('\n')}\n`;
const spec = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));
const COLUMNS = spec.schema.columns;
const NAMES = COLUMNS.map((c) => c.name);

/** Longest a single case may take (they take a few milliseconds). */
const CASE_MS = 1000;
/** Cases per property; FUZZ_RUNS and FUZZ_SEED explore further (a failure prints the seed that reproduces it). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SEED = Number(process.env.FUZZ_SEED ?? 16_000);

/** One edit of a text: what fuzzers do to real files. */
const edit = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat(), length: fc.nat({ max: 200 }) }),
  fc.record({ op: fc.constant('double' as const), at: fc.nat(), length: fc.nat({ max: 400 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom('\u0000', '"', '""', ',', '\r', '\n', '\r\n', '\uFEFF', '\\u0000', '{', '}', '[', ']', ':', '\\', '"a":1,"a":2,', '\uD800', 'é', '❄'),
      fc.string({ maxLength: 20 }),
      fc.nat({ max: 2000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
      fc.nat({ max: 2000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
    ),
  }),
);
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never;

function apply(base: Buffer, edits: Edit[]): Buffer {
  let b = base;
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % (b.length + 1);
    if (e.op === 'flip' && b.length > 0) b = Buffer.concat([b.subarray(0, at % b.length), Buffer.from([e.byte]), b.subarray((at % b.length) + 1)]);
    else if (e.op === 'cut') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.length)]);
    else if (e.op === 'double') b = Buffer.concat([b.subarray(0, at + e.length), b.subarray(at)]);
    else if (e.op === 'truncate') b = b.subarray(0, at);
    else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.text), b.subarray(at)]);
  }
  return b;
}

/** Real data mutated, or random bytes. */
const upload = (base: string) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => apply(Buffer.from(base), edits)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)) },
  );

/** Where to cut the bytes into chunks (sorted offsets). */
const cuts = fc.array(fc.nat(), { maxLength: 8 });

function chunksOf(bytes: Buffer, at: number[]): Buffer[] {
  const offsets = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const o of [...offsets, bytes.length]) {
    out.push(bytes.subarray(from, o));
    from = o;
  }
  return out;
}

function timed<T>(f: () => T): T {
  const started = performance.now();
  const r = f();
  expect(performance.now() - started).toBeLessThan(CASE_MS);
  return r;
}

function readCsv(chunks: Buffer[]) {
  const reader = new CsvReader();
  const records = chunks.flatMap((c) => reader.feed(c));
  records.push(...reader.feed(undefined));
  return { records: records.map((r) => ({ line: r.line, fields: r.fields })), error: reader.error };
}

function readJsonl(chunks: Buffer[]) {
  const reader = new JsonlReader(NAMES);
  const records = chunks.flatMap((c) => reader.feed(c));
  records.push(...reader.feed(undefined));
  return { records, error: reader.error };
}

/**
 * The same records and the same error, wherever the chunks were cut. The error's raw text is an
 * excerpt of what was buffered when reading stopped (up to 2,000 characters), so one reading's may
 * be a prefix of the other's (found by this fuzzing; the excerpt is for display).
 */
function expectSameReading(a: { records: unknown[]; error?: CsvError }, b: { records: unknown[]; error?: CsvError }): void {
  expect(a.records).toEqual(b.records);
  expect(a.error && { line: a.error.line, message: a.error.message }).toEqual(b.error && { line: b.error.line, message: b.error.message });
  if (a.error && b.error) expect(a.error.raw.startsWith(b.error.raw) || b.error.raw.startsWith(a.error.raw)).toBe(true);
}

/** Every accepted row's JSON parses and holds no NUL. */
function expectStorable(json: string): void {
  const row = JSON.parse(json) as Record<string, unknown>;
  expect(Object.entries(row).filter(([k, v]) => k.includes('\u0000') || (typeof v === 'string' && v.includes('\u0000')))).toEqual([]);
}

describe('the CSV reader and row checker under fuzzing', () => {
  it('never throw, end quickly, give the same records however the bytes are cut, and accept no NUL', () => {
    fc.assert(
      fc.property(upload(CSV), cuts, (bytes, at) => {
        const whole = timed(() => readCsv([bytes]));
        const cut = timed(() => readCsv(chunksOf(bytes, at)));
        expectSameReading(cut, whole);
        const [header, ...rows] = whole.records;
        if (!header) return;
        const { indexes } = mapHeader(header.fields, COLUMNS);
        const checker = new RowChecker(COLUMNS);
        timed(() => {
          for (const r of rows) {
            const checked = checker.check(r.fields, indexes, header.fields.length, r.fields.join(','), r.line);
            if ('json' in checked) expectStorable(checked.json);
            else expect(typeof checked.problem.message).toBe('string');
          }
        });
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });
});

describe('the JSON-lines reader and row checker under fuzzing', () => {
  it('never throw, end quickly, give the same records however the bytes are cut, and accept no NUL', () => {
    fc.assert(
      fc.property(upload(JSONL), cuts, (bytes, at) => {
        const whole = timed(() => readJsonl([bytes]));
        const cut = timed(() => readJsonl(chunksOf(bytes, at)));
        expectSameReading(cut, whole);
        const checker = new RowChecker(COLUMNS);
        timed(() => {
          for (const r of whole.records) {
            if ('problem' in r) continue;
            const checked = checker.check(r.fields, NAMES.map((_, j) => j), NAMES.length, r.raw, r.line);
            if ('json' in checked) expectStorable(checked.json);
          }
        });
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });

  it(`any nesting is read in one pass: deeper than ${MAX_JSON_DEPTH} is a row problem, never a stack overflow`, () => {
    fc.assert(
      fc.property(fc.nat({ max: 200_000 }), fc.constantFrom('{"a":', '[', '{"location":['), (depth, open) => {
        const close = open === '[' ? ']' : open === '{"a":' ? '}' : ']}';
        const line = `{"location":${open.repeat(depth)}1${close.repeat(depth)},"date":"2012-01-01"}\n`;
        const [r] = timed(() => readJsonl([Buffer.from(line)])).records;
        const nesting = 1 + depth * (open === '{"location":[' ? 2 : 1);
        if (nesting > MAX_JSON_DEPTH) expect('problem' in r && r.problem).toMatch(/nests JSON more than 64 levels deep/);
      }),
      { seed: SEED + 3, numRuns: 60 },
    );
  });
});
