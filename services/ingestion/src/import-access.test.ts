import { isInvalidInput, type S3Config } from '@refit/platform';
import { describe, expect, it } from 'vitest';
import { resolvePgImport, resolveS3Import } from './import-access.js';
import { parseImportSources } from './import-sources.js';
import { s3KeyProblem } from './s3-keys.js';

const platformS3: S3Config = { endPoint: '127.0.0.1', port: 9000, useSSL: false, accessKey: 'a', secretKey: 'b', bucket: 'refit', region: 'us-east-1' };
const sources = parseImportSources(
  `
s3:
  - { name: all-weather, bucket: exports, prefixes: [weather/] }
  - { name: nw-weather, bucket: exports, prefixes: [weather/nw/] }
postgres:
  - { name: warehouse, urlEnv: W, tables: [public.Daily, events], queries: { recent: "select 1 as x" } }
`,
  { file: 'sources.yaml', env: { W: 'postgres://reader@warehouse/dw' }, platformS3 },
);
const pg = (r: Partial<Parameters<typeof resolvePgImport>[1]>) => resolvePgImport(sources, { connection: 'warehouse', table: '', queryName: '', watermarkColumn: '', url: '', query: '', ...r });

describe('what an import request may name', () => {
  it('object keys are plain: no empty, . or .. segment, no backslash or control character', () => {
    expect(s3KeyProblem('weather/2026/01.csv')).toBeUndefined();
    for (const key of ['', '/weather/a.csv', 'weather//a.csv', 'weather/', 'weather/./a.csv', 'weather/../a.csv', 'weather\\a.csv', 'weather/a\n.csv']) {
      expect(s3KeyProblem(key), JSON.stringify(key)).toBeDefined();
    }
  });

  it('an S3 address goes to the declared source with the longest matching prefix', () => {
    expect(resolveS3Import(sources, 'refit', 's3://exports/weather/nw/a.csv').source.name).toBe('nw-weather');
    expect(resolveS3Import(sources, 'refit', 's3://exports/weather/se/a.csv')).toMatchObject({ source: { name: 'all-weather' }, key: 'weather/se/a.csv' });
    expect(() => resolveS3Import(sources, 'refit', 's3://exports/weather')).toThrow(/not in a declared import source/);
    expect(() => resolveS3Import(sources, 'refit', 'https://exports/weather/a.csv')).toThrow(/not an S3 address/);
  });

  it('a declared table is quoted as declared; a watermark column must be a plain identifier and is quoted', () => {
    expect(pg({ table: 'public.Daily', watermarkColumn: 'updatedAt' })).toMatchObject({
      from: '"public"."Daily"',
      watermark: { column: 'updatedAt', sql: '"updatedAt"' },
      sourceKey: 'postgres:warehouse:table:public.Daily:updatedAt',
      label: 'warehouse/public.Daily',
    });
    expect(pg({ queryName: 'recent' })).toMatchObject({ from: '(select 1 as x)', what: "query 'recent'", watermark: undefined });
    // Case matters once quoted, so only the table as declared is allowed.
    for (const r of [{ table: 'public.daily' }, { table: 'Daily' }, { table: 'events', watermarkColumn: 'src.x' }, { table: 'events', watermarkColumn: 'x"; drop table t; --' }, { queryName: 'toString' }]) {
      const err = (() => {
        try {
          pg(r);
        } catch (e) {
          return e;
        }
      })();
      expect(isInvalidInput(err), JSON.stringify(r)).toBe(true);
    }
  });
});
