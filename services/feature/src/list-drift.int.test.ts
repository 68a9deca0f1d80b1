import { fromBinary, type MessageShape } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FeatureService, type DriftReportSchema } from '@refit/contracts';
import { createClient, EVENTS, isInvalidInput, withTransaction, wireRef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, weatherRows, type DataRow, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startFeatureService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));
const jsonl = (rows: object[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
const served = (rows: DataRow[]) => rows.map(({ temp_max, temp_min, wind }) => ({ temp_max, temp_min, wind }));

type Report = MessageShape<typeof DriftReportSchema>;

describe('ListDrift: the drift history of a pipeline through gRPC (real Seattle and New York weather)', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof FeatureService>>;
  /** Every drift.report published, in publication order. */
  const published = async (): Promise<Report[]> =>
    (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.driftReport.name}` })).map((e) => fromBinary(EVENTS.driftReport.schema, e.data));

  /** Prepares the features of run `runId` on `train` and waits until its statistics are stored. */
  async function prepare(runId: string, train: DataRow[]): Promise<void> {
    const put = (name: string, rows: DataRow[]) => rt.store.put(`pipelines/${spec.name}/snapshots/${runId}/${name}.jsonl`, jsonl(rows));
    const [rawTrain, rawValidation, rawTest] = await Promise.all([put('train', train), put('validation', weatherRows('Seattle', '2015-01-01', '2015-03-01')), put('test', weatherRows('Seattle', '2015-03-01', '2015-05-01'))]);
    const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'list drift test' };
    const lineage = { snapshotSha256: runId, rawTrain: wireRef(rawTrain), rawValidation: wireRef(rawValidation), rawTest: wireRef(rawTest), rowsTrain: BigInt(train.length), rowsValidation: 59n, rowsTest: 61n };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.datasetPrepared, { context, lineage }, { runId }));
    rt.relay.kick();
    await waitFor(async () => (await rt.pool.query('select 1 from stats where run_id = $1', [runId])).rowCount === 1, { timeoutMs: 15_000, what: `statistics of ${runId}` });
  }

  /** Publishes a monitoring window of served `rows` of v1 and waits for its drift row. */
  async function window(rows: DataRow[], endMs: number): Promise<void> {
    const ref = await rt.store.putContentAddressed(`pipelines/${spec.name}/windows`, jsonl(served(rows)), '.jsonl');
    await withTransaction(rt.pool, (tx) =>
      rt.publish(tx, EVENTS.monitoringWindow, { pipeline: spec.name, version: 'v1', variant: 'champion', windowEnd: timestampFromMs(endMs), features: wireRef(ref), featureRows: BigInt(rows.length) }),
    );
    rt.relay.kick();
    await waitFor(async () => (await rt.pool.query('select 1 from window_drift where window_end = $1', [new Date(endMs)])).rowCount === 1, { timeoutMs: 15_000, what: `drift of window ${endMs}` });
  }

  const rejection = (p: Promise<unknown>) => p.then(() => new Error('expected INVALID_ARGUMENT'), (e: unknown) => e);

  beforeAll(async () => {
    env = await createTestEnv({ name: 'list-drift' });
    rt = await startTestRuntime(loadConfig(serviceEnv(env.env)), migrations);
    await startFeatureService(rt);
    client = createClient(FeatureService, rt.server?.address ?? '');
    // Three runs: Seattle 2012 (no previous run: no report), New York 2013, Seattle 2013 (one training report each).
    await prepare('r-1', weatherRows('Seattle', '2012-01-01', '2013-01-01'));
    await prepare('r-2', weatherRows('New York', '2013-01-01', '2014-01-01'));
    await prepare('r-3', weatherRows('Seattle', '2013-01-01', '2014-01-01'));
    // v1 (run r-1) serves two windows: Seattle's spring 2013, then New York 2013.
    const context = { runId: 'r-1', pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec) };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelRegistered, { context, version: 'v1', promoted: true }, { runId: 'r-1' }));
    rt.relay.kick();
    await waitFor(async () => (await rt.pool.query("select 1 from model_versions where version = 'v1'")).rowCount === 1, { timeoutMs: 15_000 });
    await window(weatherRows('Seattle', '2013-04-01', '2013-07-01'), Date.UTC(2026, 0, 1));
    await window(weatherRows('New York', '2013-01-01', '2014-01-01'), Date.UTC(2026, 0, 2));
    await waitFor(async () => (await published()).length === 4, { timeoutMs: 15_000, what: 'four drift reports' });
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('returns both kinds newest first, each exactly as drift.report carried it', async () => {
    const { reports } = await client.listDrift({ pipeline: spec.name });
    expect(reports.map((r) => [r.source, r.runId, r.version])).toEqual([
      ['live', '', 'v1'],
      ['live', '', 'v1'],
      ['training', 'r-3', ''],
      ['training', 'r-2', ''],
    ]);
    expect(reports.map((r) => Number(r.windowEnd?.seconds ?? 0n) * 1000)).toEqual([Date.UTC(2026, 0, 2), Date.UTC(2026, 0, 1), 0, 0]);
    // Rebuilt from the tables and the stored body, they are the published messages, reference included.
    expect(reports).toEqual((await published()).reverse());
    const ny = reports[3];
    expect(ny).toMatchObject({ referenceRunId: 'r-1', status: 'drift' });
    const h = ny.columns.find((c) => c.column === 'temp_min')?.histogram;
    expect(h?.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(h?.current.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(h?.current).not.toEqual(h?.reference);
  });

  it('filters by source and honours the limit', async () => {
    const training = (await client.listDrift({ pipeline: spec.name, source: 'training' })).reports;
    expect(training.map((r) => r.runId)).toEqual(['r-3', 'r-2']);
    const live = (await client.listDrift({ pipeline: spec.name, source: 'live' })).reports;
    expect(live.map((r) => r.source)).toEqual(['live', 'live']);
    expect((await client.listDrift({ pipeline: spec.name, limit: 1 })).reports.map((r) => r.windowEnd?.seconds)).toEqual([BigInt(Date.UTC(2026, 0, 2) / 1000)]);
    expect((await client.listDrift({ pipeline: spec.name, source: 'training', limit: 1 })).reports.map((r) => r.runId)).toEqual(['r-3']);
    expect((await client.listDrift({ pipeline: spec.name, limit: 200 })).reports).toHaveLength(4);
  });

  it('gives an empty list for a pipeline with no report: the feature service cannot tell unknown from not yet measured', async () => {
    expect((await client.listDrift({ pipeline: 'no-such-pipeline' })).reports).toEqual([]);
  });

  it('rejects every bad field with INVALID_ARGUMENT naming it', async () => {
    const cases: Array<[Parameters<typeof client.listDrift>[0], RegExp]> = [
      [{}, /pipeline is required/],
      [{ pipeline: 'Weather Rain' }, /pipeline: 'Weather Rain' is not a pipeline name/],
      [{ pipeline: spec.name, limit: 201 }, /limit must be between 1 and 200 \(0 means 20\), got 201/],
      [{ pipeline: spec.name, limit: -1 }, /limit must be between 1 and 200 \(0 means 20\), got -1/],
      [{ pipeline: spec.name, source: 'batch' }, /source must be 'training', 'live' or empty \(both\), got 'batch'/],
    ];
    for (const [req, message] of cases) {
      const err = await rejection(client.listDrift(req));
      expect(isInvalidInput(err), String(err)).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
  });
});
