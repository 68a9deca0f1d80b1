import { create } from '@bufbuild/protobuf';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineageSchema, ModelVersionSchema, type Lineage } from '@refit/contracts';
import { applyTransform, encodeMatrix, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type RawRow } from '@refit/modeling';
import { wireRef, type ServiceRuntime } from '@refit/platform';
import { createTestEnv, serviceEnv, startTestRuntime, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtestSpec, during, history, split } from './backtest.fixtures.js';
import { loadConfig } from './config.js';
import { evaluateCandidate } from './evaluate.js';
import { expectSameReport } from './report.fixtures.js';
import { reportDetails, reportDocument } from './report.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const spec = backtestSpec;
const jsonl = (rows: RawRow[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);

describe('evaluator backtest (real S3)', () => {
  let env: TestEnv;
  let rt: ServiceRuntime;
  let config: ReturnType<typeof loadConfig>;
  let historyRef: ReturnType<typeof wireRef>;

  /** Trains on `rows`' train split and stores what the trainer would: splits, transform, model, test features. */
  async function trained(rows: RawRow[]): Promise<Lineage> {
    const [train, validation, test] = split(rows);
    const transform = fitTransform(train, spec.features);
    const tr = applyTransform(transform, train);
    // The fixture models these tests were built around: mini-batch Adam, as the spec trained before solver auto.
    const { model } = await trainModel({ X: tr.X, y: labelsOf(train, spec.label), n: tr.n, d: tr.d, spec: { ...spec.model, solver: 'adam' } });
    const te = applyTransform(transform, test);
    const put = (dir: string, body: Buffer, ext: string) => rt.store.putContentAddressed(`pipelines/weather-rain/${dir}`, body, ext);
    const refs = await Promise.all([
      put('snapshots', jsonl(train), '.jsonl'),
      put('snapshots', jsonl(validation), '.jsonl'),
      put('snapshots', jsonl(test), '.jsonl'),
      put('transforms', serializeTransform(transform), '.json'),
      put('features', encodeMatrix({ ...te, y: labelsOf(test, spec.label) }), '.bin'),
      put('models', await model.serialize(), '.refitm'),
    ]);
    model.dispose();
    const [rawTrain, rawValidation, rawTest, transformRef, featuresTest, modelRef] = refs.map(wireRef);
    return create(LineageSchema, { rawTrain, rawValidation, rawTest, transform: transformRef, featuresTest, model: modelRef, rawHistory: historyRef });
  }

  beforeAll(async () => {
    env = await createTestEnv({ name: 'evaluator-backtest' });
    config = loadConfig(serviceEnv(env.env));
    rt = await startTestRuntime(config, join(here, 'migrations'));
    await initBackend({ prefer: config.tfBackend });
    historyRef = wireRef(await rt.store.putContentAddressed('pipelines/weather-rain/history', jsonl(history), '.jsonl'));
  });
  afterAll(async () => {
    await rt?.close();
    await env?.cleanup();
  });

  it('reads the history from the lineage, leaves out both models’ training rows, and blocks the quarter-only candidate', async () => {
    const champion = create(ModelVersionSchema, { pipeline: 'weather-rain', version: 'v1', lineage: await trained(during('2015-01-01', '2016-01-01')) });
    const candidate = await trained(during('2015-10-01', '2016-01-01'));
    const evaluation = await evaluateCandidate(rt, config, spec, candidate, champion);
    const bt = evaluation.backtest;
    expect(bt).toMatchObject({ column: 'date', days: 91, metric: 'auc', margin: 0 });
    expect(bt?.windows).toHaveLength(16);
    const judged = bt?.windows.filter((w) => w.judged) ?? [];
    expect(judged).toHaveLength(12);
    // Every row either model trained or early-stopped on is left out (the quarter's split differs from the year's).
    const trainedOn = new Set([...split(during('2015-01-01', '2016-01-01')), ...split(during('2015-10-01', '2016-01-01'))].flatMap((s, k) => (k % 3 === 2 ? [] : s)));
    expect(bt?.windows.reduce((s, w) => s + w.excluded, 0)).toBe(new Set([...trainedOn].map((r) => r.date)).size);
    expect(judged.filter((w) => w.notWorse).length).toBeLessThan(6);
    expect(evaluation.verdict).toBe('fail');
    // The typed report carries the same backtest, window by window.
    const stored: unknown = JSON.parse(JSON.stringify(reportDocument('bt-1', spec, candidate, evaluation)));
    expect(expectSameReport(stored, reportDetails(stored))).toBeGreaterThan(100);
    // Every test row of the quarter was one the full-year champion trained or early-stopped on: no
    // comparison on them, the candidate is judged on its floors and the backtest.
    expect(evaluation.leftOut).toMatchObject({ rows: evaluation.leftOut?.of });
    expect(evaluation.gates.find((g) => g.gate === 'champion')).toMatchObject({ outcome: 'inconclusive', reason: expect.stringMatching(/^no test row is left to compare with champion v1 on: champion v1 trained or early-stopped on \d+ of the \d+ test rows$/) });
    expect(evaluation.gates.at(-1)).toMatchObject({ gate: 'backtest:auc', outcome: 'fail' });
    expect(evaluation.gates.at(-1)?.reason).toMatch(/^backtest: auc not worse than champion v1's beyond the margin 0\.0000 in \d of 12 judged windows of 91 days \(4 more too small to judge\): not a strict majority \(7 needed\)$/);
  });

  it('without a history in the lineage the backtest gate is inconclusive, saying why', async () => {
    const candidate = await trained(during('2015-10-01', '2016-01-01'));
    candidate.rawHistory = undefined;
    const champion = create(ModelVersionSchema, { pipeline: 'weather-rain', version: 'v1', lineage: candidate });
    const evaluation = await evaluateCandidate(rt, config, spec, candidate, champion);
    expect(evaluation.backtest?.missing).toContain('no history of past data');
    expect(evaluation.gates.at(-1)).toMatchObject({ gate: 'backtest:auc', outcome: 'inconclusive' });
  });
});
