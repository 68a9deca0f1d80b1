import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IngestionService } from '@refit/contracts';
import { createArtifactStore, createClient, EVENTS, isFailedPrecondition, isInvalidInput, withTransaction } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, S3RVER_KEY, serviceEnv, startS3Server, startTestRuntime, waitFor, type S3Server, type TestEnv } from '@refit/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startIngestionService } from './service.js';
import { getPipelineSpec } from './store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const [, ...ROWS] = readFileSync(join(here, '../../../node_modules/vega-datasets/data/seattle-weather.csv'), 'utf8').trim().split('\n');
const YEAR = (y: string): string[] => ROWS.filter((r) => r.startsWith(`${y}-`));
/** Rows as JSON lines, the way an export in S3 holds them. */
const jsonl = (rows: string[]): string =>
  rows
    .map((r) => {
      const [date, precipitation, tmax, tmin, wind, weather] = r.split(',');
      return `${JSON.stringify({ date, precipitation: Number(precipitation), temp_max: Number(tmax), temp_min: Number(tmin), wind: Number(wind), weather })}\n`;
    })
    .join('');

const PIPELINE = 'imports';
const SPEC = `
apiVersion: refit/v1
kind: Pipeline
name: ${PIPELINE}
schema:
  columns:
    - { name: date, type: date }
    - { name: precipitation, type: number, min: 0 }
    - { name: temp_max, type: number, min: -60, max: 60 }
    - { name: temp_min, type: number, min: -60, max: 60 }
    - { name: wind, type: number, min: 0 }
    - { name: weather, type: category }
  timestamp: date
  batch: { onProblem: flag }
label: { column: precipitation, positive: { gt: 0 } }
features:
  - { name: temp_max, type: number }
  - { name: wind, type: number }
`;

describe('the import sources file at start-up', () => {
  it('an unreadable file stops the service, naming the variable and the file', () => {
    expect(() => loadConfig({ REFIT_IMPORT_SOURCES: '/nonexistent/refit-sources.yaml' })).toThrow(/^REFIT_IMPORT_SOURCES=\/nonexistent\/refit-sources\.yaml: cannot read the file \(ENOENT\)/);
  });
});

