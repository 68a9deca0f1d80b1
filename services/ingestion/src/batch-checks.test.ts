import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { judgeBatch, MIN_PINNED_ROWS_FOR_SHIFT } from './batch-checks.js';
import { Profiler, type BatchProfile } from './profile.js';

const spec = parseSpec(`
apiVersion: refit/v1
kind: Pipeline
name: checks
schema:
  columns:
    - { name: temp, type: number, min: -60, max: 60 }
    - { name: wind, type: number, nullable: true }
    - { name: sky, type: category }
label: { column: temp, positive: { gt: 0 } }
features: [{ name: wind, type: number }]
`);

function profileOf(rows: Array<[number | null, number | null, string]>): BatchProfile {
  const p = new Profiler(spec.schema.columns);
  for (const r of rows) {
    p.row();
    r.forEach((v, j) => p.cell(j, v === null ? '' : String(v), v));
  }
  return p.finish();
}

const facts = { rowsTotal: 0, rowsQuarantined: 0, duplicates: 0, checkCapped: false, extraColumns: [] };
const normal = Array.from({ length: MIN_PINNED_ROWS_FOR_SHIFT }, (_, i): [number, number, string] => [5 + (i % 20), 1 + (i % 5), i % 2 ? 'sun' : 'rain']);

describe('judgeBatch', () => {
  const pinned = { batchId: 'b-1', profile: profileOf(normal) };

  it('accepts a batch like the pinned one', () => {
    expect(judgeBatch(spec, profileOf(normal.slice(0, 50)), pinned, { ...facts, rowsTotal: 50 })).toEqual({ status: 'accepted', problems: [], warnings: [] });
  });

  it('rejects a null flood in a nullable column and a shifted median, flags a new category', () => {
    const rows = normal.map(([t, w], i): [number, number | null, string] => [t * 1.8 + 32, i % 3 === 0 ? null : w, i === 0 ? 'hail' : 'sun']);
    const v = judgeBatch(spec, profileOf(rows), pinned, { ...facts, rowsTotal: rows.length });
    expect(v.status).toBe('rejected');
    expect(v.problems.join('\n')).toMatch(/column 'wind': 34% of the values are empty, against 0% in the pinned schema \(batch b-1\)/);
    expect(v.warnings.join('\n')).toMatch(/column 'temp': median 59 against 15 in the pinned schema/);
    expect(v.warnings).toContainEqual(expect.stringMatching(/^column 'sky': new category 'hail' \(1 row\) not in the pinned schema \(rain, sun\)/));
    const strict = { ...spec, schema: { ...spec.schema, batch: { ...spec.schema.batch, onMedianShift: 'reject' as const } } };
    expect(judgeBatch(strict, profileOf(rows), pinned, { ...facts, rowsTotal: rows.length }).problems.join('\n')).toMatch(/column 'temp': median 59/);
  });

  it('flags instead of rejecting when the spec says so, and reports duplicates as warnings', () => {
    const flagging = { ...spec, schema: { ...spec.schema, batch: { ...spec.schema.batch, onProblem: 'flag' as const } } };
    const v = judgeBatch(flagging, profileOf([[99, 1, 'sun']]), undefined, { ...facts, rowsTotal: 1, duplicates: 2, duplicateExample: { line: 9, of: 3 } });
    expect(v.status).toBe('flagged');
    expect(v.problems).toEqual([expect.stringMatching(/^column 'temp': 100% of the values are above the maximum 60 .*another unit/)]);
    expect(v.warnings).toEqual(['2 duplicate rows (line 9 repeats line 3): kept in the batch, counted once in snapshots']);
  });
});
