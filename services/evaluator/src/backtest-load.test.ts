import { create } from '@bufbuild/protobuf';
import { LineageSchema, ModelVersionSchema } from '@refit/contracts';
import { fitTransform, serializeTransform, type RawRow } from '@refit/modeling';
import { NotFoundError } from '@refit/platform';
import { describe, expect, it } from 'vitest';
import { backtestSpec as spec, during, history, split } from './backtest.fixtures.js';
import { loadBacktest, type Predict } from './backtest-load.js';

const jsonl = (rows: RawRow[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);

/** An object store that only reads, from memory; a missing key is NotFound, as on S3. */
function memoryStore(objects: Record<string, Buffer>) {
  const read: string[] = [];
  return {
    read,
    get(key: string): Promise<Buffer> {
      read.push(key);
      const body = objects[key];
      return body ? Promise.resolve(body) : Promise.reject(new NotFoundError(`no object '${key}'`));
    },
  };
}

/** A predict that remembers which model scored how many rows of how many features, and answers by the first feature. */
function recordingPredict() {
  const calls: Array<{ modelKey: string; n: number; d: number }> = [];
  const predict: Predict = (modelKey, X, n) => {
    const d = n > 0 ? X.length / n : 0;
    calls.push({ modelKey, n, d });
    return Promise.resolve(Float32Array.from({ length: n }, (_, i) => (X[i * d] > 0 ? 0.7 : 0.3)));
  };
  return { calls, predict };
}

describe('loadBacktest', () => {
  const year = split(during('2015-01-01', '2016-01-01'));
  const quarter = split(during('2015-10-01', '2016-01-01'));
  // The candidate's transform uses every feature; the champion's only the first: each model must be scored through its own.
  const candidateTransform = fitTransform(quarter[0], spec.features);
  const championTransform = fitTransform(year[0], spec.features.slice(0, 1));
  const objects = {
    'history.jsonl': jsonl(history),
    'cand-train.jsonl': jsonl(quarter[0]),
    'cand-validation.jsonl': jsonl(quarter[1]),
    'champ-train.jsonl': jsonl(year[0]),
    'champ-validation.jsonl': jsonl(year[1]),
    'cand-transform.json': serializeTransform(candidateTransform),
    'champ-transform.json': serializeTransform(championTransform),
  };
  const candidate = create(LineageSchema, {
    rawHistory: { key: 'history.jsonl' },
    rawTrain: { key: 'cand-train.jsonl' },
    rawValidation: { key: 'cand-validation.jsonl' },
    model: { key: 'cand-model' },
    transform: { key: 'cand-transform.json' },
  });
  const champion = create(ModelVersionSchema, {
    pipeline: spec.name,
    version: 'v1',
    lineage: { rawTrain: { key: 'champ-train.jsonl' }, rawValidation: { key: 'champ-validation.jsonl' }, model: { key: 'champ-model' }, transform: { key: 'champ-transform.json' } },
  });

  it('leaves out every row either model trained or early-stopped on and scores each model through its own transform', async () => {
    const { calls, predict } = recordingPredict();
    const report = await loadBacktest({ store: memoryStore(objects) }, spec, candidate, champion, predict);
    expect(report).toMatchObject({ column: 'date', days: 91, metric: 'auc', margin: 0, compared: true });
    expect(report.missing).toBeUndefined();
    expect(report.windows).toHaveLength(16);
    // The quarter's splits are a subset of the year's days, but split differently: the union of the train and validation rows is left out.
    const trainedOn = new Set([...year[0], ...year[1], ...quarter[0], ...quarter[1]].map((r) => JSON.stringify(r)));
    expect(report.windows.reduce((s, w) => s + w.excluded, 0)).toBe(trainedOn.size);
    const kept = report.windows.reduce((s, w) => s + w.rows, 0);
    expect(calls).toEqual([
      { modelKey: 'cand-model', n: expect.any(Number), d: candidateTransform.outputNames.length },
      { modelKey: 'champ-model', n: calls[0].n, d: 1 },
    ]);
    // Every row kept in a window is scored, by both models, and nothing else.
    expect(calls[0].n).toBe(kept);
    expect(report.windows.every((w) => !w.judged || (w.candidate && w.champion))).toBe(true);
  });

  it('without a champion only the candidate is scored, and nothing is compared', async () => {
    const { calls, predict } = recordingPredict();
    const report = await loadBacktest({ store: memoryStore(objects) }, spec, candidate, undefined, predict);
    expect(report.compared).toBe(false);
    expect(report.pooled).toBeUndefined();
    expect(calls.map((c) => c.modelKey)).toEqual(['cand-model']);
    expect(report.windows.filter((w) => w.judged).every((w) => w.candidate && !w.champion && !w.comparison)).toBe(true);
  });

  it('says what is missing, reading nothing, when the lineage has no history or no model', async () => {
    const { calls, predict } = recordingPredict();
    const store = memoryStore(objects);
    const noHistory = await loadBacktest({ store }, spec, create(LineageSchema, { ...candidate, rawHistory: undefined }), champion, predict);
    expect(noHistory).toMatchObject({ windows: [], compared: false, missing: expect.stringContaining('no history of past data') });
    const noModel = await loadBacktest({ store }, spec, create(LineageSchema, { ...candidate, model: undefined }), champion, predict);
    expect(noModel.missing).toBe('the candidate has no model or transform in its lineage');
    expect(store.read).toEqual([]);
    expect(calls).toEqual([]);
  });
});
