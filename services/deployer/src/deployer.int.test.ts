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
import { createTestEnv, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, type ServiceProcess, type TestEnv } from '@refit/testing';
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
    const result = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, epochs: 6, seed } });
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

  it('swaps to a new champion while requests are in flight without failing any of them', async () => {
    const rows = traffic.slice(0, 20);
    const seen = { v1: 0, v2: 0 };
    const failures: unknown[] = [];
    const mismatches: string[] = [];
    let swapped = false;
    let callsAfterSwap = 0;
    const one = async (): Promise<void> => {
      try {
        const res = await client.predict({ pipeline: PIPELINE, rows });
        const version = res.modelVersion as 'v1' | 'v2';
        seen[version]++;
        // Every answer comes entirely from one version (its transform and its model).
        const want = expected[version]?.slice(0, rows.length);
        if (!want || res.predictions.some((p, i) => p.probability !== want[i])) mismatches.push(version);
      } catch (err) {
        failures.push(err);
      }
    };
    const worker = async (): Promise<void> => {
      while (!swapped || callsAfterSwap < 200) {
        await one();
        if (swapped) callsAfterSwap++;
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
    // Calls before the swap were answered by v1, every call after it by v2, none failed in between.
    expect(seen.v1).toBeGreaterThan(0);
    expect(seen.v2).toBeGreaterThanOrEqual(200);
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
});
