import { fromBinary } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployerService } from '@refit/contracts';
import { binaryMetrics } from '@refit/ml';
import { fitTransform, labelsOf, applyTransform, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, isInvalidInput, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, weatherRows, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startDeployerService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const spec = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));

describe('prediction log, feedback and monitoring windows', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof DeployerService>>;

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer-monitoring' });
    const config = loadConfig(serviceEnv(env.env, { REFIT_MONITOR_WINDOW_MS: '300' }));
    rt = await startTestRuntime(config, join(here, 'migrations'));
    // A Seattle model, deployed by hand (the registry is not needed to test monitoring).
    const train = weatherRows('Seattle', '2012-01-01', '2013-01-01') as RawRow[];
    const transform = fitTransform(train, spec.features);
    const t = applyTransform(transform, train);
    const { model } = await trainModel({ X: t.X, y: labelsOf(train, spec.label), n: t.n, d: t.d, spec: { kind: 'logistic', epochs: 5, seed: 1 } });
    const modelRef = await rt.store.put('m/model.refitm', await model.serialize());
    model.dispose();
    const transformRef = await rt.store.put('m/transform.json', serializeTransform(transform));
    await rt.pool.query('insert into deployments (pipeline, version, run_id, model_key, transform_key) values ($1, $2, $3, $4, $5)', [spec.name, 'v1', 'r-1', modelRef.key, transformRef.key]);
    await startDeployerService(rt, config);
    client = createClient(DeployerService, rt.server?.address ?? '');
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('joins feedback to logged predictions and reports live metrics per window', async () => {
    const rows = weatherRows('New York', '2014-01-01', '2015-01-01').slice(0, 120) as RawRow[];
    const { predictions } = await client.predict({ pipeline: spec.name, rows: rows.map((r) => ({ temp_max: Number(r.temp_max), temp_min: Number(r.temp_min), wind: Number(r.wind) })) });
    expect(predictions).toHaveLength(120);
    const labeled = rows.slice(0, 100);
    const labels = labelsOf(labeled, spec.label);
    const unknown = '00000000-0000-4000-8000-000000000000';
    const r = await client.sendFeedback({
      pipeline: spec.name,
      feedback: [...labeled.map((_, i) => ({ predictionId: predictions[i].predictionId, label: labels[i] })), { predictionId: unknown, label: 1 }],
    });
    expect(r).toMatchObject({ joined: 100n, unknown: [unknown] });

    const expected = binaryMetrics(labels, Float64Array.from(predictions.slice(0, 100), (p) => p.probability));
    const window = await waitFor(
      async () => {
        const events = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.monitoring.window` });
        return events.map((e) => fromBinary(EVENTS.monitoringWindow.schema, e.data)).find((w) => w.labeled > 0n);
      },
      { timeoutMs: 10_000 },
    );
    expect(window).toMatchObject({ pipeline: spec.name, version: 'v1', variant: 'champion', labeled: 100n });
    expect(window.metrics.accuracy).toBeCloseTo(expected.accuracy, 10);
    expect(window.metrics.logLoss).toBeCloseTo(expected.logLoss, 6);
    // Per-row sums for the trigger's sequential test: sum / labeled is the window's metric.
    expect(window.rowSums.accuracy.sum / 100).toBeCloseTo(expected.accuracy, 10);
    expect(window.rowSums.logLoss.sum / 100).toBeCloseTo(expected.logLoss, 6);
    // The latency belongs to the window the predictions were made in (feedback may land in a later one).
    const made = (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.monitoring.window` }))
      .map((e) => fromBinary(EVENTS.monitoringWindow.schema, e.data))
      .filter((w) => w.predictions > 0n);
    expect(made.reduce((n, w) => n + w.predictions, 0n)).toBe(120n);
    expect(made.every((w) => w.meanLatencyMs > 0)).toBe(true);
    // The window carries the raw feature rows it served, for drift checks.
    const sampleWindow = await waitFor(async () => {
      const events = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.monitoring.window` });
      return events.map((e) => fromBinary(EVENTS.monitoringWindow.schema, e.data)).find((w) => w.featureRows > 0n);
    });
    expect(sampleWindow.featureRows).toBe(120n);
    const served = (await rt.store.get(sampleWindow.features?.key ?? '')).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(served[0]).toEqual({ temp_max: Number(rows[0].temp_max), temp_min: Number(rows[0].temp_min), wind: Number(rows[0].wind) });
  });

  it('a failed Predict keeps its error for the caller and counts against the variant that failed in the next window', async () => {
    const windowsOf = async () =>
      (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.monitoring.window` })).map((e) => fromBinary(EVENTS.monitoringWindow.schema, e.data));
    const before = (await windowsOf()).length;
    const bad = await client.predict({ pipeline: spec.name, rows: [{ temp_max: 10, temp_min: 2, wind: 3 }, { temp_max: 'warm', temp_min: 2, wind: 3 }] }).catch((e: unknown) => e);
    expect(isInvalidInput(bad) && (bad as Error).message).toMatch(/row 1: column "temp_max" is not a number/);
    await client.predict({ pipeline: spec.name, rows: [{ temp_max: 10, temp_min: 2, wind: 3 }, { temp_max: 12, temp_min: 4, wind: 1 }] });
    const windows = await waitFor(async () => {
      const ws = (await windowsOf()).slice(before).filter((w) => w.variant === 'champion' && w.version === 'v1');
      return ws.some((w) => w.metrics.errors > 0) && ws.reduce((n, w) => n + w.predictions, 0n) === 2n ? ws : undefined;
    }, { timeoutMs: 10_000, what: 'a window with the failure' });
    expect(windows.reduce((n, w) => n + (w.metrics.errors ?? 0), 0)).toBe(2);
    const failedIn = windows.find((w) => w.metrics.errors > 0);
    expect(failedIn?.metrics.errorRate).toBeCloseTo(2 / (2 + Number(failedIn?.predictions ?? 0)), 10);
    // Every window reports an error rate, zero when nothing failed.
    expect((await windowsOf()).every((w) => w.metrics.errorRate !== undefined)).toBe(true);
  });

  it('refuses feedback that is not a prediction id or not a 0/1 label, naming the entry', async () => {
    const e1 = await client.sendFeedback({ pipeline: spec.name, feedback: [{ predictionId: 'nope', label: 1 }] }).catch((e: unknown) => e);
    expect(isInvalidInput(e1) && (e1 as Error).message).toBe("feedback[0].prediction_id 'nope' is not a prediction id");
    const e2 = await client.sendFeedback({ pipeline: spec.name, feedback: [{ predictionId: '00000000-0000-4000-8000-000000000000', label: 0.5 }] }).catch((e: unknown) => e);
    expect((e2 as Error).message).toBe('feedback[0].label must be 0 or 1, got 0.5');
  });
  it('reads the windows back, newest first, as they were published; refuses a bad request naming the field', async () => {
    const published = (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.monitoring.window` }))
      .map((e) => fromBinary(EVENTS.monitoringWindow.schema, e.data))
      .filter((w) => w.pipeline === spec.name);
    const { windows } = await client.listWindows({ pipeline: spec.name, limit: 500 });
    // Windows keep closing meanwhile: those read back start with the published ones, newest first.
    const oldestFirst = [...windows].reverse().slice(0, published.length);
    expect(oldestFirst.map((w) => [w.version, w.variant, w.predictions, w.labeled, w.metrics.accuracy ?? null])).toEqual(
      published.map((w) => [w.version, w.variant, w.predictions, w.labeled, w.metrics.accuracy ?? null]),
    );
    expect(windows.some((w) => w.labeled === 100n)).toBe(true);
    expect((await client.listWindows({ pipeline: spec.name, limit: 2 })).windows).toHaveLength(2);
    expect((await client.listWindows({ pipeline: spec.name, version: 'v9' })).windows).toEqual([]);
    const refused = async (req: { pipeline: string; limit?: number }) => ((await client.listWindows(req).catch((e: unknown) => e)) as Error).message;
    expect(await refused({ pipeline: '' })).toMatch(/pipeline is required/);
    expect(await refused({ pipeline: spec.name, limit: 501 })).toMatch(/limit is 501; expected 1 to 500/);
  });

  it('counts a prediction and its label whose writes commit after the window of their time closed, in the next window', async () => {
    // Another pipeline served by the same model, so its windows hold only the rows written here.
    const pipeline = 'late-writes';
    await rt.pool.query('insert into deployments (pipeline, version, run_id, model_key, transform_key) select $1, version, run_id, model_key, transform_key from deployments where pipeline = $2', [pipeline, spec.name]);
    const madeAt = new Date(Date.now() - 5_000);
    // Windows close every 300 ms: wait until one has closed past the row's time, as happens when
    // the prediction log flushes late or a feedback transaction commits late (or on another replica).
    await waitFor(async () => ((await rt.pool.query<{ window_end: Date }>('select window_end from monitoring_state where pipeline = $1', [pipeline])).rows[0]?.window_end ?? new Date(0)) > madeAt, { what: 'a window closed after the row' });
    await rt.pool.query(
      `insert into predictions (prediction_id, pipeline, version, variant, probability, latency_ms, created_at, threshold, feedback_label, feedback_at)
       values ('00000000-0000-4000-8000-00000000beef', $1, 'v1', 'champion', 0.8, 2, $2, 0.5, 1, $2)`,
      [pipeline, madeAt],
    );
    const window = await waitFor(
      async () => {
        const events = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.monitoring.window` });
        return events.map((e) => fromBinary(EVENTS.monitoringWindow.schema, e.data)).find((w) => w.pipeline === pipeline);
      },
      { timeoutMs: 15_000, what: 'the window that counts the late row' },
    );
    expect(window).toMatchObject({ version: 'v1', variant: 'champion', predictions: 1n, labeled: 1n });
    expect(window.metrics.accuracy).toBe(1);
    // Counted once: the windows after it are empty.
    const before = (await rt.pool.query<{ window_end: Date }>('select window_end from monitoring_state where pipeline = $1', [pipeline])).rows[0].window_end;
    await waitFor(async () => (await rt.pool.query<{ window_end: Date }>('select window_end from monitoring_state where pipeline = $1', [pipeline])).rows[0].window_end > before, { what: 'one more window' });
    const all = (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.monitoring.window` })).map((e) => fromBinary(EVENTS.monitoringWindow.schema, e.data)).filter((w) => w.pipeline === pipeline);
    expect(all).toHaveLength(1);
  });

  it('marks a champion window of a version that no longer serves as retired, so the trigger never retrains on it', async () => {
    // Predictions of v1 made as champion; the champion then moves to v2 before their labels come.
    const pipeline = 'retired-champion';
    await rt.pool.query('insert into deployments (pipeline, version, run_id, model_key, transform_key) select $1, version, run_id, model_key, transform_key from deployments where pipeline = $2', [pipeline, spec.name]);
    const madeAt = new Date();
    const late = (id: string, version: string) =>
      rt.pool.query(
        `insert into predictions (prediction_id, pipeline, version, variant, probability, latency_ms, created_at, threshold, feedback_label, feedback_at)
         values ($1, $2, $3, 'champion', 0.8, 2, $4, 0.5, 1, $4)`,
        [id, pipeline, version, madeAt],
      );
    await rt.pool.query(`update deployments set version = 'v2' where pipeline = $1`, [pipeline]);
    await late('00000000-0000-4000-8000-0000000000a1', 'v1');
    await late('00000000-0000-4000-8000-0000000000a2', 'v2');
    const windows = await waitFor(
      async () => {
        const events = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.monitoring.window` });
        const mine = events.map((e) => fromBinary(EVENTS.monitoringWindow.schema, e.data)).filter((w) => w.pipeline === pipeline && w.labeled > 0n);
        return mine.length >= 2 ? mine : undefined;
      },
      { timeoutMs: 15_000, what: 'the windows of v1 and v2' },
    );
    expect(windows.find((w) => w.version === 'v1')).toMatchObject({ variant: 'champion', labeled: 1n, retired: true });
    expect(windows.find((w) => w.version === 'v2')).toMatchObject({ variant: 'champion', labeled: 1n, retired: false });
  });
});
