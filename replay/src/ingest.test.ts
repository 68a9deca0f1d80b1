import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { Ingestion } from './ingest.js';
import { historyOf } from './records.js';

const spec = parseSpec(`apiVersion: refit/v1
kind: Pipeline
name: rain
schema:
  columns: [{ name: date, type: date }, { name: precipitation, type: number, min: 0 }, { name: wind, type: number, min: 0 }]
  timestamp: date
  batch: { onProblem: reject, maxQuarantinedShare: 0.3 }
label: { column: precipitation, positive: { gt: 0 } }
features: [{ name: wind, type: number }]
model: { kind: logistic }
`);

const rows = (days: number, wind: (i: number) => string) =>
  historyOf([{ name: 'w.csv', text: `date,precipitation,wind\n${Array.from({ length: days }, (_, i) => `2013-01-${String(i + 1).padStart(2, '0')},${i % 2},${wind(i)}`).join('\n')}\n` }], spec).records;

describe('ingestion in the replay', () => {
  it("quarantines bad rows with the service's checks, and rejects a batch that is mostly bad; only usable batches reach snapshots", () => {
    const ing = new Ingestion(spec);
    const first = ing.push('b0', rows(20, (i) => (i === 3 ? '-1' : String(i))), 0, undefined);
    expect(first).toMatchObject({ status: 'accepted', rows: 20, accepted: 19, quarantined: 1 });
    expect(first.lines[0]).toBe('{"date":"2013-01-01","precipitation":0,"wind":0}');
    const bad = ing.push('b1', rows(10, (i) => (i < 5 ? 'calm' : '3')), 10, undefined);
    expect(bad).toMatchObject({ status: 'rejected', accepted: 5, quarantined: 5 });
    expect(bad.problems[0]).toMatch(/^50% of the rows \(5 of 10\) were quarantined, above the limit 30%/);
    expect(ing.usable(5).map((b) => b.id)).toEqual(['b0']);
    expect(ing.usable(10).map((b) => b.id)).toEqual(['b0']);
  });
});
