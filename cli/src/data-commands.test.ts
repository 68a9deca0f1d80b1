import { describe, expect, it } from 'vitest';
import { importSource } from './data-commands.js';

describe('refit data import', () => {
  it('names a declared Postgres connection with a table or a named query, or an S3 object', () => {
    expect(importSource({ source: 'warehouse', table: 'public.weather_daily', watermark: 'updated_at' })).toEqual({
      case: 'postgres',
      value: { connection: 'warehouse', table: 'public.weather_daily', queryName: '', watermarkColumn: 'updated_at' },
    });
    expect(importSource({ source: 'warehouse', query: 'recent' })).toEqual({ case: 'postgres', value: { connection: 'warehouse', table: '', queryName: 'recent', watermarkColumn: '' } });
    expect(importSource({ from: 's3://partner-exports/weather/2026-01.csv' })).toEqual({ case: 's3Uri', value: 's3://partner-exports/weather/2026-01.csv' });
  });

  it('refuses a URL or SQL, saying what to give instead', () => {
    expect(() => importSource({ pgUrl: 'postgres://u@h/db', table: 't' })).toThrow(/--pg-url is no longer accepted: .*use --source <connection> with --table/);
    expect(() => importSource({ source: 'warehouse', query: 'select * from t' })).toThrow(/--query takes the name of a query an admin declared for source 'warehouse' \(e\.g\. --query recent\), not SQL/);
    expect(() => importSource({ table: 't' })).toThrow(/--table needs --source <connection>/);
    expect(() => importSource({ source: 'warehouse' })).toThrow(/give exactly one of --table <declared table> and --query <declared query name>/);
    expect(() => importSource({ from: 's3://b/k.csv', source: 'warehouse' })).toThrow(/--from imports an S3 object; --source belongs to a Postgres import/);
    expect(() => importSource({})).toThrow(/give a source: --from s3:\/\/bucket\/key/);
  });
});
