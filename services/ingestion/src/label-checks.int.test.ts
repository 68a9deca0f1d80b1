import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { IngestionService, RegistryService, Verdict, type PushDataRequestSchema } from '@refit/contracts';
import { rocAuc } from '@refit/ml';
import { applyTransform, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { createClient, EVENTS, wireRef, type EventDef, type ServiceRuntime } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import {
  createTestCredentials,
  createTestEnv,
  publishEvent,
  readEvents,
  serviceEnv,
  startServiceProcess,
  startTestRuntime,
  waitFor,
  weatherCsvPath,
  weatherRows,
  type ServiceProcess,
  type TestCredentials,
  type TestEnv,
} from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { MIN_CLASS_ROWS } from './label-checks.js';
import { startIngestionService } from './service.js';
import { upsertPipeline } from './store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
// The weather-rain example, every usable batch in a snapshot (so a snapshot shows which batches reached it).
const spec = parseSpec(
  readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8')
    .replace(/^name: weather-rain$/m, 'name: rain-labels')
    .replace('window: { lastBatches: 1 }', 'window: all'),
);
const [HEADER, ...ALL] = readFileSync(weatherCsvPath(), 'utf8').trim().split('\n');
const SEATTLE = ALL.filter((r) => r.startsWith('Seattle,'));
const days = (from: string, to: string): string[] => SEATTLE.filter((r) => r.split(',')[1] >= from && r.split(',')[1] < to);
const csv = (rows: string[]): string => `${[HEADER, ...rows].join('\n')}\n`;
/** Rewrites the precipitation (column 2) of a row. */
const withRain = (row: string, f: (mm: number) => number): string => row.split(',').map((v, i) => (i === 2 ? String(f(Number(v))) : v)).join(',');
/** Labels inverted the way a broken export would: dry days get 1.0 mm, rainy days 0. */
const inverted = (rows: string[]): string[] => rows.map((r) => withRain(r, (mm) => (mm > 0 ? 0 : 1)));

// Authentication on, as in production: ingestion asks the registry for the champion over mutual TLS.
describe('label checks at ingestion: the positive rate against the pinned profile, and the champion on the new labels', () => {
  let env: TestEnv;
  let creds: TestCredentials;
  let registryProc: ServiceProcess;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof IngestionService>>;
  let firstBatch: string;

  async function push(body: string, filename: string) {
    async function* requests(): AsyncGenerator<MessageInitShape<typeof PushDataRequestSchema>> {
      yield { part: { case: 'header', value: { pipeline: spec.name, format: 'csv', filename } } };
      yield { part: { case: 'chunk', value: Buffer.from(body) } };
    }
    return client.pushData(requests(), { timeoutMs: 60_000 });
  }

  /** A champion trained on `rows` as the trainer would, stored in the object store and registered through a signed model.evaluated. */
  async function registerChampion(rows: RawRow[]): Promise<void> {
    await initBackend({ prefer: 'auto' });
    const transform = fitTransform(rows, spec.features);
    const tr = applyTransform(transform, rows);
    const y = labelsOf(rows, spec.label);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const result = await trainModel({ X: tr.X, y, n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam' } });
    const auc = rocAuc(y, result.model.predict(tr.X, tr.n));
    const [model, transformRef] = await Promise.all([
      rt.store.putContentAddressed(`pipelines/${spec.name}/models`, await result.model.serialize(), '.refitm'),
      rt.store.putContentAddressed(`pipelines/${spec.name}/transforms`, serializeTransform(transform), '.json'),
    ]);
    result.model.dispose();
    const context = { runId: 'r-1', pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'first model' };
    const lineage = { model: wireRef(model), transform: wireRef(transformRef), featureNames: transform.outputNames, batchIds: [firstBatch] };
    await publishEvent(rt.nc, {
      subjectPrefix: env.subjectPrefix,
      event: EVENTS.modelEvaluated,
      message: { context, lineage, verdict: Verdict.PASS, reasons: ['pass: first model'], candidateMetrics: { auc } },
      source: 'evaluator',
      signer: creds.signer('evaluator'),
      runId: 'r-1',
    });
    const registry = createClient(RegistryService, registryProc.address, { credentials: await creds.as('vera', ['viewer']) });
    try {
      await waitFor(async () => (await registry.getAlias({ pipeline: spec.name, alias: 'champion' }).catch(() => undefined))?.model?.version === 'v1', { timeoutMs: 15_000, what: 'champion v1' });
    } finally {
      registry.close();
    }
  }

  async function stored<S extends DescMessage>(event: EventDef<S>): Promise<MessageShape<S>[]> {
    const all = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${event.name}` });
    return all.map((e) => fromBinary(event.schema, e.data));
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'ingestion-labels' });
    creds = await createTestCredentials();
    registryProc = await startServiceProcess('registry', { ...env.env, ...creds.serviceEnv('registry') });
    const config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registryProc.address, ...creds.serviceEnv('ingestion') }));
    rt = await startTestRuntime(config, join(here, 'migrations'));
    await startIngestionService(rt, config);
    client = createClient(IngestionService, rt.server?.address ?? '', { credentials: await creds.as('olga', ['operator']) });
    await upsertPipeline(rt.pool, { name: spec.name, version: 1, specJson: JSON.stringify(spec) });
    // Seattle 2012–2013 is the first batch (pinned: rain on 45% of days), then the champion learns from it.
    const first = await push(csv(days('2012-01-01', '2014-01-01')), 'seattle-2012-2013.csv');
    expect(first).toMatchObject({ status: 'accepted', rowsAccepted: 731n, batchProblems: [], warnings: [] });
    firstBatch = first.batchId;
    await registerChampion(weatherRows('Seattle', '2012-01-01', '2014-01-01') as RawRow[]);
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await registryProc?.stop();
    await env?.cleanup();
    creds?.cleanup();
  });

  it('rejects a month of inverted labels with the positive-rate shift and the champion far below chance; it never reaches a snapshot', async () => {
    const res = await push(csv(inverted(days('2014-03-01', '2014-04-01'))), 'seattle-2014-03.csv');
    expect(res.status).toBe('rejected');
    expect(res.rowsAccepted).toBe(31n);
    const problem = res.batchProblems.find((p) => p.includes('far below chance')) ?? '';
    expect(problem).toMatch(
      /^label precipitation > 0: champion v1 scores this batch's labels far below chance: AUC 0\.\d\d on 31 labelled rows \(95% CI 0\.\d\d to 0\.\d\d\) against 0\.\d\d at its evaluation and 0\.5 for a coin, which scores this low with p[=<][\d.e-]+ \(one-sided rank-sum test; limit labelInversionAuc 0\.4\)/,
    );
    expect(problem).toMatch(/; positive rate 0\.35 in this batch \(n=31\) vs 0\.45 pinned \(n=731, batch b-[\w-]+\): shift −0\.10, while the champion's scores average 0\.\d\d — the labels are likely inverted/);
    const [, auc, hi, p] = /AUC (0\.\d+) on 31 labelled rows \(95% CI 0\.\d+ to (0\.\d+)\) .* with p=([\d.e-]+) /.exec(problem) ?? [];
    expect(Number(auc)).toBeLessThanOrEqual(0.4);
    expect(Number(hi)).toBeLessThan(0.5);
    expect(Number(p)).toBeLessThan(0.01);
    // Rejected like any other batch: its rows stay stored, data.rejected says why.
    expect((await rt.store.get(`pipelines/${spec.name}/batches/${res.batchId}/rows.jsonl`)).toString().trim().split('\n')).toHaveLength(31);
    const rejected = await waitFor(async () => (await stored(EVENTS.dataRejected)).find((e) => e.batchId === res.batchId), { timeoutMs: 15_000, what: 'data.rejected' });
    expect(rejected.problems[0]).toMatch(/^batch rejected: label precipitation > 0: champion v1 scores this batch's labels far below chance/);

    const runId = 'r-snapshot';
    const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec), triggerKind: 'manual', triggerReason: 'after the inverted month' };
    await publishEvent(rt.nc, { subjectPrefix: env.subjectPrefix, event: EVENTS.runRequested, message: { context }, source: 'trigger', signer: creds.signer('trigger'), runId });
    const prepared = await waitFor(async () => (await stored(EVENTS.datasetPrepared)).find((e) => e.context?.runId === runId), { timeoutMs: 15_000, what: 'dataset.prepared' });
    expect(prepared.lineage?.batchIds).toEqual([firstBatch]);
    const { rowsTrain, rowsValidation, rowsTest } = prepared.lineage ?? {};
    expect(Number(rowsTrain) + Number(rowsValidation) + Number(rowsTest)).toBe(731);
  });

  it('accepts every month of 2014–2015 with its true labels, whatever its season (rain on 6% to 81% of days)', async () => {
    for (const month of days('2014-01-01', '2016-01-01').map((r) => r.split(',')[1].slice(0, 7)).filter((m, i, all) => all.indexOf(m) === i)) {
      const [y, m] = month.split('-').map(Number);
      const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
      const res = await push(csv(days(`${month}-01`, `${next}-01`)), `seattle-${month}.csv`);
      const rainy = days(`${month}-01`, `${next}-01`).filter((r) => Number(r.split(',')[2]) > 0).length;
      const total = days(`${month}-01`, `${next}-01`).length;
      // The champion scored every month; it judges an AUC only with 5 days of each kind (a dry July has 2 rainy ones).
      const note = Math.min(rainy, total - rainy) < MIN_CLASS_ROWS ? [`label check: champion v1's AUC on this batch was not judged: ${rainy} positive and ${total - rainy} negative labelled rows, fewer than 5 of a class`] : [];
      expect({ month, status: res.status, problems: res.batchProblems, warnings: res.warnings }).toEqual({ month, status: 'accepted', problems: [], warnings: note });
    }
  });

  it('without the registry, skips the champion check, says why, and judges the batch on its label distribution alone', async () => {
    await registryProc.stop();
    // A broken export that marks every day of July as rainy: 100% against the pinned 45%.
    const res = await push(csv(days('2014-07-01', '2014-08-01').map((r) => withRain(r, () => 1))), 'seattle-2014-07-all-rain.csv');
    expect(res.status).toBe('flagged');
    expect(res.batchProblems).toEqual([]);
    expect(res.warnings).toContainEqual(
      expect.stringMatching(
        /^label precipitation > 0: positive rate 1\.00 in this batch \(n=31\) vs 0\.45 pinned \(n=731, batch b-[\w-]+\): shift \+0\.55 exceeds 0\.5 \(two-proportion z=\d+\.\d, p[=<][\d.e-]+\); the labels may be inverted or the label rule wrong/,
      ),
    );
    expect(res.warnings).toContainEqual(
      expect.stringMatching(new RegExp(`^label check: the champion's scores were not checked: the registry at ${registryProc.address} could not be asked for the champion \\(.+\\); this batch was judged on its label distribution alone$`)),
    );
  });
});
