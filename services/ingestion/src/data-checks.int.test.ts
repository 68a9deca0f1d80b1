import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { IngestionService, type PushDataRequestSchema } from '@refit/contracts';
import { createArtifactStore, createClient, EVENTS, isInvalidInput, withTransaction } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startIngestionService } from './service.js';
import { getPipelineSpec } from './store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const seattle = readFileSync(join(here, '../../../node_modules/vega-datasets/data/seattle-weather.csv'), 'utf8').trim().split('\n');
const [HEADER, ...ROWS] = seattle;
const Y2012 = ROWS.filter((r) => r.startsWith('2012-'));
const Y2013 = ROWS.filter((r) => r.startsWith('2013-'));
const csv = (rows: string[], header = HEADER): string => `${[header, ...rows].join('\n')}\n`;
/** Rewrites column `k` (0 date, 1 precipitation, 2 temp_max, 3 temp_min, 4 wind, 5 weather) of a row. */
const setCell = (row: string, k: number, f: (v: string) => string): string => row.split(',').map((v, i) => (i === k ? f(v) : v)).join(',');
const fahrenheit = (c: string): string => (Number(c) * 1.8 + 32).toFixed(1);

const SPEC = `
apiVersion: refit/v1
kind: Pipeline
name: seattle-checks
schema:
  columns:
    - { name: date, type: date, unique: true }
    - { name: precipitation, type: number, min: 0 }
    - { name: temp_max, type: number, min: -60, max: 60 }
    - { name: temp_min, type: number, min: -60, max: 60 }
    - { name: wind, type: number, min: 0 }
    - { name: weather, type: category }
  timestamp: date
label: { column: precipitation, positive: { gt: 0 } }
features:
  - { name: temp_max, type: number }
  - { name: wind, type: number }
`;

