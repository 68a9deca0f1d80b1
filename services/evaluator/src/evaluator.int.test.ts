import { clone, create, fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactRefSchema, EvaluationDetailsSchema, EvaluatorService, LineageSchema, RegistryService, Verdict, type Lineage } from '@refit/contracts';
import { binaryMetrics } from '@refit/ml';
import { applyTransform, encodeMatrix, fitTransform, initBackend, labelsOf, trainModel, serializeTransform, type FittedTransform, type RawRow } from '@refit/modeling';
import {
  createClient,
  EVENTS,
  isNotFound,
  withTransaction,
  wireRef,
  type EventDef,
  type ServiceRuntime,
} from '@refit/platform';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { createTestEnv, readEvents, serviceEnv, startServiceProcess, startTestRuntime, waitFor, weatherRows, type ServiceProcess, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { expectSameReport } from './report.fixtures.js';
import { startEvaluatorService } from './service.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrations = join(here, 'migrations');
// The example pipeline with the champion rules these tests are about (an AUC margin of 0.03).
const example = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));
const spec: PipelineSpec = { ...example, gates: { ...example.gates, champion: [{ metric: 'auc', margin: 0.03 }, { metric: 'logLoss', margin: 0, test: 'better' }] } };

/** The curves of one model in a report. */
type ModelCurves = { roc: { fpr: number[]; tpr: number[] }; pr: { recall: number[]; precision: number[] }; calibration: { predicted: number[]; observed: number[]; count: number[] } };

/** Trapezoid area under (x, y). */
function trapezoid(x: number[], y: number[]): number {
  let a = 0;
  for (let i = 1; i < x.length; i++) a += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return a;
}

