import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployerService, Verdict, type LineageSchema } from '@refit/contracts';
import { applyTransform, fitTransform, initBackend, labelsOf, loadModel, parseTransform, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import {
  createClient,
  EVENTS,
  isFailedPrecondition,
  isInvalidInput,
  isNotFound,
  withTransaction,
  wireRef,
  type EventDef,
  type ServiceRuntime,
} from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, publishEvent, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, type ServiceProcess, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type DeployerConfig } from './config.js';
import { FeatureWindows } from './feature-window.js';
import { closeWindows } from './monitoring.js';
import { startDeployerService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = join(here, 'migrations');
const spec = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));
const PIPELINE = spec.name;

/** Rows of vega-datasets' weather.csv, typed the way ingestion writes them (numbers as numbers). */
function weatherRows(location: string, from: string, to: string): RawRow[] {
  const csv = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data', 'weather.csv');
  const [header, ...lines] = readFileSync(csv, 'utf8').trim().split('\n');
  const names = header.split(',');
  const numeric = new Set(['precipitation', 'temp_max', 'temp_min', 'wind']);
  return lines
    .map((line) => {
      const cells = line.split(',');
      return Object.fromEntries(names.map((n, i) => [n, numeric.has(n) ? Number(cells[i]) : cells[i] === '' ? null : cells[i]])) as RawRow;
    })
    .filter((r) => r.location === location && String(r.date) >= from && String(r.date) < to);
}

// Serving traffic: New York 2015 rows, raw, with their extra columns (the transform ignores them).
// Rows are plain JSON objects (what a client sends as google.protobuf.Struct), and raw rows to the transform.
const traffic: Array<Record<string, string | number | null>> = weatherRows('New York', '2015-01-01', '2015-03-01').map((r) => ({
  location: String(r.location),
  date: String(r.date),
  temp_max: Number(r.temp_max),
  temp_min: Number(r.temp_min),
  wind: Number(r.wind),
  weather: r.weather == null ? null : String(r.weather),
}));

type Stored = { lineage: MessageInitShape<typeof LineageSchema>; modelKey: string; transformKey: string };

