import { create, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { StreamLabelSchema, StreamRowSchema } from '@refit/contracts';
import type { ColumnSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { RowChecker } from './row-check.js';
import { readLabel, readRow, type StreamSchema } from './stream-parse.js';

const columns: ColumnSpec[] = [
  { name: 'temp', type: 'number', nullable: false, min: -60, max: 60 },
  { name: 'city', type: 'category', nullable: false, values: ['a', 'b'] },
  { name: 'key', type: 'string', nullable: true },
];
const schema: StreamSchema = { rowColumns: columns, label: { name: 'rain', type: 'number', nullable: false, min: 0 }, idColumn: 'key', maxBytes: 400 };
const SEEN = '2024-03-01T10:00:00.000Z';
const bytes = (o: unknown): Uint8Array => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));
const row = (o: unknown) => readRow(bytes(o), false, schema, new RowChecker(columns), 7, SEEN);

describe('stream messages', () => {
  it('reads a JSON row into its typed row, with the time the stream took it in when it has none', () => {
    expect(row({ id: 'r1', temp: '12.5', city: 'a' })).toEqual({ id: 'r1', at: SEEN, json: '{"temp":12.5,"city":"a","key":null}' });
    expect(row({ id: 'r1', at: '2024-01-01T00:00:00+01:00', temp: 1, city: 'b' })).toMatchObject({ at: '2023-12-31T23:00:00.000Z' });
    expect(row({ key: 'k9', temp: 1, city: 'b' })).toMatchObject({ id: 'k9' });
  });

  it('refuses what a pushed row would be refused for, and what a stream row must carry, with the reason', () => {
    const reason = (o: unknown) => {
      const r = row(o);
      return 'problem' in r ? r.problem.message : 'accepted';
    };
    expect(reason('{"id": 1,')).toMatch(/not valid JSON/);
    expect(reason('[1]')).toMatch(/not a JSON object/);
    expect(reason('{"id":"a","id":"b","temp":1,"city":"a"}')).toMatch(/names a key twice/);
    expect(reason({ temp: 1, city: 'a' })).toMatch(/has no 'id'/);
    expect(reason({ id: 'x'.repeat(257), temp: 1, city: 'a' })).toMatch(/over the limit of 256/);
    expect(reason({ id: 'a', at: 'yesterday', temp: 1, city: 'a' })).toMatch(/'at' is not an ISO 8601 time/);
    expect(reason({ id: 'a', temp: 99, city: 'a' })).toMatch(/column 'temp': 99 is above the maximum 60/);
    expect(reason({ id: 'a', temp: 1, city: 'z' })).toMatch(/column 'city': expected one of a, b/);
    expect(reason({ id: 'a', temp: 1, city: 'a', pad: 'x'.repeat(500) })).toMatch(/over the limit of 400/);
  });

  it('reads StreamRow and StreamLabel messages as their JSON forms', () => {
    const pb = create(StreamRowSchema, { id: 'p1', at: timestampFromDate(new Date('2024-02-02T00:00:00Z')), values: { temp: 3, city: 'a' } });
    expect(readRow(toBinary(StreamRowSchema, pb), true, schema, new RowChecker(columns), 1, SEEN)).toEqual({ id: 'p1', at: '2024-02-02T00:00:00.000Z', json: '{"temp":3,"city":"a","key":null}' });
    const l = create(StreamLabelSchema, { id: 'p1', label: { kind: { case: 'numberValue', value: 0.4 } } });
    expect(readLabel(toBinary(StreamLabelSchema, l), true, schema, SEEN)).toMatchObject({ id: 'p1', label: 0.4, at: SEEN });
    expect(readRow(Buffer.from('not protobuf \u00ff'), true, schema, new RowChecker(columns), 1, SEEN)).toMatchObject({ problem: { message: expect.stringMatching(/not a StreamRow/) } });
  });

  it('checks a label as the label column of a pushed batch', () => {
    expect(readLabel(bytes({ id: 'a', label: '2.5', at: '2024-01-01' }), false, schema, SEEN)).toMatchObject({ id: 'a', label: 2.5, at: '2024-01-01T00:00:00.000Z' });
    const bad = readLabel(bytes({ id: 'a', label: -1 }), false, schema, SEEN);
    expect(bad).toMatchObject({ problem: { column: 'rain', message: expect.stringMatching(/-1 is below the minimum 0/) } });
    expect(readLabel(bytes({ id: 'a' }), false, schema, SEEN)).toMatchObject({ problem: { message: expect.stringMatching(/has no 'label'/) } });
    expect(readLabel(bytes({ id: 'a', label: null }), false, schema, SEEN)).toMatchObject({ problem: { message: expect.stringMatching(/empty|required/) } });
  });
});
