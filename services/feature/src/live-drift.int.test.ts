import { fromBinary, type MessageShape } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DriftReportSchema } from '@refit/contracts';
import { EVENTS, withTransaction, wireRef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, weatherRows, type DataRow, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startFeatureService } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));
const jsonl = (rows: object[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
/** What the deployer samples: the rows it was asked to predict on (the features only). */
const served = (rows: DataRow[]) => rows.map(({ temp_max, temp_min, wind }) => ({ temp_max, temp_min, wind }));

type Report = MessageShape<typeof DriftReportSchema>;

describe('live drift: served feature windows against the champion’s training data (real Seattle and New York weather)', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let windowMs = Date.UTC(2026, 0, 1);

  const liveReports = async (): Promise<Report[]> =>
    (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${EVENTS.driftReport.name}` }))
      .map((e) => fromBinary(EVENTS.driftReport.schema, e.data))
      .filter((r) => r.source === 'live');

  /** Uploads a served sample, publishes its monitoring window and returns the window end (ms). */
  async function window(rows: DataRow[], end = (windowMs += 60_000)): Promise<number> {
    const ref = await rt.store.putContentAddressed(`pipelines/${spec.name}/windows`, jsonl(served(rows)), '.jsonl');
    await withTransaction(rt.pool, (tx) =>
      rt.publish(tx, EVENTS.monitoringWindow, { pipeline: spec.name, version: 'v1', variant: 'champion', windowEnd: timestampFromMs(end), features: wireRef(ref), featureRows: BigInt(rows.length) }),
    );
    rt.relay.kick();
    return end;
  }
  const reportOf = (end: number) =>
    waitFor(async () => (await liveReports()).find((r) => Number(r.windowEnd?.seconds ?? 0n) * 1000 === end), { timeoutMs: 15_000, what: `drift report of window ${end}` });
  const psiOf = (r: Report) => Object.fromEntries(r.columns.map((c) => [c.column, Number((c.psi ?? Number.NaN).toFixed(3))]));

  beforeAll(async () => {
    env = await createTestEnv({ name: 'live-drift' });
    rt = await startTestRuntime(loadConfig(serviceEnv(env.env)), migrations);
    await startFeatureService(rt);
    // The champion v1 was trained on Seattle 2012 (run r-2012): its training statistics are the reference.
    const put = (name: string, rows: DataRow[]) => rt.store.put(`pipelines/${spec.name}/snapshots/r-2012/${name}.jsonl`, jsonl(rows));
    const [train, validation, test] = await Promise.all([put('train', weatherRows('Seattle', '2012-01-01', '2013-01-01')), put('validation', weatherRows('Seattle', '2015-01-01', '2015-03-01')), put('test', weatherRows('Seattle', '2015-03-01', '2015-05-01'))]);
    const context = { runId: 'r-2012', pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'live drift test' };
    await withTransaction(rt.pool, async (tx) => {
      await rt.publish(tx, EVENTS.datasetPrepared, { context, lineage: { snapshotSha256: 'r-2012', rawTrain: wireRef(train), rawValidation: wireRef(validation), rawTest: wireRef(test), rowsTrain: 366n, rowsValidation: 59n, rowsTest: 61n } }, { runId: 'r-2012' });
      await rt.publish(tx, EVENTS.modelRegistered, { context, version: 'v1', promoted: true }, { runId: 'r-2012' });
    });
    rt.relay.kick();
    await waitFor(async () => (await rt.pool.query("select 1 from stats s join model_versions v on v.run_id = s.run_id where v.version = 'v1'")).rowCount === 1, { timeoutMs: 15_000 });
  });
  afterAll(async () => {
    await rt?.close();
    await env?.cleanup();
  });

  it('each quarter of 2013 drifts from the full year 2012; the full year 2013 does not', async () => {
    const quarters = [['01', '04'], ['04', '07'], ['07', '10'], ['10', '13']].map(([a, b]) => weatherRows('Seattle', `2013-${a}-01`, b === '13' ? '2014-01-01' : `2013-${b}-01`));
    const ends = [];
    for (const q of quarters) ends.push(await window(q));
    const year = await window(weatherRows('Seattle', '2013-01-01', '2014-01-01'));
    for (const end of ends) {
      const r = await reportOf(end);
      expect(r).toMatchObject({ pipeline: 'weather-rain', version: 'v1', referenceRunId: 'r-2012', runId: '', status: 'drift' });
      expect(r.columns.map((c) => c.column)).toEqual(['temp_max', 'temp_min', 'wind']);
      // Measured: temp_max PSI 1.99, 1.90, 3.83, 1.52 for Q1…Q4 against ~0.1 of sampling noise at 90 rows.
      expect(r.columns[0]).toMatchObject({ test: 'psi', status: 'drift', referenceSize: 366n });
      expect(r.columns[0].psi).toBeGreaterThan(1);
      expect(r.share).toBeGreaterThanOrEqual(2 / 3);
    }
    const y = await reportOf(year);
    // Measured: temp_max 0.198, temp_min 0.132, wind 0.106: every feature below 0.25.
    expect(y).toMatchObject({ status: 'no-drift', share: 0 });
    expect(y.columns.every((c) => c.status === 'no-drift' && (c.psi ?? 1) < 0.25 && c.currentSize === 365n)).toBe(true);
    console.log('live drift PSI', JSON.stringify({ quarters: await Promise.all(ends.map(async (e) => psiOf(await reportOf(e)))), year2013: psiOf(y) }));
  });

  it('New York drifts on temp_min and wind; a 20-row window is not-enough-data; a window is measured once', async () => {
    const ny = await reportOf(await window(weatherRows('New York', '2013-01-01', '2014-01-01')));
    const by = Object.fromEntries(ny.columns.map((c) => [c.column, c]));
    expect(ny.status).toBe('drift');
    expect(by.temp_min).toMatchObject({ status: 'drift' });
    expect(by.wind).toMatchObject({ status: 'drift' });
    expect(by.wind.psi).toBeGreaterThan(1);
    expect(by.temp_min.psi).toBeGreaterThan(0.5);
    console.log('live drift PSI', JSON.stringify({ newYork2013: psiOf(ny) }));
    // What the console draws: Seattle 2012's temp_min deciles against New York 2013's shares in them.
    const h = by.temp_min.histogram;
    if (!h) throw new Error('temp_min carries no histogram');
    expect(h.categories).toEqual([]);
    expect(h.edges.length).toBeGreaterThan(5);
    for (let i = 1; i < h.edges.length; i++) expect(h.edges[i]).toBeGreaterThan(h.edges[i - 1]);
    expect(h.reference).toHaveLength(h.edges.length + 1);
    expect(h.current).toHaveLength(h.edges.length + 1);
    const sum = (a: number[]) => a.reduce((x, v) => x + v, 0);
    expect(sum(h.reference)).toBeCloseTo(1, 9);
    expect(sum(h.current)).toBeCloseTo(1, 9);
    // Deciles of the reference hold about a tenth of it each; New York's colder winters fill the lowest bin.
    for (const share of h.reference) expect(share).toBeLessThan(0.2);
    expect(h.current[0]).toBeGreaterThan(h.reference[0] + 0.1);
    expect(Math.max(...h.current.map((c, i) => Math.abs(c - h.reference[i])))).toBeGreaterThan(0.1);

    const small = await reportOf(await window(weatherRows('Seattle', '2013-07-01', '2013-07-21')));
    expect(small).toMatchObject({ status: 'not-enough-data' });
    expect(small.columns.every((c) => c.status === 'not-enough-data' && c.currentSize === 20n && c.psi === undefined)).toBe(true);

    // The same window again (another event, same version and end): stored once, reported once.
    const before = (await liveReports()).length;
    const end = await window(weatherRows('Seattle', '2013-07-01', '2013-07-21'), windowMs);
    await waitFor(async () => (await rt.pool.query('select 1 from handled_events where consumer = $1', ['feature-monitoring-window'])).rowCount === 8, { timeoutMs: 15_000 });
    expect(end).toBe(windowMs);
    expect(await liveReports()).toHaveLength(before);
    const stored = await rt.pool.query<{ status: string; rows: string }>('select status, rows from window_drift where window_end = $1', [new Date(end)]);
    expect(stored.rows).toEqual([{ status: 'not-enough-data', rows: '20' }]);
  });

  it('windows without a feature sample or of an unknown version make no report', async () => {
    await withTransaction(rt.pool, async (tx) => {
      await rt.publish(tx, EVENTS.monitoringWindow, { pipeline: spec.name, version: 'v1', variant: 'canary', windowEnd: timestampFromMs(windowMs + 1) });
      const ref = await rt.store.putContentAddressed(`pipelines/${spec.name}/windows`, jsonl(served(weatherRows('Seattle', '2014-01-01', '2015-01-01'))), '.jsonl');
      await rt.publish(tx, EVENTS.monitoringWindow, { pipeline: spec.name, version: 'v9', variant: 'champion', windowEnd: timestampFromMs(windowMs + 2), features: wireRef(ref) });
    });
    rt.relay.kick();
    const before = (await liveReports()).length;
    await waitFor(async () => (await rt.pool.query('select 1 from handled_events where consumer = $1', ['feature-monitoring-window'])).rowCount === 10, { timeoutMs: 15_000 });
    expect(await liveReports()).toHaveLength(before);
  });
});