describe('deployer service (with the registry)', () => {
  let env: TestEnv;
  let registry: ServiceProcess;
  let config: Readonly<DeployerConfig>;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof DeployerService>>;
  const models: Record<'seattle' | 'newYork', Stored> = {} as never;
  /** What each version must answer for `traffic`, computed here from the stored artifacts. */
  const expected: Record<string, number[]> = {};

  async function storeModel(rows: RawRow[], seed: number): Promise<Stored> {
    const transform = fitTransform(rows, spec.features);
    const tr = applyTransform(transform, rows);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const result = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam', epochs: 6, seed } });
    const [model, transformRef] = await Promise.all([
      rt.store.putContentAddressed(`pipelines/${PIPELINE}/models`, await result.model.serialize(), '.refitm'),
      rt.store.putContentAddressed(`pipelines/${PIPELINE}/transforms`, serializeTransform(transform), '.json'),
    ]);
    result.model.dispose();
    return { lineage: { model: wireRef(model), transform: wireRef(transformRef), featureNames: transform.outputNames, seed: BigInt(seed), epochs: 6 }, modelKey: model.key, transformKey: transformRef.key };
  }

  /** Training/serving consistency: the stored transform and model, applied here, to the same raw rows. */
  async function scoreLocally(m: Stored, rows: RawRow[]): Promise<number[]> {
    const transform = parseTransform(await rt.store.get(m.transformKey));
    const model = await loadModel(await rt.store.get(m.modelKey));
    try {
      const t = applyTransform(transform, rows);
      return Array.from(model.predict(t.X, t.n));
    } finally {
      model.dispose();
    }
  }

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return stored.map((e) => fromBinary(def.schema, e.data));
  }

  /** Feeds the registry a passing evaluation of `m`, which makes it the champion. */
  async function promote(runId: string, m: Stored): Promise<void> {
    const context = { runId, pipeline: PIPELINE, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'deployer test' };
    await withTransaction(rt.pool, (tx) =>
      rt.publish(tx, EVENTS.modelEvaluated, { context, lineage: m.lineage, verdict: Verdict.PASS, reasons: ['pass: test'], candidateMetrics: { accuracy: 0.7 } }, { runId }),
    );
    rt.relay.kick();
  }

  const servingOf = (runId: string) =>
    waitFor(async () => (await events(EVENTS.modelServing)).find((e) => e.runId === runId), { timeoutMs: 15_000, what: `deployment.serving of ${runId}` });

  async function startDeployer(): Promise<void> {
    rt = await startTestRuntime(config, migrations);
    await startDeployerService(rt, config);
    client = createClient(DeployerService, rt.server?.address ?? '');
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer' });
    registry = await startServiceProcess('registry', env.env);
    config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registry.address }));
    await startDeployer();
    await initBackend({ prefer: config.tfBackend });
    models.seattle = await storeModel(weatherRows('Seattle', '2012-01-01', '2015-01-01'), 42);
    models.newYork = await storeModel(weatherRows('New York', '2012-01-01', '2015-01-01'), 7);
    expected.v1 = await scoreLocally(models.seattle, traffic);
    expected.v2 = await scoreLocally(models.newYork, traffic);
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await registry?.stop();
    await env?.cleanup();
  });

  it('before any champion, Predict is FAILED_PRECONDITION naming the pipeline and GetDeployment NOT_FOUND', async () => {
    const err = await client.predict({ pipeline: PIPELINE, rows: [{ temp_max: 10, temp_min: 5, wind: 3 }] }).catch((e: unknown) => e);
    expect(isFailedPrecondition(err)).toBe(true);
    expect((err as Error).message).toContain(`'${PIPELINE}'`);
    const missing = await client.getDeployment({ pipeline: PIPELINE }).catch((e: unknown) => e);
    expect(isNotFound(missing) && (missing as Error).message).toContain(`'${PIPELINE}'`);
  });

  it('serves the champion once alias.changed names it, and Predict equals the stored transform + model applied locally', async () => {
    await promote('d-1', models.seattle);
    const serving = await servingOf('d-1');
    expect(serving).toMatchObject({ pipeline: PIPELINE, version: 'v1', runId: 'd-1' });
    expect(serving.timing?.stage).toBe('deployer');
    const changed = (await events(EVENTS.aliasChanged)).find((e) => e.runId === 'd-1');
    expect(changed).toMatchObject({ alias: 'champion', version: 'v1' });

    const res = await client.predict({ pipeline: PIPELINE, rows: traffic });
    expect(res.modelVersion).toBe('v1');
    expect(res.predictions).toHaveLength(traffic.length);
    const probs = res.predictions.map((p) => p.probability);
    expect(probs).toEqual(expected.v1);
    expect(res.predictions.every((p) => p.label === (p.probability >= 0.5 ? 1 : 0))).toBe(true);
    expect(new Set(res.predictions.map((p) => p.predictionId)).size).toBe(traffic.length);
    // Real probabilities, not a constant: both classes get predicted for this winter.
    expect(Math.min(...probs)).toBeGreaterThan(0);
    expect(Math.max(...probs)).toBeLessThan(1);
    expect(new Set(res.predictions.map((p) => p.label))).toEqual(new Set([0, 1]));

    // Numbers sent as strings are read the same way as in training.
    const asText = await client.predict({ pipeline: PIPELINE, rows: traffic.slice(0, 3).map((r) => ({ temp_max: String(r.temp_max), temp_min: String(r.temp_min), wind: String(r.wind) })) });
    expect(asText.predictions.map((p) => p.probability)).toEqual(expected.v1.slice(0, 3));

    const { deployment } = await client.getDeployment({ pipeline: PIPELINE });
    expect(deployment).toMatchObject({ pipeline: PIPELINE, modelVersion: 'v1', runId: 'd-1' });
  });

  it('serves only what the registry says is the champion now, whatever an alias.changed claims', async () => {
    // Event verification is off in this file (no keys): the deployer's own check is the defence.
    await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.aliasChanged, source: 'registry', runId: 'd-forged', message: { pipeline: PIPELINE, alias: 'champion', version: 'v9', previousVersion: 'v1', runId: 'd-forged' } });
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'd-forged'), { timeoutMs: 15_000, what: 'run.failed of d-forged' });
    expect(failed).toMatchObject({ stage: 'deployer', reason: "v9 was not served: the registry's champion is v1" });
    expect((await client.getDeployment({ pipeline: PIPELINE })).deployment?.modelVersion).toBe('v1');
  });

  it('refuses bad requests with the right codes', async () => {
    const unknown = await client.predict({ pipeline: 'no-such-pipeline', rows: [{ temp_max: 1, temp_min: 0, wind: 1 }] }).catch((e: unknown) => e);
    expect(isFailedPrecondition(unknown)).toBe(true);
    expect((unknown as Error).message).toContain("'no-such-pipeline'");
    const empty = await client.predict({ pipeline: PIPELINE, rows: [] }).catch((e: unknown) => e);
    expect(isInvalidInput(empty)).toBe(true);
    const bad = await client.predict({ pipeline: PIPELINE, rows: [{ temp_max: 10, temp_min: 5, wind: 3 }, { temp_max: 'hot', temp_min: 5, wind: 3 }] }).catch((e: unknown) => e);
    expect(isInvalidInput(bad)).toBe(true);
    expect((bad as Error).message).toMatch(/row 1: column "temp_max" is not a number: "hot"/);
  });

  it('refuses malformed rows with INVALID_ARGUMENT naming the row, column or feature, and keeps serving', async () => {
    const refused = async (req: Parameters<typeof client.predict>[0]): Promise<string> => {
      const err = await client.predict(req).then(
        (r) => new Error(`answered ${JSON.stringify(r.predictions.map((p) => p.probability))} ${JSON.stringify(r.probabilities)}`),
        (e: unknown) => e,
      );
      expect(isInvalidInput(err), String(err)).toBe(true);
      return (err as Error).message;
    };
    const row = { temp_max: 10, temp_min: 5, wind: 3 };
    // A struct or list where a value belongs (was: INTERNAL "v.trim is not a function").
    expect(await refused({ pipeline: PIPELINE, rows: [row, { ...row, temp_max: { c: 10 } }] })).toMatch(/row 1: column "temp_max" is a struct/);
    expect(await refused({ pipeline: PIPELINE, rows: [{ ...row, wind: [3, 4] }] })).toMatch(/row 0: column "wind" is a list/);
    // A feature missing (was: an answer, no warning): named, with what to do.
    expect(await refused({ pipeline: PIPELINE, rows: [{ temp_max: 12 }] })).toMatch(/feature "temp_min" is missing in the row, feature "wind" is missing in the row: model v\d+ was trained with them and the spec declares no imputation/);
    expect(await refused({ pipeline: PIPELINE, rows: [row, { ...row, wind: null }] })).toMatch(/feature "wind" is missing in row 1/);
    // Columnar: ±Infinity (was: probabilities ["NaN"]), a NaN where nothing imputes, duplicate columns, both shapes (was: columns ignored).
    expect(await refused({ pipeline: PIPELINE, columns: ['temp_max', 'temp_min', 'wind'], values: [10, 5, Number.POSITIVE_INFINITY] })).toMatch(/row 0: column "wind" is not a finite number: Infinity/);
    expect(await refused({ pipeline: PIPELINE, columns: ['temp_max', 'temp_min', 'wind'], values: [10, Number.NaN, 3] })).toMatch(/feature "temp_min" is missing/);
    expect(await refused({ pipeline: PIPELINE, columns: ['temp_max', 'temp_min', 'wind', 'wind'], values: [10, 5, 3, 4] })).toMatch(/column "wind" is given twice/);
    expect(await refused({ pipeline: PIPELINE, rows: [row], columns: ['temp_max', 'temp_min', 'wind'], values: [10, 5, 3] })).toMatch(/both rows \(1\) and columns/);
    // Still serving, and the answer to a good columnar request equals the rows answer.
    const good = await client.predict({ pipeline: PIPELINE, columns: ['temp_max', 'temp_min', 'wind'], values: [10, 5, 3] });
    const asRows = await client.predict({ pipeline: PIPELINE, rows: [row] });
    expect(good.probabilities[0]).toBeCloseTo(asRows.predictions[0].probability, 6);
    expect(asRows.predictions[0].imputed).toEqual([]);
    expect(good.imputed).toEqual({});
  });

  it('swaps to a new champion while requests are in flight without failing any of them', async () => {
    const rows = traffic.slice(0, 20);
    const seen = { v1: 0, v2: 0 };
    const failures: unknown[] = [];
    const mismatches: string[] = [];
    let swapped = false;
    let callsAfterSwap = 0;
    // Calls sent once deployment.serving was out, by the version that answered them.
    const sentAfterSwap = { v1: 0, v2: 0 };
    const one = async (): Promise<void> => {
      const afterSwap = swapped;
      try {
        const res = await client.predict({ pipeline: PIPELINE, rows });
        const version = res.modelVersion as 'v1' | 'v2';
        seen[version]++;
        if (afterSwap) sentAfterSwap[version]++;
        // Every answer comes entirely from one version (its transform and its model).
        const want = expected[version]?.slice(0, rows.length);
        if (!want || res.predictions.some((p, i) => p.probability !== want[i])) mismatches.push(version);
      } catch (err) {
        failures.push(err);
      }
    };
    const worker = async (): Promise<void> => {
      while (!swapped || callsAfterSwap < 200) {
        const afterSwap = swapped;
        await one();
        if (afterSwap) callsAfterSwap++;
      }
    };
    // A burst of 200 concurrent calls at the moment the change is published, plus steady load
    // from 20 workers until 200 more calls have been answered after the swap.
    const workers = Array.from({ length: 20 }, () => worker());
    const burst = Array.from({ length: 200 }, () => one());
    await promote('d-2', models.newYork);
    await Promise.all(burst);
    const serving = await servingOf('d-2');
    swapped = true;
    await Promise.all(workers);

    expect(serving.version).toBe('v2');
    expect(failures).toEqual([]);
    expect(mismatches).toEqual([]);
    // Calls before the swap were answered by v1, every call sent after it by v2, none failed in
    // between. (A call in flight when the event arrived may have been answered by v1 already; one
    // sent after it never is.)
    expect(seen.v1).toBeGreaterThan(0);
    expect(sentAfterSwap).toEqual({ v1: 0, v2: callsAfterSwap });
    expect(callsAfterSwap).toBeGreaterThanOrEqual(200);
    expect(seen.v1 + seen.v2).toBeGreaterThanOrEqual(400);
    expect(expected.v2).not.toEqual(expected.v1);
    const after = await client.predict({ pipeline: PIPELINE, rows: traffic });
    expect(after.modelVersion).toBe('v2');
    expect(after.predictions.map((p) => p.probability)).toEqual(expected.v2);
  });

  it('a restarted deployer serves the same version without any new event', async () => {
    const servingEvents = (await events(EVENTS.modelServing)).length;
    const streamSeq = async () => (await (await rt.nc.jetstreamManager()).streams.info(env.streamName)).state.last_seq;
    const seqBefore = await streamSeq();
    client.close();
    await rt.close();

    await startDeployer();
    const { deployment } = await client.getDeployment({ pipeline: PIPELINE });
    expect(deployment).toMatchObject({ modelVersion: 'v2', runId: 'd-2' });
    const res = await client.predict({ pipeline: PIPELINE, rows: traffic });
    expect(res.modelVersion).toBe('v2');
    expect(res.predictions.map((p) => p.probability)).toEqual(expected.v2);
    // Nothing was published to bring it back, and the restart did not announce anything either.
    await new Promise((r) => setTimeout(r, 300));
    expect(await streamSeq()).toBe(seqBefore);
    expect(await events(EVENTS.modelServing)).toHaveLength(servingEvents);
  });

  it('labels at the decision threshold stored with the model (also after a restart) and counts the window’s confusion at it', async () => {
    // The New York model again, with the threshold a cost matrix made the trainer choose.
    await promote('d-3', { ...models.newYork, lineage: { ...models.newYork.lineage, decisionThreshold: 0.3 } });
    await servingOf('d-3');
    const res = await client.predict({ pipeline: PIPELINE, rows: traffic });
    expect(res.modelVersion).toBe('v3');
    expect(res.predictions.map((p) => p.probability)).toEqual(expected.v2);
    expect(res.predictions.every((p) => p.label === (p.probability >= 0.3 ? 1 : 0))).toBe(true);
    // Rows between 0.3 and 0.5 exist, so the threshold really changed labels.
    expect(res.predictions.filter((p) => p.probability >= 0.3 && p.probability < 0.5).length).toBeGreaterThan(0);

    const labels = labelsOf(weatherRows('New York', '2015-01-01', '2015-03-01'), spec.label);
    await client.sendFeedback({ pipeline: PIPELINE, feedback: res.predictions.map((p, i) => ({ predictionId: p.predictionId, label: labels[i] })) });
    await closeWindows(rt, new FeatureWindows(), new Date());
    // Published through the outbox: it reaches the stream a moment later.
    const window = await waitFor(async () => (await events(EVENTS.monitoringWindow)).find((w) => w.version === 'v3' && w.labeled > 0n), { timeoutMs: 10_000, what: 'the window of v3' });
    const counts = { tp: 0, fp: 0, tn: 0, fn: 0 };
    res.predictions.forEach((p, i) => counts[labels[i] === 1 ? (p.probability >= 0.3 ? 'tp' : 'fn') : p.probability >= 0.3 ? 'fp' : 'tn']++);
    expect(window.metrics).toMatchObject({ ...counts, threshold: 0.3 });
    expect(window.metrics.accuracy).toBeCloseTo((counts.tp + counts.tn) / traffic.length, 12);

    // The threshold is kept with the deployment: a restart decides the same without the registry.
    client.close();
    await rt.close();
    await registry.stop();
    await startDeployer();
    const again = await client.predict({ pipeline: PIPELINE, rows: traffic });
    expect(again.predictions.map((p) => p.label)).toEqual(res.predictions.map((p) => p.label));
  });

  it('keeps the rows of a pipeline that trains on feedback and reads labeled predictions back as training rows', async () => {
    // Off by default: the served rows are not kept.
    await client.predict({ pipeline: PIPELINE, rows: traffic.slice(0, 5) });
    await waitFor(async () => Number((await rt.pool.query('select count(*) as n from predictions where pipeline = $1', [PIPELINE])).rows[0].n) > 0, { what: 'predictions logged' });
    expect(Number((await rt.pool.query('select count(*) as n from prediction_rows')).rows[0].n)).toBe(0);

    // The trigger announces a spec version with data.include: [feedback].
    const withFeedback = { ...spec, data: { ...spec.data, include: ['feedback'] } };
    await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.pipelineApplied, source: 'trigger', message: { pipeline: PIPELINE, version: 7, specJson: JSON.stringify(withFeedback) } });
    await waitFor(async () => (await rt.pool.query('select 1 from feedback_pipelines where pipeline = $1', [PIPELINE])).rowCount === 1, { what: 'the feedback pipeline recorded' });
    const res = await client.predict({ pipeline: PIPELINE, rows: traffic.slice(0, 10) });
    const ids = res.predictions.map((p) => p.predictionId);
    // Feedback with the raw label value for 6 of them, without it for 2, none for the rest.
    await client.sendFeedback({ pipeline: PIPELINE, feedback: ids.slice(0, 6).map((predictionId, i) => ({ predictionId, label: i % 2, labelValue: i % 2 ? '1.5' : '0' })) });
    await client.sendFeedback({ pipeline: PIPELINE, feedback: ids.slice(6, 8).map((predictionId) => ({ predictionId, label: 1 })) });
    const read = [];
    for await (const r of client.listFeedbackRows({ pipeline: PIPELINE })) read.push(r);
    expect(read.map((r) => r.predictionId).sort()).toEqual(ids.slice(0, 8).sort());
    const first = read.find((r) => r.predictionId === ids[1]);
    expect(JSON.parse(first?.rowJson ?? '{}')).toEqual(traffic[1]);
    expect(first).toMatchObject({ label: 1, labelValue: '1.5' });
    // Incremental: nothing after the newest feedback time read.
    const newest = read.at(-1)?.feedbackAt;
    const after = [];
    for await (const r of client.listFeedbackRows({ pipeline: PIPELINE, after: newest })) after.push(r);
    expect(after).toEqual([]);

    // The first label wins: the same label again is a duplicate, another label a conflict; both counted, neither joined.
    const again = await client.sendFeedback({ pipeline: PIPELINE, feedback: [{ predictionId: ids[1], label: 1, labelValue: '1.5' }, { predictionId: ids[2], label: 1 }, { predictionId: ids[8], label: 0 }, { predictionId: ids[8], label: 1 }] });
    expect(again).toMatchObject({ joined: 1n, duplicate: 1n, conflict: 2n, conflicting: [ids[2], ids[8]] });
    const stored = await rt.pool.query('select prediction_id, feedback_label, feedback_duplicates, feedback_conflicts from predictions where prediction_id = any($1::uuid[]) order by prediction_id', [[ids[1], ids[2], ids[8]]]);
    expect(Object.fromEntries(stored.rows.map((r) => [r.prediction_id, [r.feedback_label, r.feedback_duplicates, r.feedback_conflicts]]))).toEqual({ [ids[1]]: [1, 1, 0], [ids[2]]: [0, 0, 1], [ids[8]]: [0, 0, 1] });
    const kept = await rt.pool.query('select prediction_id, label, joined_label from feedback_conflicts where pipeline = $1 order by id', [PIPELINE]);
    expect(kept.rows).toEqual([{ prediction_id: ids[2], label: 1, joined_label: 0 }, { prediction_id: ids[8], label: 1, joined_label: 0 }]);
  });
});
