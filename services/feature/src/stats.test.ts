import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { computeStats } from './stats.js';

const spec = (schema: string) =>
  parseSpec(`apiVersion: refit/v1
kind: Pipeline
name: s
${schema}
label: { column: rain }
features:
  - { name: wind, type: number }
  - { name: city, type: category }
`);

const rows = [
  { wind: 1, city: 'a', rain: 1 },
  { wind: 3, city: 'b', rain: 0 },
  { wind: null, city: 'a', rain: 1 },
];

describe('computeStats', () => {
  it('describes every declared column but dates', () => {
    const s = computeStats(spec('schema:\n  columns:\n    - { name: wind, type: number, nullable: true }\n    - { name: city, type: category }\n    - { name: day, type: date }\n    - { name: rain, type: integer }'), rows, { runId: 'r', snapshotSha256: 'x' });
    expect(s.columns.map((c) => c.name)).toEqual(['wind', 'city', 'rain']);
  });

  it('describes the features when the schema is inferred by ingestion (no declared columns)', () => {
    const s = computeStats(spec('schema: { infer: true }'), rows, { runId: 'r', snapshotSha256: 'x' });
    expect(s.columns.map((c) => [c.name, c.kind])).toEqual([
      ['wind', 'numeric'],
      ['city', 'categorical'],
    ]);
    expect(s.columns[0]).toMatchObject({ missing: 1, count: 3 });
  });
});
