import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { DeployerService, refitFiles, RegistryService } from '@refit/contracts';
import { applyTransform, fitTransform, initBackend, labelsOf, serializeTransform, trainModel } from '@refit/modeling';
import { createClient, EVENTS, isInvalidInput, NotFoundError, wireRef, type GrpcServer, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { createTestEnv, publishEvent, serviceEnv, startStandIn, startTestRuntime, type TestEnv, waitFor, weatherRows } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startDeployerService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = join(here, 'migrations');
const rain = readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8');
/** The weather-rain spec under another name; with a stream source when `subject` is given. */
const specOf = (name: string, subject?: string) =>
  parseSpec(
    rain
      .replace(/^name: weather-rain$/m, `name: ${name}`)
      .replace('  window: { lastBatches: 1 }', subject ? `  window: { lastBatches: 1 }\n  source: { stream: { subject: ${subject} } }` : '  window: { lastBatches: 1 }'),
  );
const STREAM = 'rain-stream';
const OTHER = 'rain-stream-other';
const PLAIN = 'rain-plain';

// Rows as an application sends them to Predict, with columns the model does not read.
const traffic = weatherRows('New York', '2015-01-01', '2015-01-21').map((r) => ({
  location: String(r.location),
  date: String(r.date),
  temp_max: Number(r.temp_max),
  temp_min: Number(r.temp_min),
  wind: Number(r.wind),
  weather: r.weather == null ? null : String(r.weather),
}));

/** A stream pipeline's predictions keep their rows, and GetPredictedRows reads them back by prediction id. */
describe('predicted rows (GetPredictedRows)', () => {
  let env: TestEnv;
  let registry: GrpcServer;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof DeployerService>>;
  /** What the stand-in registry answers as each pipeline's champion. */
  const champions = new Map<string, unknown>();

  /** Serves one stored model as v1 of `pipeline`: the stand-in registry names it, alias.changed says so. */
  async function serve(pipeline: string, lineage: unknown): Promise<void> {
    champions.set(pipeline, { pipeline, version: 'v1', lineage });
    await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.aliasChanged, source: 'registry', runId: `run-${pipeline}`, message: { pipeline, alias: 'champion', version: 'v1', runId: `run-${pipeline}` } });
    await waitFor(async () => (await client.getDeployment({ pipeline }).catch(() => undefined))?.deployment?.modelVersion === 'v1', { timeoutMs: 20_000, what: `${pipeline} served` });
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer-predicted-rows' });
    // A stand-in for the registry's GetAlias: the registry service itself is tested on its own.
    registry = await startStandIn(
      RegistryService,
      {
      async getAlias({ pipeline }: { pipeline: string }) {
        const model = champions.get(pipeline);
        if (!model) throw new NotFoundError(`pipeline '${pipeline}' has no champion`);
        return { model };
      },
      },
      { files: refitFiles, name: 'fake-registry' },
    );
    const config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registry.address }));
    rt = await startTestRuntime(config, migrations);
    await startDeployerService(rt, config);
    client = createClient(DeployerService, rt.server?.address ?? '');

    const spec = specOf(STREAM);
    const rows = weatherRows('New York', '2012-01-01', '2014-01-01');
    const transform = fitTransform(rows, spec.features);
    const tr = applyTransform(transform, rows);
    await initBackend({ prefer: config.tfBackend });
    const result = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam', epochs: 2, seed: 3 } });
    const [model, transformRef] = await Promise.all([
      rt.store.putContentAddressed('predicted-rows/models', await result.model.serialize(), '.refitm'),
      rt.store.putContentAddressed('predicted-rows/transforms', serializeTransform(transform), '.json'),
    ]);
    result.model.dispose();
    const lineage = { model: wireRef(model), transform: wireRef(transformRef), featureNames: transform.outputNames, seed: 3n, epochs: 2 };
    for (const p of [STREAM, OTHER, PLAIN]) await serve(p, lineage);
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await registry?.stop(0);
    await env?.cleanup();
  });

  it('logs the rows of a stream pipeline’s predictions and answers them by prediction id: only that pipeline’s, only known ids', async () => {
    // The trigger announces the specs: two with a stream source, one without.
    for (const [p, subject] of [[STREAM, 'weather.rows'], [OTHER, 'weather.other'], [PLAIN, undefined]] as const) {
      await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.pipelineApplied, source: 'trigger', message: { pipeline: p, version: 1, specJson: JSON.stringify(specOf(p, subject)) } });
    }
    await waitFor(async () => (await rt.pool.query('select pipeline from feedback_pipelines where pipeline = any($1)', [[STREAM, OTHER]])).rowCount === 2, { what: 'the stream pipelines recorded' });

    const started = Date.now();
    const mine = await client.predict({ pipeline: STREAM, rows: traffic.slice(0, 12) });
    const other = await client.predict({ pipeline: OTHER, rows: traffic.slice(12, 15) });
    const plain = await client.predict({ pipeline: PLAIN, rows: traffic.slice(15, 18) });
    const ids = mine.predictions.map((p) => p.predictionId);
    // Asked at once: the log is flushed first, so the predictions just answered are found.
    const unknown = randomUUID();
    const res = await client.getPredictedRows({ pipeline: STREAM, predictionIds: [...ids, ...other.predictions.map((p) => p.predictionId), unknown, ids[0].toUpperCase()] });
    expect(res.rows.map((r) => r.predictionId).sort()).toEqual([...ids].sort());
    for (const r of res.rows) {
      const i = ids.indexOf(r.predictionId);
      expect(JSON.parse(r.rowJson)).toEqual(traffic[i]);
      expect(r.version).toBe('v1');
      const at = r.predictedAt ? timestampDate(r.predictedAt).getTime() : 0;
      expect(at).toBeGreaterThanOrEqual(started - 1000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    }
    // The other stream pipeline answers its own; the pipeline without a stream (nor feedback) keeps no rows.
    const others = await client.getPredictedRows({ pipeline: OTHER, predictionIds: other.predictions.map((p) => p.predictionId) });
    expect(others.rows.map((r) => JSON.parse(r.rowJson) as unknown)).toEqual(expect.arrayContaining(traffic.slice(12, 15)));
    expect((await client.getPredictedRows({ pipeline: PLAIN, predictionIds: plain.predictions.map((p) => p.predictionId) })).rows).toEqual([]);
    expect((await client.getPredictedRows({ pipeline: STREAM, predictionIds: [] })).rows).toEqual([]);
  });

  it('refuses more than 10,000 ids, an id that is no UUID, and no pipeline, with INVALID_ARGUMENT', async () => {
    const refused = async (req: Parameters<typeof client.getPredictedRows>[0]): Promise<string> => {
      const err = await client.getPredictedRows(req).then(
        () => new Error('answered'),
        (e: unknown) => e,
      );
      expect(isInvalidInput(err), String(err)).toBe(true);
      return (err as Error).message;
    };
    expect(await refused({ pipeline: STREAM, predictionIds: Array.from({ length: 10_001 }, () => randomUUID()) })).toMatch(/10001 prediction ids in one call; at most 10,000/);
    expect(await refused({ pipeline: STREAM, predictionIds: [randomUUID(), 'r1'] })).toMatch(/prediction_ids\[1\] 'r1' is not a prediction id/);
    expect(await refused({ pipeline: '', predictionIds: [randomUUID()] })).toMatch(/pipeline is required/);
    // Exactly 10,000 is taken.
    expect((await client.getPredictedRows({ pipeline: STREAM, predictionIds: Array.from({ length: 10_000 }, () => randomUUID()) })).rows).toEqual([]);
  });
});