describe('ImportData reads only the sources an admin declared', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;
  let client: ReturnType<typeof createClient<typeof IngestionService>>;
  let remote: S3Server;
  let db: pg.Client;
  let dir: string;
  let schema: string;
  let partner: string;

  const batchCount = async (): Promise<number> => (await client.listBatches({ pipeline: PIPELINE })).batches.length;
  /** The error a call fails with (the test fails if it succeeds). */
  async function refusal(p: Promise<unknown>): Promise<Error> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!(e instanceof Error)) throw new Error('expected the import to be refused, it succeeded');
    return e;
  }
  const importS3 = (uri: string) => client.importData({ pipeline: PIPELINE, source: { case: 's3Uri', value: uri } });
  const importPg = (value: { connection?: string; url?: string; table?: string; query?: string; queryName?: string; watermarkColumn?: string }) =>
    client.importData({ pipeline: PIPELINE, source: { case: 'postgres', value } });
  const exists = async (table: string): Promise<boolean> => (await db.query<{ t: string | null }>('select to_regclass($1)::text as t', [table])).rows[0].t !== null;

  beforeAll(async () => {
    env = await createTestEnv({ name: 'import-sources' });
    schema = env.schema('warehouse');
    partner = `partner-${env.id}`;
    remote = await startS3Server({ port: 0 });

    db = new pg.Client({ connectionString: env.pgUrl });
    await db.connect();
    await db.query(`create schema ${schema}`);
    await db.query(`create table ${schema}.weather (date date, precipitation float8, temp_max float8, temp_min float8, wind float8, weather text, loaded_at timestamptz)`);
    await db.query(`create table ${schema}.audit (x int)`);
    // A function that writes: a named query calling it shows the import runs read-only.
    await db.query(`create function ${schema}.evil() returns int language sql as 'insert into ${schema}.audit values (1); select 1'`);

    dir = mkdtempSync(join(tmpdir(), 'refit-import-sources-'));
    const file = join(dir, 'sources.yaml');
    writeFileSync(
      file,
      `
s3:
  - { name: exports, bucket: ${partner}, prefixes: [weather/, sales/2026/] }
  - name: elsewhere
    bucket: remote-${env.id}
    prefixes: [daily/]
    endpointEnv: REFIT_IMPORT_S3_REMOTE_URL
    accessKeyEnv: REFIT_IMPORT_S3_REMOTE_KEY
    secretKeyEnv: REFIT_IMPORT_S3_REMOTE_SECRET
postgres:
  - name: warehouse
    urlEnv: REFIT_IMPORT_PG_WAREHOUSE
    tables: [${schema}.weather]
    queries:
      recent: "select * from ${schema}.weather where loaded_at > '2016-01-01'"
      write: select ${schema}.evil() as x
      smuggle: "select 1 as x) as a; create table ${schema}.smuggled(x int); select * from (select 1 as x"
  - name: slow
    urlEnv: REFIT_IMPORT_PG_SLOW
    queries: { sleep: "select pg_sleep(5) as x" }
    statementTimeoutMs: 200
`,
    );
    const config = loadConfig(
      serviceEnv(env.env, {
        REFIT_IMPORT_SOURCES: file,
        REFIT_IMPORT_PG_WAREHOUSE: env.pgUrl,
        REFIT_IMPORT_PG_SLOW: env.pgUrl,
        REFIT_IMPORT_S3_REMOTE_URL: remote.url,
        REFIT_IMPORT_S3_REMOTE_KEY: S3RVER_KEY,
        REFIT_IMPORT_S3_REMOTE_SECRET: S3RVER_KEY,
      }),
    );
    rt = await startTestRuntime(config, migrations);
    await startIngestionService(rt, config);
    client = createClient(IngestionService, rt.server?.address ?? '');
    const spec = parseSpec(SPEC);
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.pipelineApplied, { pipeline: spec.name, version: 1, specJson: JSON.stringify(spec) }));
    rt.relay.kick();
    await waitFor(async () => (await getPipelineSpec(rt.pool, spec.name)) !== undefined, { what: 'pipeline stored' });
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await db?.end();
    await remote?.stop();
    await env?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an object in the platform’s own bucket is refused, naming what is allowed; nothing is ingested', async () => {
    // Valid rows where the platform keeps this very pipeline's batches: still not a source.
    const key = `pipelines/${PIPELINE}/batches/earlier/rows.jsonl`;
    await rt.store.put(key, jsonl(YEAR('2012').slice(0, 20)));
    const before = await batchCount();
    const err = await refusal(importS3(`s3://${rt.store.bucket}/${key}`));
    expect(isInvalidInput(err)).toBe(true);
    expect(err.message).toMatch(new RegExp(`s3://${rt.store.bucket}/ is the platform's own bucket`));
    expect(err.message).toContain(`s3://${partner}/weather/, s3://${partner}/sales/2026/ (exports)`);
    expect(err.message).toContain('REFIT_IMPORT_SOURCES');
    expect(await batchCount()).toBe(before);
  });

  it('another pipeline’s objects and any key outside the declared prefixes are refused', async () => {
    await rt.store.put('pipelines/someone-else/snapshots/s1/train.jsonl', jsonl(YEAR('2012').slice(20, 40)));
    const partnerStore = createArtifactStore({ ...env.s3, bucket: partner });
    await partnerStore.ensureBucket();
    await partnerStore.put('private/payroll.jsonl', jsonl(YEAR('2012').slice(40, 60)));
    const before = await batchCount();
    const uris = [
      `s3://${rt.store.bucket}/pipelines/someone-else/snapshots/s1/train.jsonl`,
      `s3://${partner}/private/payroll.jsonl`,
      `s3://${partner}/weather/../private/payroll.jsonl`,
      `s3://${partner}/weather//../private/payroll.jsonl`,
      `s3://${partner}/weatherx/payroll.jsonl`,
      `s3://some-other-bucket/weather/payroll.jsonl`,
    ];
    for (const uri of uris) {
      const err = await refusal(importS3(uri));
      expect(isInvalidInput(err), `${uri}: ${err.message}`).toBe(true);
      expect(err.message).toMatch(/s3:\/\/partner-\w+\/weather\/|'\.\.'|empty segment/);
    }
    expect((await refusal(importS3(`s3://${partner}/private/payroll.jsonl`))).message).toMatch(
      new RegExp(`s3://${partner}/private/payroll.jsonl is not in a declared import source; allowed: s3://${partner}/weather/, .*ask an admin`),
    );
    expect(await batchCount()).toBe(before);
  });

  it('a caller’s own SQL or database URL is refused, and so is a table nobody declared', async () => {
    const before = await batchCount();
    const cases = [
      { url: env.pgUrl, query: "select pg_read_file('/etc/hostname') as date" },
      { connection: 'warehouse', query: "select pg_read_file('/etc/hostname') as date" },
      { url: env.pgUrl, table: `${env.schema('ingestion')}.batches` },
      { connection: 'warehouse', table: `${env.schema('ingestion')}.batches` },
      { connection: 'warehouse', table: 'pg_catalog.pg_authid' },
      { connection: 'warehouse', queryName: `select * from ${schema}.weather` },
      { connection: 'nowhere', table: `${schema}.weather` },
    ];
    for (const c of cases) {
      const err = await refusal(importPg(c));
      expect(isInvalidInput(err), `${JSON.stringify(c)}: ${err.message}`).toBe(true);
    }
    expect((await refusal(importPg(cases[0]))).message).toMatch(/postgres\.url is not accepted: .*declared.*postgres\.connection \(declared: warehouse, slow\)/);
    expect((await refusal(importPg(cases[1]))).message).toMatch(/postgres\.query \(SQL\) is not accepted: .*postgres\.query_name .*recent, write/);
    expect((await refusal(importPg(cases[3]))).message).toMatch(new RegExp(`table '${env.schema('ingestion')}.batches' is not declared for connection 'warehouse'; allowed: ${schema}.weather`));
    expect((await refusal(importPg(cases[6]))).message).toMatch(/no postgres connection 'nowhere' is declared \(declared: warehouse, slow\)/);
    expect(await batchCount()).toBe(before);
  });

  it('two statements are refused and no table is created', async () => {
    const before = await batchCount();
    const evil = `${schema}.evil_table`;
    for (const c of [
      { url: env.pgUrl, query: `select 1; create table ${evil}(x int)` },
      { connection: 'warehouse', query: `select 1; create table ${evil}(x int)` },
      { connection: 'warehouse', table: `${schema}.weather; create table ${evil}(x int)` },
      { connection: 'warehouse', table: `${schema}.weather`, watermarkColumn: `loaded_at; create table ${evil}(x int)` },
      { connection: 'warehouse', queryName: `recent; create table ${evil}(x int)` },
    ]) {
      const err = await refusal(importPg(c));
      expect(isInvalidInput(err), `${JSON.stringify(c)}: ${err.message}`).toBe(true);
    }
    expect(await exists(evil)).toBe(false);
    expect(await exists('public.evil_table')).toBe(false);

    // Even SQL in the file that closes the subquery it is read as runs as one prepared statement,
    // which Postgres refuses to hold two of.
    const smuggle = await refusal(importPg({ connection: 'warehouse', queryName: 'smuggle' }));
    expect(isFailedPrecondition(smuggle)).toBe(true);
    expect(smuggle.message).toMatch(/query 'smuggle' of source 'warehouse' failed: cannot insert multiple commands into a prepared statement/);
    expect(await exists(`${schema}.smuggled`)).toBe(false);
    expect(await batchCount()).toBe(before);
  });

  it('a declared table loads incrementally past a watermark, read-only, under a statement timeout', async () => {
    const insert = async (rows: string[], at: string) => {
      for (const r of rows) await db.query(`insert into ${schema}.weather values ($1, $2, $3, $4, $5, $6, $7)`, [...r.split(','), at]);
    };
    const Y2015 = YEAR('2015');
    await insert(Y2015.slice(0, 30), '2016-01-01T00:00:00Z');
    const table = { connection: 'warehouse', table: `${schema}.weather`, watermarkColumn: 'loaded_at' };
    const first = await importPg(table);
    expect(first.batch).toMatchObject({ rowsAccepted: 30n, rowsQuarantined: 0n, watermark: '2016-01-01T00:00:00.000Z' });
    expect((await importPg(table)).batch).toMatchObject({ status: 'unchanged', batchId: '', watermark: '2016-01-01T00:00:00.000Z' });
    await insert(Y2015.slice(30, 45), '2016-01-02T00:00:00Z');
    const next = await importPg(table);
    expect(next.batch).toMatchObject({ rowsAccepted: 15n, watermark: '2016-01-02T00:00:00.000Z' });
    const { batches } = await client.listBatches({ pipeline: PIPELINE });
    expect(batches.find((b) => b.batchId === next.batch?.batchId)?.filename).toBe(`warehouse/${schema}.weather after 2016-01-01T00:00:00.000Z`);

    // A named query, written by the admin, without a watermark: every row it selects, every time.
    expect((await importPg({ connection: 'warehouse', queryName: 'recent' })).batch).toMatchObject({ rowsAccepted: 15n, watermark: '' });

    // Read-only: a query that writes fails, and nothing was written.
    const write = await refusal(importPg({ connection: 'warehouse', queryName: 'write' }));
    expect(isFailedPrecondition(write)).toBe(true);
    expect(write.message).toMatch(/source 'warehouse' is read-only: query 'write' tried to write/);
    expect((await db.query(`select count(*)::int as n from ${schema}.audit`)).rows[0]).toEqual({ n: 0 });

    // The connection's statement timeout cuts a slow query short, saying which limit applied.
    const started = Date.now();
    const slow = await refusal(importPg({ connection: 'slow', queryName: 'sleep' }));
    expect(Date.now() - started).toBeLessThan(4000);
    expect(isFailedPrecondition(slow)).toBe(true);
    expect(slow.message).toMatch(/query 'sleep' of source 'slow' ran past its statement timeout of 200 ms \(statementTimeoutMs in REFIT_IMPORT_SOURCES\)/);
  });

  it('a declared S3 source imports an allowed key from a second bucket, and only under its prefixes', async () => {
    const partnerStore = createArtifactStore({ ...env.s3, bucket: partner });
    await partnerStore.ensureBucket();
    await partnerStore.put('weather/seattle-2013.jsonl', jsonl(YEAR('2013').slice(0, 25)));
    await partnerStore.put('weather-private/seattle-2013.jsonl', jsonl(YEAR('2013').slice(25, 50)));
    const { batch } = await importS3(`s3://${partner}/weather/seattle-2013.jsonl`);
    expect(batch).toMatchObject({ rowsAccepted: 25n, rowsQuarantined: 0n });
    const kept = (await rt.store.get(`pipelines/${PIPELINE}/batches/${batch?.batchId}/rows.jsonl`)).toString().trim().split('\n');
    expect(kept).toHaveLength(25);
    expect(isInvalidInput(await refusal(importS3(`s3://${partner}/weather-private/seattle-2013.jsonl`)))).toBe(true);
  });

  it('a source on another S3 endpoint reads with the keys its variables name', async () => {
    const store = createArtifactStore({ ...env.s3, endPoint: new URL(remote.url).hostname, port: remote.port, bucket: `remote-${env.id}` });
    await store.ensureBucket();
    await store.put('daily/2014.jsonl', jsonl(YEAR('2014').slice(0, 12)));
    const { batch } = await importS3(`s3://remote-${env.id}/daily/2014.jsonl`);
    expect(batch).toMatchObject({ rowsAccepted: 12n });
  });
});
