import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FeatureService, type LineageSchema, type RunContextSchema } from '@refit/contracts';
import { applyTransform, decodeMatrix, labelsOf, parseTransform, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, HEADER_EVENT_ID, HEADER_NATS_MSG_ID, isInvalidInput, isNotFound, withTransaction, wireRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startTestRuntime, waitFor, weatherRows, type TestEnv } from '@refit/testing';
import { headers as natsHeaders } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CategoricalStats, NumericStats, SnapshotStats } from './stats.js';
import { loadConfig } from './config.js';
import { startFeatureService } from './service.js';
import { expectSame } from './wire.fixtures.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const spec = parseSpec(readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8'));
const label = spec.label;

const jsonl = (rows: RawRow[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
const mean = (rows: RawRow[], col: string): number => rows.reduce((s, r) => s + Number(r[col]), 0) / rows.length;

// Seattle 2012 split by season, so the training rows' statistics clearly differ from all rows'.
const train = weatherRows('Seattle', '2012-01-01', '2012-10-01');
const validation = weatherRows('Seattle', '2012-10-01', '2012-12-01');
const test = weatherRows('Seattle', '2012-12-01', '2013-01-01');

describe('feature service', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof FeatureService>>;

  const context = (runId: string): MessageInitShape<typeof RunContextSchema> => ({
    runId,
    pipeline: spec.name,
    specVersion: 1,
    specJson: JSON.stringify(spec),
    triggerKind: 'manual',
    triggerReason: 'feature test',
  });

  async function rawLineage(runId: string, splits: { train: RawRow[]; validation: RawRow[]; test: RawRow[] }): Promise<MessageInitShape<typeof LineageSchema>> {
    const put = (name: string, rows: RawRow[]) => rt.store.put(`pipelines/${spec.name}/snapshots/${runId}/${name}.jsonl`, jsonl(rows));
    const [tr, va, te] = await Promise.all([put('train', splits.train), put('validation', splits.validation), put('test', splits.test)]);
    return {
      snapshotSha256: runId,
      rawTrain: wireRef(tr),
      rawValidation: wireRef(va),
      rawTest: wireRef(te),
      rowsTrain: BigInt(splits.train.length),
      rowsValidation: BigInt(splits.validation.length),
      rowsTest: BigInt(splits.test.length),
      batchIds: ['b-1'],
    };
  }

  /** Publishes dataset.prepared for `runId` and returns its event id. */
  async function publishPrepared(runId: string, lineage: MessageInitShape<typeof LineageSchema>): Promise<string> {
    const id = await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.datasetPrepared, { context: context(runId), lineage }, { runId }));
    rt.relay.kick();
    return id;
  }

  /** Resolves once the feature service's consumer has recorded `eventId` as handled. */
  const handled = (eventId: string) =>
    waitFor(async () => (await rt.pool.query('select 1 from handled_events where consumer = $1 and event_id = $2', ['feature-dataset-prepared', eventId])).rowCount === 1);

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return stored.map((e) => fromBinary(def.schema, e.data));
  }

  const featuresReadyOf = async (runId: string) => (await events(EVENTS.featuresReady)).filter((e) => e.context?.runId === runId);

  /** Resolves once the feature service's consumer has acknowledged everything delivered to it. */
  async function consumerIdle(): Promise<void> {
    const jsm = await rt.nc.jetstreamManager();
    await waitFor(async () => {
      const info = await jsm.consumers.info(env.streamName, 'feature-dataset-prepared');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'feature' });
    rt = await startTestRuntime(loadConfig(serviceEnv(env.env)), migrations);
    await startFeatureService(rt);
    client = createClient(FeatureService, rt.server?.address ?? '');
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await env?.cleanup();
  });

  it('fits the transform on the training split only and emits features.ready with the transformed splits', async () => {
    const lineage = await rawLineage('r-fit', { train, validation, test });
    await publishPrepared('r-fit', lineage);
    const [ready] = await waitFor(async () => {
      const found = await featuresReadyOf('r-fit');
      return found.length > 0 && found;
    });

    // Upstream lineage and context are carried on; the stage's own additions are there.
    expect(ready.context).toMatchObject({ runId: 'r-fit', pipeline: 'weather-rain', specVersion: 1 });
    expect(ready.lineage?.rawTrain?.key).toBe(lineage.rawTrain?.key);
    expect(ready.lineage?.batchIds).toEqual(['b-1']);
    expect(ready.lineage?.featureNames).toEqual(['temp_max', 'temp_min', 'wind']);
    expect(ready.timing?.stage).toBe('feature');

    const transformBytes = await rt.store.get(ready.lineage?.transform?.key ?? '');
    const transform = parseTransform(transformBytes);
    expect(transform.fittedOnRows).toBe(train.length);
    const all = [...train, ...validation, ...test];
    for (const col of ['temp_max', 'temp_min', 'wind']) {
      const f = transform.features.find((x) => x.name === col);
      if (f?.kind !== 'standardize') throw new Error(`${col} is not standardized`);
      expect(f.mean).toBeCloseTo(mean(train, col), 9);
    }
    // The slice is seasonal, so fitting on every row would have given a visibly different mean.
    const tmax = transform.features[0] as { mean: number };
    expect(Math.abs(mean(all, 'temp_max') - mean(train, 'temp_max'))).toBeGreaterThan(1);
    expect(Math.abs(tmax.mean - mean(all, 'temp_max'))).toBeGreaterThan(1);

    // Each transformed split is the raw split through that one transform, with its labels.
    for (const [ref, rows] of [
      [ready.lineage?.featuresTrain, train],
      [ready.lineage?.featuresValidation, validation],
      [ready.lineage?.featuresTest, test],
    ] as const) {
      const m = decodeMatrix(await rt.store.get(ref?.key ?? ''));
      const expected = applyTransform(transform, rows);
      expect([m.n, m.d]).toEqual([rows.length, 3]);
      expect(m.X).toEqual(expected.X);
      expect(m.y).toEqual(labelsOf(rows, label));
    }
    const yTrain = decodeMatrix(await rt.store.get(ready.lineage?.featuresTrain?.key ?? '')).y;
    expect(yTrain.some((v) => v === 1) && yTrain.some((v) => v === 0)).toBe(true);
  });

  it('GetTransform returns the fitted transform of a run; unknown runs are NOT_FOUND', async () => {
    const [ready] = await featuresReadyOf('r-fit');
    const res = await client.getTransform({ runId: 'r-fit' });
    expect(res).toMatchObject({ runId: 'r-fit', pipeline: 'weather-rain', featureNames: ['temp_max', 'temp_min', 'wind'] });
    const stored = await rt.store.get(ready.lineage?.transform?.key ?? '');
    expect(res.transformJson).toBe(stored.toString('utf8'));
    expect(res.transform).toMatchObject({ key: ready.lineage?.transform?.key, sha256: ready.lineage?.transform?.sha256, sizeBytes: BigInt(stored.length), bucket: env.s3.bucket });
    expect(parseTransform(Buffer.from(res.transformJson)).fittedOnRows).toBe(train.length);
    // The typed transform is the JSON one (kept for one release), field by field.
    expect(expectSame(JSON.parse(res.transformJson), res.transformDetails)).toBeGreaterThan(10);
    expect(res.transformDetails).toMatchObject({ fittedOnRows: BigInt(train.length), outputNames: ['temp_max', 'temp_min', 'wind'] });
    expect(res.transformDetails?.features.map((f) => f.name)).toEqual(['temp_max', 'temp_min', 'wind']);

    const missing = await client.getTransform({ runId: 'r-nope' }).catch((e: unknown) => e);
    expect(isNotFound(missing) && (missing as Error).message).toContain("'r-nope'");
    expect(isInvalidInput(await client.getTransform({ runId: '' }).catch((e: unknown) => e))).toBe(true);
  });

  it('GetStats returns the statistics of a run’s training split: quantiles, histograms, missing rates, categories', async () => {
    await featuresReadyOf('r-fit');
    const res = await client.getStats({ runId: 'r-fit' });
    const stats = JSON.parse(res.statsJson) as SnapshotStats;
    expect(stats).toMatchObject({ version: 1, pipeline: 'weather-rain', runId: 'r-fit', rows: train.length });
    const tmax = stats.columns.find((c) => c.name === 'temp_max') as NumericStats;
    expect(tmax).toMatchObject({ kind: 'numeric', count: train.length, missing: 0, missingRate: 0 });
    expect(tmax.quantiles.p25).toBeLessThanOrEqual(tmax.quantiles.p50);
    expect(tmax.histogram.counts.reduce((a, b) => a + b, 0)).toBe(train.length);
    const weather = stats.columns.find((c) => c.name === 'weather') as CategoricalStats;
    expect(Object.values(weather.frequencies).reduce((a, b) => a + b, 0) + weather.missing).toBe(train.length);
    // The typed statistics are the JSON ones (kept for one release), field by field.
    expect(expectSame(stats, res.statsDetails)).toBeGreaterThan(1000);
    const typedTmax = res.statsDetails?.columns.find((c) => c.name === 'temp_max');
    expect(typedTmax).toMatchObject({ kind: 'numeric', count: BigInt(train.length), mean: tmax.mean, quantiles: tmax.quantiles });
    expect(res.statsDetails?.columns.find((c) => c.name === 'weather')?.frequencies).toEqual(Object.fromEntries(Object.entries(weather.frequencies).map(([k, n]) => [k, BigInt(n)])));
    expect(isNotFound(await client.getStats({ runId: 'r-nope' }).catch((e: unknown) => e))).toBe(true);
  });

  it('handles a redelivered dataset.prepared once, and a re-sent one never adds a second transform row', async () => {
    const lineage = await rawLineage('r-dup', { train: weatherRows('New York', '2013-01-01', '2013-09-01'), validation, test });
    await publishPrepared('r-dup', lineage);
    await waitFor(async () => (await featuresReadyOf('r-dup')).length === 1);

    // Same event again (same Refit-Event-Id), as JetStream redelivers it: published straight to the
    // stream without Nats-Msg-Id so JetStream's own de-duplication cannot hide it from the consumer.
    const stored = (await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.dataset.prepared` })).find(
      (e) => fromBinary(EVENTS.datasetPrepared.schema, e.data).context?.runId === 'r-dup',
    );
    if (!stored) throw new Error('dataset.prepared of r-dup not in the stream');
    const h = natsHeaders();
    for (const [k, v] of Object.entries(stored.headers)) if (k !== HEADER_NATS_MSG_ID) h.set(k, v);
    const seqBefore = (await rt.nc.jetstreamManager().then((m) => m.streams.info(env.streamName))).state.last_seq;
    const ack = await rt.nc.jetstream().publish(stored.subject, stored.data, { headers: h });
    expect(ack.duplicate).toBe(false);
    expect(ack.seq).toBeGreaterThan(seqBefore);
    await consumerIdle();
    const marks = await rt.pool.query<{ n: string }>('select count(*) as n from handled_events where event_id = $1', [stored.headers[HEADER_EVENT_ID]]);
    expect(Number(marks.rows[0].n)).toBe(1);
    expect(await featuresReadyOf('r-dup')).toHaveLength(1);

    // A second dataset.prepared for the same run (new event id, e.g. re-sent upstream) still keeps one row.
    await handled(await publishPrepared('r-dup', lineage));
    const rows = await rt.pool.query<{ run_id: string; rows_fitted: string }>('select run_id, rows_fitted from transforms where run_id = $1', ['r-dup']);
    expect(rows.rows).toEqual([{ run_id: 'r-dup', rows_fitted: String(weatherRows('New York', '2013-01-01', '2013-09-01').length) }]);
  });

  it('fails the run at the feature stage, naming row, column and value, when a feature is not a number', async () => {
    const bad = train.map((r, i) => (i === 3 ? { ...r, temp_max: 'warm' } : r));
    await publishPrepared('r-bad', await rawLineage('r-bad', { train: bad, validation, test }));
    // A data error is permanent: the run must fail at once, not after the consumer's retries.
    const failed = await waitFor(
      async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'r-bad'),
      { timeoutMs: 6000, what: 'run.failed of r-bad' },
    );
    expect(failed.stage).toBe('feature');
    expect(failed.reason).toContain('train split');
    expect(failed.reason).toContain('row 3');
    expect(failed.reason).toContain('"temp_max"');
    expect(failed.reason).toContain('"warm"');
    expect(await featuresReadyOf('r-bad')).toHaveLength(0);
    expect((await rt.pool.query('select 1 from transforms where run_id = $1', ['r-bad'])).rowCount).toBe(0);
    const dlq = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.dlq.feature` });
    expect(dlq.map((e) => e.headers['Refit-Original-Subject'])).toEqual([`${env.subjectPrefix}.dataset.prepared`]);
  });
});