describe('data checks on Seattle weather with injected faults', () => {
  let env: TestEnv;
  let rt: Awaited<ReturnType<typeof startTestRuntime>>;
  let client: ReturnType<typeof createClient<typeof IngestionService>>;
  let dir: string;

  async function push(body: string, opts: { format?: string; resubmitsBatchId?: string } = {}) {
    async function* requests(): AsyncGenerator<MessageInitShape<typeof PushDataRequestSchema>> {
      yield { part: { case: 'header', value: { pipeline: 'seattle-checks', format: opts.format ?? 'csv', filename: 'faulty.csv', resubmitsBatchId: opts.resubmitsBatchId ?? '' } } };
      yield { part: { case: 'chunk', value: Buffer.from(body) } };
    }
    return client.pushData(requests(), { timeoutMs: 30_000 });
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'ingestion-checks' });
    // ImportData reads only declared sources: an exports bucket and a warehouse table and query.
    dir = mkdtempSync(join(tmpdir(), 'refit-data-checks-'));
    const schema = env.schema('source');
    writeFileSync(
      join(dir, 'sources.yaml'),
      `s3: [{ name: exports, bucket: exports-${env.id}, prefixes: [incoming/] }]
postgres:
  - name: warehouse
    urlEnv: REFIT_IMPORT_PG_WAREHOUSE
    tables: [${schema}.weather]
    queries: { since2016: "select * from ${schema}.weather where loaded_at > '2016-01-01'" }
`,
    );
    const config = loadConfig(serviceEnv(env.env, { REFIT_IMPORT_SOURCES: join(dir, 'sources.yaml'), REFIT_IMPORT_PG_WAREHOUSE: env.pgUrl }));
    rt = await startTestRuntime(config, migrations);
    await startIngestionService(rt, config);
    client = createClient(IngestionService, rt.server?.address ?? '');
    const spec = parseSpec(SPEC);
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.pipelineApplied, { pipeline: spec.name, version: 1, specJson: JSON.stringify(spec) }));
    rt.relay.kick();
    await waitFor(async () => (await getPipelineSpec(rt.pool, spec.name)) !== undefined, { what: 'pipeline stored' });
    // 2012 is the first batch: its profile is pinned as the reference.
    expect(await push(csv(Y2012))).toMatchObject({ status: 'accepted', rowsAccepted: 366n, batchProblems: [], warnings: [] });
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a renamed column rejects the batch, naming the missing column and the unknown one', async () => {
    const err = await push(csv(Y2013.slice(0, 50), HEADER.replace('wind', 'wind_speed'))).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err && isInvalidInput(err)).toBe(true);
    expect(err?.message).toMatch(/column 'wind' missing from the CSV header \(line 1\); the file has a column 'wind_speed' the schema does not declare — renamed\?/);
  });

  it('temperatures sent in Fahrenheit reject the batch as a unit change; its rows stay stored', async () => {
    const rows = Y2013.map((r) => setCell(setCell(r, 2, fahrenheit), 3, fahrenheit));
    const res = await push(csv(rows));
    expect(res.status).toBe('rejected');
    expect(res.batchProblems.join('\n')).toMatch(/column 'temp_max': \d+% of the values are above the maximum 60 .*another unit/);
    expect(res.warnings.join('\n')).toMatch(/column 'temp_min': median [\d.]+ against [\d.]+ in the pinned schema/);
    // Every row is kept: in range in the batch's rows, out of range in quarantine.
    expect(res.rowsAccepted + res.rowsQuarantined).toBe(365n);
    const { batches } = await client.listBatches({ pipeline: 'seattle-checks' });
    expect(batches.find((b) => b.batchId === res.batchId)).toMatchObject({ status: 'rejected' });
  });

  it('30 % nulls in wind: those rows quarantined with the reason, the batch flagged, the good rows kept; fixed rows re-submitted', async () => {
    const rows = Y2013.slice(0, 100).map((r, i) => (i % 10 < 3 ? setCell(r, 4, () => '') : r));
    const res = await push(csv(rows));
    expect(res).toMatchObject({ status: 'flagged', rowsAccepted: 70n, rowsQuarantined: 30n });
    expect(res.problems[0]).toMatchObject({ line: 2n, column: 'wind', message: expect.stringMatching(/column 'wind': a value is required/) as string });
    expect(res.warnings.join('\n')).toMatch(/column 'wind': 30% of the values are empty, against 0% in the pinned schema .*re-submit/);

    const { rows: open } = await client.listQuarantine({ pipeline: 'seattle-checks', batchId: res.batchId });
    expect(open).toHaveLength(30);
    const fixed = open.map((q) => setCell(q.raw, 4, () => '3.0'));
    const again = await push(csv(fixed), { resubmitsBatchId: res.batchId });
    expect(again).toMatchObject({ status: 'accepted', rowsAccepted: 30n, rowsQuarantined: 0n });
    expect((await client.listQuarantine({ pipeline: 'seattle-checks', batchId: res.batchId })).rows).toHaveLength(0);
    const resolved = await client.listQuarantine({ pipeline: 'seattle-checks', batchId: res.batchId, includeResolved: true });
    expect(resolved.rows.every((q) => q.resolvedBy === again.batchId)).toBe(true);
  });

  it('a new category, duplicate rows and a malformed line flag the batch and keep every good row', async () => {
    const rows = Y2013.slice(100, 140);
    rows[3] = setCell(rows[3], 5, () => 'hail');
    const body = csv([...rows, rows[7], '2013-06-01,0.0,15.6', ...Y2013.slice(140, 150)]);
    const res = await push(body);
    expect(res.status).toBe('flagged');
    // The repeated row shares its date, which is unique: quarantined, saying where the first one is.
    expect(res.problems.map((p) => [p.line, p.message])).toEqual([
      [42n, "column 'date': '2013-04-18' already appeared on line 9; it must be unique"],
      [43n, 'expected 6 fields as in the header, got 3'],
    ]);
    expect(res.rowsAccepted).toBe(50n);
    expect(res.warnings.join('\n')).toMatch(/column 'weather': new category 'hail' \(1 row\) not in the pinned schema \(drizzle, fog, rain, snow, sun\)/);
  });

  it('JSON lines and an object in S3 go through the same checks', async () => {
    const objs = Y2013.slice(150, 170).map((r) => {
      const [date, precipitation, tmax, tmin, wind, weather] = r.split(',');
      return JSON.stringify({ date, precipitation: Number(precipitation), temp_max: Number(tmax), temp_min: Number(tmin), wind: Number(wind), weather });
    });
    const res = await push(`${objs.join('\n')}\n{"date": "2013-07-01", "temp_max": "hot"\nnot json\n`, { format: 'jsonl' });
    expect(res).toMatchObject({ rowsAccepted: 20n, rowsQuarantined: 2n });
    expect(res.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^line 21 is not valid JSON/), expect.stringMatching(/^line 22 is not valid JSON/)]);

    const exports = createArtifactStore({ ...env.s3, bucket: `exports-${env.id}` });
    await exports.ensureBucket();
    await exports.put('incoming/seattle-2014.jsonl', `${objs.map((o) => o.replace('2013-', '2014-')).join('\n')}\n`);
    const { batch } = await client.importData({ pipeline: 'seattle-checks', source: { case: 's3Uri', value: `s3://${exports.bucket}/incoming/seattle-2014.jsonl` } });
    expect(batch).toMatchObject({ status: 'accepted', rowsAccepted: 20n });
  });

  it('a Postgres table loads incrementally by its watermark column', async () => {
    const schema = env.schema('source');
    const db = new pg.Client({ connectionString: env.pgUrl });
    await db.connect();
    try {
      await db.query(`create schema if not exists ${schema}; create table ${schema}.weather (date date, precipitation float8, temp_max float8, temp_min float8, wind float8, weather text, loaded_at timestamptz)`);
      const insert = async (rows: string[], at: string) => {
        for (const r of rows) await db.query(`insert into ${schema}.weather values ($1, $2, $3, $4, $5, $6, $7)`, [...r.split(','), at]);
      };
      const Y2015 = ROWS.filter((r) => r.startsWith('2015-'));
      await insert(Y2015.slice(0, 30), '2016-01-01T00:00:00Z');
      const source = { connection: 'warehouse', table: `${schema}.weather`, watermarkColumn: 'loaded_at' };
      const first = await client.importData({ pipeline: 'seattle-checks', source: { case: 'postgres', value: source } });
      expect(first.batch).toMatchObject({ rowsAccepted: 30n, rowsQuarantined: 0n, watermark: '2016-01-01T00:00:00.000Z' });

      const nothing = await client.importData({ pipeline: 'seattle-checks', source: { case: 'postgres', value: source } });
      expect(nothing.batch).toMatchObject({ status: 'unchanged', batchId: '', watermark: '2016-01-01T00:00:00.000Z' });

      await insert(Y2015.slice(30, 45), '2016-01-02T00:00:00Z');
      const next = await client.importData({ pipeline: 'seattle-checks', source: { case: 'postgres', value: source } });
      expect(next.batch).toMatchObject({ rowsAccepted: 15n, watermark: '2016-01-02T00:00:00.000Z' });
      const stored = (await rt.store.get(`pipelines/seattle-checks/batches/${next.batch?.batchId}/rows.jsonl`)).toString().trim().split('\n');
      expect((JSON.parse(stored[0]) as { date: string }).date.slice(0, 10)).toBe(Y2015[30].slice(0, 10));

      // A declared query instead of a table, without a watermark: every row it selects, every time.
      const query = { connection: 'warehouse', queryName: 'since2016' };
      expect((await client.importData({ pipeline: 'seattle-checks', source: { case: 'postgres', value: query } })).batch).toMatchObject({ rowsAccepted: 15n, watermark: '' });
      const both = await client.importData({ pipeline: 'seattle-checks', source: { case: 'postgres', value: { ...query, table: 'x' } } }).catch((e: unknown) => e as Error);
      expect(isInvalidInput(both) && both.message).toBe('give exactly one of postgres.table and postgres.query_name');
    } finally {
      await db.end();
    }
  });
});
