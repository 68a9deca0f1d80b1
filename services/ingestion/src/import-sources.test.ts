import { isInvalidInput, type S3Config } from '@refit/platform';
import { describe, expect, it } from 'vitest';
import { parseImportSources } from './import-sources.js';

const platformS3: S3Config = { endPoint: '127.0.0.1', port: 9000, useSSL: false, accessKey: 'platform-key', secretKey: 'platform-secret', bucket: 'refit', region: 'us-east-1' };
const env = { REFIT_IMPORT_PG_WAREHOUSE: 'postgres://reader:pw@warehouse:5432/dw', PARTNER_URL: 'https://s3.partner.example', PARTNER_KEY: 'k', PARTNER_SECRET: 's' };
const parse = (text: string, e: Record<string, string> = env) => parseImportSources(text, { file: '/etc/refit/sources.yaml', env: e, platformS3 });
/** The message of the error parsing throws (the test fails if it parses). */
function problem(text: string, e?: Record<string, string>): string {
  try {
    parse(text, e);
  } catch (err) {
    expect(isInvalidInput(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected the sources to be refused');
}

const EXAMPLE = `
s3:
  - { name: exports, bucket: partner-exports, prefixes: [weather/, sales/2026/] }
  - { name: partner, bucket: drop, prefixes: [in/], endpointEnv: PARTNER_URL, accessKeyEnv: PARTNER_KEY, secretKeyEnv: PARTNER_SECRET }
postgres:
  - name: warehouse
    urlEnv: REFIT_IMPORT_PG_WAREHOUSE
    tables: [public.weather_daily, events]
    queries: { recent: "select * from public.weather_daily where region = 'nw';" }
`;

describe('import sources file', () => {
  it('reads S3 and Postgres sources with their defaults and credentials from the environment', () => {
    const s = parse(EXAMPLE);
    expect(s.s3[0]).toEqual({ name: 'exports', bucket: 'partner-exports', prefixes: ['weather/', 'sales/2026/'], s3: { ...platformS3, bucket: 'partner-exports' } });
    expect(s.s3[1].s3).toEqual({ endPoint: 's3.partner.example', port: 443, useSSL: true, accessKey: 'k', secretKey: 's', bucket: 'drop', region: 'us-east-1' });
    expect(s.postgres[0]).toMatchObject({
      name: 'warehouse',
      url: env.REFIT_IMPORT_PG_WAREHOUSE,
      urlEnv: 'REFIT_IMPORT_PG_WAREHOUSE',
      tables: ['public.weather_daily', 'events'],
      queries: { recent: "select * from public.weather_daily where region = 'nw'" },
      statementTimeoutMs: 30_000,
    });
  });

  it('reads JSON too, and an empty file declares nothing', () => {
    expect(parse('{"s3": [{"name": "a", "bucket": "b-1", "prefixes": ["x/"]}]}').s3).toHaveLength(1);
    expect(parse('')).toEqual({ file: '/etc/refit/sources.yaml', s3: [], postgres: [] });
  });

  it('a malformed file names the file and the field', () => {
    expect(problem('s3: [')).toMatch(/^REFIT_IMPORT_SOURCES \/etc\/refit\/sources\.yaml is not valid YAML or JSON/);
    expect(problem('postgres: [{ name: w, urlEnv: REFIT_IMPORT_PG_WAREHOUSE, tabels: [t] }]')).toMatch(/postgres\[0\]: unknown field 'tabels'/);
    expect(problem('postgres: [{ name: w, urlEnv: REFIT_IMPORT_PG_WAREHOUSE, tables: [t], statementTimeoutMs: soon }]')).toMatch(/postgres\[0\]\.statementTimeoutMs: /);
    expect(problem('postgres: [{ name: w, urlEnv: REFIT_IMPORT_PG_WAREHOUSE }]')).toMatch(/postgres\[0\]: declare at least one of tables and queries/);
    expect(problem('postgres: [{ name: w, urlEnv: REFIT_IMPORT_PG_WAREHOUSE, tables: ["t; drop table x"] }]')).toMatch(/postgres\[0\]\.tables\[0\]: /);
    expect(problem('s3: [{ name: a, bucket: b-1 }]')).toMatch(/s3\[0\]\.prefixes: /);
    expect(problem('s3: [{ name: a, bucket: b-1, prefixes: [x/] }, { name: a, bucket: b-2, prefixes: [y/] }]')).toMatch(/s3\[1\]\.name: 'a' is declared twice/);
  });

  it('credentials come from the variables a source names: a missing or malformed one is named, its value never shown', () => {
    const src = 'postgres: [{ name: w, urlEnv: REFIT_IMPORT_PG_OTHER, tables: [t] }]';
    expect(problem(src)).toMatch(/postgres\[0\]\.urlEnv: REFIT_IMPORT_PG_OTHER is not set/);
    const bad = problem(src, { REFIT_IMPORT_PG_OTHER: 'mysql://u:secret@h/db' });
    expect(bad).toMatch(/postgres\[0\]\.urlEnv: REFIT_IMPORT_PG_OTHER is not a postgres:\/\/ URL/);
    expect(bad).not.toContain('secret');
  });

  it('refuses a source naming the platform’s own bucket', () => {
    expect(problem('s3: [{ name: own, bucket: refit, prefixes: [pipelines/] }]')).toMatch(
      /s3\[0\]\.bucket: 'refit' is the platform's own bucket \(REFIT_S3_BUCKET\), which holds every pipeline's batches, snapshots and models; it is never an import source/,
    );
  });

  it('refuses prefixes that are not plain folders, and the service’s keys sent to another endpoint', () => {
    expect(problem('s3: [{ name: a, bucket: b-1, prefixes: [weather] }]')).toMatch(/s3\[0\]\.prefixes\[0\]: .*end with '\/'/);
    expect(problem('s3: [{ name: a, bucket: b-1, prefixes: [a/../b/] }]')).toMatch(/s3\[0\]\.prefixes\[0\]: .*'\.\.'/);
    expect(problem('s3: [{ name: a, bucket: b-1, prefixes: [/] }]')).toMatch(/s3\[0\]\.prefixes\[0\]: /);
    expect(problem('s3: [{ name: a, bucket: b-1, prefixes: [x/], endpointEnv: PARTNER_URL }]')).toMatch(/s3\[0\]: a source with endpointEnv needs accessKeyEnv and secretKeyEnv/);
  });
});
