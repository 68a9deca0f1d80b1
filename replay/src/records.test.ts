import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { historyOf, readRecords } from './records.js';

const spec = parseSpec(`apiVersion: refit/v1
kind: Pipeline
name: rain
schema:
  columns: [{ name: date, type: date }, { name: precipitation, type: number, min: 0 }, { name: wind, type: number }]
  timestamp: date
label: { column: precipitation, positive: { gt: 0 } }
features: [{ name: wind, type: number }]
model: { kind: logistic }
`);

describe('reading the history', () => {
  it('reads CSV (any column order) and JSON lines with the ingestion readers, and orders every file by the timestamp', () => {
    const csv = { name: 'a.csv', text: 'wind,date,precipitation\n3.1,2013-01-03,0\n2.0,2013-01-01,1.5\n1.0,not a date,0\n' };
    const jsonl = { name: 'b.jsonl', text: '{"date":"2013-01-02","precipitation":0,"wind":4}\n{"oops"\n' };
    const h = historyOf([csv, jsonl], spec);
    expect(h.records.map((r) => new Date(r.t).toISOString().slice(0, 10))).toEqual(['2013-01-01', '2013-01-02', '2013-01-03']);
    expect(h.records[0]).toMatchObject({ fields: ['2.0', '2013-01-01', '1.5'], layout: { source: 'a.csv', indexes: [1, 2, 0], fieldCount: 3 } });
    expect(h).toMatchObject({ untimed: 1, unreadable: 1 });
  });

  it('names the columns a file lacks, and needs a timestamp', () => {
    expect(() => readRecords({ name: 'c.csv', text: 'date,wind\n2013-01-01,3\n' }, spec)).toThrow("c.csv: column(s) precipitation of spec 'rain' missing from the CSV header");
    const untimed = { ...spec, schema: { ...spec.schema, timestamp: undefined } };
    expect(() => readRecords({ name: 'c.csv', text: 'date\n' }, untimed)).toThrow("spec 'rain': replay orders the history by schema.timestamp; declare it");
  });
});
