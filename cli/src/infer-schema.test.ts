import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { GetSchemaResponseSchema } from '@refit/contracts';
import { formatSchema } from './data-commands.js';
import { inferColumns, schemaYaml, splitCsvLine } from './infer-schema.js';

describe('inferColumns', () => {
  it('infers Seattle weather’s schema, which then parses as a spec', () => {
    const csv = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data', 'seattle-weather.csv');
    const [header, ...lines] = readFileSync(csv, 'utf8').trim().split('\n');
    const columns = inferColumns(splitCsvLine(header), lines.map(splitCsvLine));
    expect(columns.map((c) => [c.name, c.type])).toEqual([
      ['date', 'date'],
      ['precipitation', 'number'],
      ['temp_max', 'number'],
      ['temp_min', 'number'],
      ['wind', 'number'],
      ['weather', 'category'],
    ]);
    expect(columns[5].values).toEqual(['drizzle', 'fog', 'rain', 'snow', 'sun']);
    const yaml = `apiVersion: refit/v1\nkind: Pipeline\nname: inferred\n${schemaYaml(columns)}label: { column: precipitation, positive: { gt: 0 } }\nfeatures: [{ name: wind, type: number }]\n`;
    expect(parseSpec(yaml).schema.columns[5]).toMatchObject({ name: 'weather', type: 'category', onUnseen: 'flag' });
  });

  it('marks empty values nullable and reads quoted fields', () => {
    expect(splitCsvLine('a,"b, ""c""",')).toEqual(['a', 'b, "c"', '']);
    expect(inferColumns(['n', 'flag'], [['1', 'yes'], ['', 'no'], ['3', 'No']])).toEqual([
      { name: 'n', type: 'integer', nullable: true },
      { name: 'flag', type: 'boolean' },
    ]);
  });
});

describe('formatSchema (refit data schema)', () => {
  it('prints a pinned schema as the schema: YAML it stands for, with its origin', () => {
    const r = create(GetSchemaResponseSchema, {
      pipeline: 'w',
      source: 'inferred',
      batchId: 'b-1',
      rows: 366n,
      columns: [
        { name: 'temp_max', type: 'number', min: -9.975, max: 43.275 },
        { name: 'weather', type: 'category', nullable: true, values: ['rain', 'sun'], onUnseen: 'flag' },
      ],
    });
    expect(formatSchema(r)).toBe(
      '# inferred from batch b-1 (366 rows)\nschema:\n  columns:\n    - { name: "temp_max", type: number, min: -9.975, max: 43.275 }\n    - { name: "weather", type: category, nullable: true, values: ["rain", "sun"], onUnseen: flag }\n',
    );
    expect(formatSchema(create(GetSchemaResponseSchema, { pipeline: 'w', source: 'pending' }))).toMatch(/none is pinned yet/);
  });
});
