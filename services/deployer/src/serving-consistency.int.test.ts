import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { applyTransform, decodeMatrix, encodeMatrix, fitTransform, initBackend, labelsOf, serializeTransform, trainModel, type FeatureSpec, type RawRow } from '@refit/modeling';
import { createArtifactStore, type ArtifactStore } from '@refit/platform';
import { createTestEnv, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVersion, ServingTable } from './serving.js';

/** Seattle weather as ingestion writes it (typed JSON lines), with a few holes for the imputers. */
function seattle(): RawRow[] {
  const csv = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data', 'seattle-weather.csv');
  const [header, ...lines] = readFileSync(csv, 'utf8').trim().split('\n');
  const names = header.split(',');
  return lines.map((line, i) => {
    const cells = line.split(',');
    const row: RawRow = Object.fromEntries(names.map((n, k) => [n, n === 'date' || n === 'weather' ? cells[k] : Number(cells[k])]));
    if (i % 17 === 0) row.wind = null;
    if (i % 23 === 0) row.weather = null;
    return row;
  });
}

// The transform kinds the spec offers, on real columns (hashing is covered by libs/modeling's tests).
const FEATURES: FeatureSpec[] = [
  { name: 'temp_max', type: 'number' },
  { name: 'temp_min', type: 'number', transform: 'minmax', clip: { min: -5, max: 25 } },
  { name: 'wind', type: 'number', transform: 'log1p', impute: { strategy: 'median' }, missingIndicator: true },
  { name: 'precipitation', type: 'number', transform: 'bucketize', boundaries: [0.1, 5, 20] },
  { name: 'weather', type: 'category', topK: 3, impute: { strategy: 'mode' } },
  { name: 'date', type: 'date' },
];

describe('training/serving consistency (one transform artifact)', () => {
  let env: TestEnv;
  let store: ArtifactStore;
  const rows = seattle();
  const train = rows.filter((r) => String(r.date) < '2015-01-01');
  const serve = rows.filter((r) => String(r.date) >= '2015-01-01');

  beforeAll(async () => {
    env = await createTestEnv({ name: 'deployer-consistency' });
    store = createArtifactStore(env.s3);
    await store.ensureBucket();
    await initBackend({ prefer: 'auto' });
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it('the deployer’s Predict path computes the same feature vectors and scores as the training path', async () => {
    // Training path: fit on the training split, encode the matrix the trainer reads, train on it.
    const transform = fitTransform(train, FEATURES);
    expect(transform.version).toBe(2);
    const label = { column: 'precipitation', positive: { gt: 0 } };
    const encode = (rs: RawRow[]) => {
      const t = applyTransform(transform, rs);
      return decodeMatrix(encodeMatrix({ ...t, y: labelsOf(rs, label) }));
    };
    const trained = encode(train);
    const result = await trainModel({ X: trained.X, y: trained.y, n: trained.n, d: trained.d, spec: { kind: 'logistic', epochs: 3, seed: 1 } });
    const [modelRef, transformRef] = await Promise.all([
      store.putContentAddressed('consistency/models', await result.model.serialize(), '.refitm'),
      store.putContentAddressed('consistency/transforms', serializeTransform(transform), '.json'),
    ]);
    const servingMatrix = encode(serve);
    const trainingScores = Array.from(result.model.predict(servingMatrix.X, servingMatrix.n));
    result.model.dispose();

    // Serving path: what the deployer loads from the store and applies to rows as Predict receives them (JSON).
    const loaded = await loadVersion(store, { pipeline: 'consistency', version: 'v1', runId: 'r-1', modelKey: modelRef.key, transformKey: transformRef.key });
    const requests = JSON.parse(JSON.stringify(serve)) as RawRow[];
    const served = applyTransform(loaded.transform, requests);
    expect(served.names).toEqual(servingMatrix.names);
    expect(Array.from(served.X)).toEqual(Array.from(servingMatrix.X));

    const table = new ServingTable();
    table.swap(loaded);
    try {
      const { probabilities } = table.predict('consistency', requests);
      expect(Array.from(probabilities)).toEqual(trainingScores);
      // Numbers sent as text (a CSV-fed client) and unseen categories are handled the same way too.
      const asText = requests.slice(0, 5).map((r) => ({ ...r, temp_max: String(r.temp_max), weather: 'hail' }));
      const local = applyTransform(transform, asText);
      expect(Array.from(applyTransform(loaded.transform, asText).X)).toEqual(Array.from(local.X));
    } finally {
      table.clear();
    }
  });
});