const jsonl = (rows: RawRow[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);

// Every candidate is scored on Seattle 2015.
const test = weatherRows('Seattle', '2015-01-01', '2016-01-01');
const yTest = labelsOf(test, spec.label);

/** A real trained model with its transform, stored in the env's S3, and its expected test metrics. */
type Candidate = { lineage: Lineage; transform: FittedTransform; probs: Float32Array; accuracy: number; auc: number };

describe('evaluator service (with the registry)', () => {
  let env: TestEnv;
  let registry: ServiceProcess;
  let rt: ServiceRuntime;
  let client: ReturnType<typeof createClient<typeof EvaluatorService>>;
  let registryClient: ReturnType<typeof createClient<typeof RegistryService>>;
  const models: Record<'year' | 'latestQuarter' | 'springQuarter', Candidate> = {} as never;

  async function trainCandidate(rows: RawRow[]): Promise<Candidate> {
    const transform = fitTransform(rows, spec.features);
    const tr = applyTransform(transform, rows);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const result = await trainModel({ X: tr.X, y: labelsOf(rows, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam', epochs: 10 } });
    const te = applyTransform(transform, test);
    const probs = result.model.predict(te.X, te.n);
    const m = binaryMetrics(yTest, probs);
    const [model, transformRef, featuresTest, rawTest] = await Promise.all([
      rt.store.putContentAddressed('pipelines/weather-rain/models', await result.model.serialize(), '.refitm'),
      rt.store.putContentAddressed('pipelines/weather-rain/transforms', serializeTransform(transform), '.json'),
      rt.store.putContentAddressed('pipelines/weather-rain/features', encodeMatrix({ ...te, y: yTest }), '.bin'),
      rt.store.putContentAddressed('pipelines/weather-rain/snapshots', jsonl(test), '.jsonl'),
    ]);
    result.model.dispose();
    return {
      lineage: create(LineageSchema, {
        rawTest: wireRef(rawTest),
        rowsTrain: BigInt(rows.length),
        rowsTest: BigInt(test.length),
        transform: wireRef(transformRef),
        featuresTest: wireRef(featuresTest),
        featureNames: transform.outputNames,
        model: wireRef(model),
        seed: 42n,
        epochs: 10,
        backend: result.backend,
      }),
      transform,
      probs,
      accuracy: m.accuracy,
      auc: m.rocAuc ?? Number.NaN,
    };
  }

  async function events<S extends DescMessage>(def: EventDef<S>): Promise<MessageShape<S>[]> {
    const stored = await readEvents(rt.nc, { stream: env.streamName, subject: `${env.subjectPrefix}.${def.name}` });
    return stored.map((e) => fromBinary(def.schema, e.data));
  }

  /** Publishes model.trained for `runId` and waits for the evaluation and the registry's answer to it. */
  async function evaluate(runId: string, c: Pick<Candidate, 'lineage'>, runSpec: PipelineSpec = spec) {
    const context = { runId, pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(runSpec), triggerKind: 'manual', triggerReason: 'evaluator test' };
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelTrained, { context, lineage: c.lineage, trainMetrics: { accuracy: 0.5 } }, { runId }));
    rt.relay.kick();
    const evaluated = await waitFor(async () => (await events(EVENTS.modelEvaluated)).find((e) => e.context?.runId === runId), { what: `model.evaluated of ${runId}` });
    const registered = await waitFor(async () => (await events(EVENTS.modelRegistered)).find((e) => e.context?.runId === runId), { what: `model.registered of ${runId}` });
    return { evaluated, registered };
  }

  const f4 = (x: number) => x.toFixed(4);

  beforeAll(async () => {
    env = await createTestEnv({ name: 'evaluator' });
    registry = await startServiceProcess('registry', env.env);
    const config = loadConfig(serviceEnv(env.env, { REFIT_REGISTRY_ADDR: registry.address }));
    rt = await startTestRuntime(config, migrations);
    await startEvaluatorService(rt, config);
    client = createClient(EvaluatorService, rt.server?.address ?? '');
    registryClient = createClient(RegistryService, registry.address);

    await initBackend({ prefer: config.tfBackend });
    models.year = await trainCandidate(weatherRows('Seattle', '2014-01-01', '2015-01-01'));
    models.latestQuarter = await trainCandidate(weatherRows('Seattle', '2014-10-01', '2015-01-01'));
    models.springQuarter = await trainCandidate(weatherRows('Seattle', '2014-04-01', '2014-07-01'));
  });
  afterAll(async () => {
    client?.close();
    registryClient?.close();
    await rt?.close();
    await registry?.stop();
    await env?.cleanup();
  });

  it('with no champion judges the candidate on its floors alone, and the registry promotes it', async () => {
    const year = models.year;
    expect(year.accuracy).toBeGreaterThan(0.7);
    const { evaluated, registered } = await evaluate('e-1', year);
    expect(evaluated.verdict).toBe(Verdict.PASS);
    expect(evaluated.reasons).toEqual([
      `pass: accuracy ${f4(year.accuracy)} meets the floor 0.6000`,
      `pass: auc ${f4(year.auc)} meets the floor 0.6000`,
      'pass: no champion yet: the candidate is judged on its floors alone',
    ]);
    expect(evaluated.candidateMetrics.accuracy).toBeCloseTo(year.accuracy, 12);
    expect(evaluated.candidateMetrics.auc).toBeCloseTo(year.auc, 12);
    expect(evaluated.championVersion).toBe('');
    expect(evaluated.championMetrics).toEqual({});
    expect(evaluated.timing?.stage).toBe('evaluator');
    expect(evaluated.lineage?.evaluationReport?.key).toMatch(/^pipelines\/weather-rain\/reports\//);
    expect(evaluated.lineage?.model?.key).toBe(year.lineage.model?.key);
    expect(registered).toMatchObject({ version: 'v1', promoted: true });
    expect((await registryClient.getAlias({ pipeline: 'weather-rain', alias: 'champion' })).model?.runId).toBe('e-1');
  });

  it('blocks a model trained on only the latest quarter: below the floors and worse than the full-year champion', async () => {
    const q = models.latestQuarter;
    const { evaluated, registered } = await evaluate('e-2', q);
    expect(evaluated.verdict).toBe(Verdict.FAIL);
    expect(q.auc).toBeLessThan(models.year.auc - 0.05);
    expect(evaluated.reasons.slice(0, 2)).toEqual([`FAIL: accuracy ${f4(q.accuracy)} is below the floor 0.6000`, `FAIL: auc ${f4(q.auc)} is below the floor 0.6000`]);
    // The comparison itself blocks it: the whole AUC interval lies below -0.03.
    expect(evaluated.reasons[2]).toMatch(
      new RegExp(`^FAIL: auc ${f4(q.auc)} vs champion v1's ${f4(models.year.auc)} on the same ${test.length} test rows \\(gain -0\\.\\d{4}, 95% CI \\[-0\\.\\d{4}, -0\\.\\d{4}\\]\\): worse than the champion beyond the margin 0\\.0300 \\(the whole interval lies below -0\\.0300; DeLong`),
    );
    expect(registered).toMatchObject({ version: 'v2', promoted: false, previousChampion: '' });
  });

  it('fails a candidate that passes its floors but is worse than the champion beyond the margin; the registry keeps the champion', async () => {
    const c = models.springQuarter;
    const year = models.year;
    // Good enough on its own, clearly worse than the full-year champion on the same rows.
    expect(c.accuracy).toBeGreaterThan(0.6);
    expect(c.auc).toBeGreaterThan(0.6);
    expect(year.auc - c.auc).toBeGreaterThan(0.03);
    const aliasBefore = await registryClient.getAlias({ pipeline: 'weather-rain', alias: 'champion' });

    const { evaluated, registered } = await evaluate('e-3', c);
    expect(evaluated.verdict).toBe(Verdict.FAIL);
    expect(evaluated.reasons.slice(0, 2)).toEqual([`pass: accuracy ${f4(c.accuracy)} meets the floor 0.6000`, `pass: auc ${f4(c.auc)} meets the floor 0.6000`]);
    expect(evaluated.reasons[2]).toMatch(/^FAIL: auc .* worse than the champion beyond the margin 0\.0300 \(the whole interval lies below -0\.0300; DeLong/);
    expect(evaluated.reasons[3]).toMatch(/^FAIL: logLoss .* worse than the champion \(the whole interval lies below \+0\.0000; paired bootstrap/);
    // The champion was scored through its own transform on this run's raw test rows.
    expect(evaluated.championVersion).toBe('v1');
    expect(evaluated.championMetrics.accuracy).toBeCloseTo(year.accuracy, 12);
    expect(evaluated.championMetrics.auc).toBeCloseTo(year.auc, 12);
    expect(c.transform.features[0]).not.toEqual(year.transform.features[0]);

    expect(registered).toMatchObject({ version: 'v3', promoted: false, previousChampion: '', verdict: Verdict.FAIL });
    const aliasAfter = await registryClient.getAlias({ pipeline: 'weather-rain', alias: 'champion' });
    expect(aliasAfter.model?.version).toBe('v1');
    expect(aliasAfter.model?.aliases).toEqual(aliasBefore.model?.aliases);
    expect((await registryClient.getModel({ pipeline: 'weather-rain', version: 'v3' })).model?.aliases).toEqual([]);

    // GetReport returns what was decided, with the stored report.
    const { report } = await client.getReport({ runId: 'e-3' });
    expect(report).toMatchObject({ runId: 'e-3', pipeline: 'weather-rain', verdict: Verdict.FAIL, championVersion: 'v1', rowsTest: BigInt(test.length) });
    expect(report?.reasons).toEqual(evaluated.reasons);
    expect(report?.candidateMetrics).toEqual(evaluated.candidateMetrics);
    expect(report?.championMetrics).toEqual(evaluated.championMetrics);
    expect(report?.report?.key).toBe(evaluated.lineage?.evaluationReport?.key);
    const json = JSON.parse(report?.reportJson ?? '{}') as {
      verdict: string;
      champion: { version: string };
      rowsTest: number;
      gates: Array<{ gate: string; outcome: string }>;
      comparisons: Array<{ evidence: { metric: string; n: number; pValue: number; interval: { lower: number; upper: number } } }>;
      curves: { rows: number; candidate: ModelCurves; champion?: ModelCurves };
    };
    expect(json).toMatchObject({ verdict: 'fail', champion: { version: 'v1' }, rowsTest: test.length });
    expect(json.gates.map((g) => g.gate)).toEqual(['floor:accuracy', 'floor:auc', 'champion:auc', 'champion:logLoss']);
    expect(json.gates.at(-1)?.outcome).toBe('fail');
    // The typed details are the same report, field by field.
    expect(expectSameReport(json, report?.details ?? create(EvaluationDetailsSchema))).toBeGreaterThan(100);
    expect(report?.details?.gates.map((g) => g.gate)).toEqual(json.gates.map((g) => g.gate));
    // The evidence behind each comparison is kept: its interval and p-value on the same rows.
    expect(json.comparisons.map((c) => [c.evidence.metric, c.evidence.n])).toEqual([
      ['auc', test.length],
      ['logLoss', test.length],
    ]);
    expect(json.comparisons[1].evidence.interval.upper).toBeLessThan(0);

    // The curves behind the decision: both models, on the rows the comparison used.
    expect(json.curves.rows).toBe(json.comparisons[0].evidence.n);
    expect(json.curves.rows).toBe(json.rowsTest);
    for (const [curves, metrics] of [
      [json.curves.candidate, evaluated.candidateMetrics],
      [json.curves.champion, evaluated.championMetrics],
    ] as const) {
      if (!curves) throw new Error('the report carries no champion curves');
      const { fpr, tpr } = curves.roc;
      expect(fpr.length).toBe(tpr.length);
      expect(fpr.length).toBeGreaterThan(10);
      expect(fpr.length).toBeLessThanOrEqual(200);
      // Downsampling drops only collinear points while the curve fits in 200, so the area is exact then.
      expect(Math.abs(trapezoid(fpr, tpr) - metrics.auc)).toBeLessThan(1e-9);
      expect(curves.pr.recall.length).toBe(curves.pr.precision.length);
      expect(curves.pr.recall.at(-1)).toBe(1);
      expect(curves.calibration.count.reduce((a, b) => a + b, 0)).toBe(json.curves.rows);
    }
    expect(json.curves.champion?.roc).not.toEqual(json.curves.candidate.roc);
  });

  it('an identical model is never promoted: not shown better, and under a non-inferiority-only spec it is the champion itself', async () => {
    const same = await evaluate('e-4', models.year);
    // Same model, same rows: the champion path (raw rows → its transform) equals the candidate's features.
    expect(same.evaluated.championMetrics).toEqual(same.evaluated.candidateMetrics);
    expect(same.evaluated.verdict).toBe(Verdict.INCONCLUSIVE);
    expect(same.evaluated.reasons.at(-1)).toMatch(/^INCONCLUSIVE: the candidate is champion v1 itself \(the same model bytes, sha256 [0-9a-f]{12}…\): nothing new to promote$/);
    expect(same.registered).toMatchObject({ version: 'v4', promoted: false, verdict: Verdict.INCONCLUSIVE });

    // A not-worse rule alone would pass two identical models (gain 0, CI [0, 0]): the same bytes are not promoted.
    const nonInferiority = { ...spec, gates: { ...spec.gates, champion: { metric: 'auc' as const, margin: 0.01 } } };
    const { evaluated, registered } = await evaluate('e-5', models.year, nonInferiority);
    expect(evaluated.verdict).toBe(Verdict.INCONCLUSIVE);
    expect(evaluated.reasons.at(-1)).toContain('the candidate is champion v1 itself');
    expect(registered).toMatchObject({ version: 'v5', promoted: false });
    expect((await registryClient.getAlias({ pipeline: 'weather-rain', alias: 'champion' })).model?.version).toBe('v1');
  });

  it('never evaluates a cancelled run, even when the trainer emitted model.trained before the cancellation', async () => {
    const handled = async (consumer: string, id: string) =>
      (await rt.pool.query('select 1 from handled_events where consumer = $1 and event_id = $2', [consumer, id])).rowCount === 1;
    const cancelled = await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.runCancelled, { runId: 'e-cancelled', reason: 'wrong data' }, { runId: 'e-cancelled' }));
    rt.relay.kick();
    await waitFor(() => handled('evaluator-run-cancelled', cancelled), { what: 'run.cancelled to be recorded' });
    expect((await rt.pool.query('select reason from cancelled_runs where run_id = $1', ['e-cancelled'])).rows).toEqual([{ reason: 'wrong data' }]);

    const context = { runId: 'e-cancelled', pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec) };
    const trained = await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelTrained, { context, lineage: models.year.lineage }, { runId: 'e-cancelled' }));
    rt.relay.kick();
    await waitFor(() => handled('evaluator-model-trained', trained), { what: 'model.trained of the cancelled run to be handled' });
    expect((await events(EVENTS.modelEvaluated)).some((e) => e.context?.runId === 'e-cancelled')).toBe(false);
    expect((await rt.pool.query('select 1 from reports where run_id = $1', ['e-cancelled'])).rowCount).toBe(0);
  });

  it('GetReport of an unknown run is NOT_FOUND; an unreadable model fails the run at the evaluator stage at once', async () => {
    const err = await client.getReport({ runId: 'e-missing' }).catch((e: unknown) => e);
    expect(isNotFound(err) && (err as Error).message).toContain("'e-missing'");

    const junk = await rt.store.putContentAddressed('pipelines/weather-rain/models', Buffer.from('not a model'), '.refitm');
    const context = { runId: 'e-bad', pipeline: spec.name, specVersion: 1, specJson: JSON.stringify(spec) };
    const lineage = clone(LineageSchema, models.year.lineage);
    lineage.model = create(ArtifactRefSchema, wireRef(junk));
    await withTransaction(rt.pool, (tx) => rt.publish(tx, EVENTS.modelTrained, { context, lineage }, { runId: 'e-bad' }));
    rt.relay.kick();
    const failed = await waitFor(async () => (await events(EVENTS.runFailed)).find((e) => e.runId === 'e-bad'), { timeoutMs: 6000, what: 'run.failed of e-bad' });
    expect(failed.stage).toBe('evaluator');
    expect(failed.reason).toContain('not a Refit model');
    expect((await events(EVENTS.modelEvaluated)).some((e) => e.context?.runId === 'e-bad')).toBe(false);
  });
});
