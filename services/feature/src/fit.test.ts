import { createHash } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { LineageSchema, type Lineage } from '@refit/contracts';
import { decodeMatrix, parseTransform, type RawRow } from '@refit/modeling';
import { isInvalidInput, NotFoundError, type ArtifactRef } from '@refit/platform';
import { parseSpec } from '@refit/spec';
import { describe, expect, it } from 'vitest';
import { fitFeatures } from './fit.js';

const spec = parseSpec(`apiVersion: refit/v1
kind: Pipeline
name: fit
schema: { infer: true }
label: { column: rain }
features:
  - { name: wind, type: number }
  - { name: city, type: category }
`);

const jsonl = (rows: RawRow[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
const rowsOf = (n: number, from: number): RawRow[] => Array.from({ length: n }, (_, i) => ({ wind: from + i, city: i % 3 === 0 ? 'a' : 'b', rain: i % 2 }));

/** An object store in memory, content-addressed like the real one (same content, same key). */
function memoryStore(objects = new Map<string, Buffer>()) {
  return {
    objects,
    get(key: string): Promise<Buffer> {
      const body = objects.get(key);
      return body ? Promise.resolve(body) : Promise.reject(new NotFoundError(`no object '${key}'`));
    },
    putContentAddressed(prefix: string, data: Buffer, ext = ''): Promise<ArtifactRef> {
      const sha256 = createHash('sha256').update(data).digest('hex');
      const key = `${prefix}/${sha256}${ext}`;
      objects.set(key, data);
      return Promise.resolve({ bucket: 'memory', key, sha256, size: data.length });
    },
  };
}

/** A store holding the three raw splits, and the lineage that names them. */
function prepared(splits: { train: Buffer; validation: Buffer; test?: Buffer }): { store: ReturnType<typeof memoryStore>; lineage: Lineage } {
  const store = memoryStore(new Map(Object.entries({ 'raw/train.jsonl': splits.train, 'raw/validation.jsonl': splits.validation, ...(splits.test ? { 'raw/test.jsonl': splits.test } : {}) })));
  const lineage = create(LineageSchema, { rawTrain: { key: 'raw/train.jsonl' }, rawValidation: { key: 'raw/validation.jsonl' }, rawTest: splits.test ? { key: 'raw/test.jsonl' } : undefined });
  return { store, lineage };
}

describe('fitFeatures', () => {
  const train = rowsOf(40, 0);
  const validation = rowsOf(10, 100);
  const test = rowsOf(12, 200);

  it('fits on the training split only, and stores the transform and the three transformed splits content-addressed', async () => {
    const { store, lineage } = prepared({ train: jsonl(train), validation: jsonl(validation), test: jsonl(test) });
    const fit = await fitFeatures({ store }, spec, lineage);
    expect(fit.transform.fittedOnRows).toBe(train.length);
    expect(fit.trainRows).toEqual(train);
    expect(fit.transformRef.key).toMatch(/^pipelines\/fit\/transforms\/[0-9a-f]{64}\.json$/);
    expect(parseTransform(await store.get(fit.transformRef.key))).toEqual(fit.transform);
    expect(fit.lineage.featureNames).toEqual(fit.transform.outputNames);
    const splits = { featuresTrain: train, featuresValidation: validation, featuresTest: test } as const;
    for (const [field, rows] of Object.entries(splits) as Array<[keyof typeof splits, RawRow[]]>) {
      const ref = fit.lineage[field];
      expect(ref?.key).toMatch(/^pipelines\/fit\/features\/[0-9a-f]{64}\.bin$/);
      const m = decodeMatrix(await store.get(ref?.key ?? ''));
      expect({ n: m.n, names: m.names, y: Array.from(m.y) }).toEqual({ n: rows.length, names: fit.transform.outputNames, y: rows.map((r) => r.rain) });
    }
    // Fitting again (a redelivered event) writes the same objects: nothing new in the store.
    const before = store.objects.size;
    const again = await fitFeatures({ store }, spec, lineage);
    expect(again.lineage).toEqual(fit.lineage);
    expect(store.objects.size).toBe(before);
  });

  it('turns a data problem into InvalidInput naming the split, and a missing split into InvalidInput', async () => {
    const badLine = prepared({ train: jsonl(train), validation: Buffer.from('{"wind": 1, "city": "a", "rain": 0}\nnot json\n'), test: jsonl(test) });
    const err = await fitFeatures(badLine, spec, badLine.lineage).catch((e: unknown) => e);
    expect(isInvalidInput(err)).toBe(true);
    expect((err as Error).message).toMatch(/^validation split: .*line 2 is not valid JSON/);
    const noTest = prepared({ train: jsonl(train), validation: jsonl(validation) });
    await expect(fitFeatures(noTest, spec, noTest.lineage)).rejects.toThrow('dataset.prepared carries no test split');
    // Nothing is stored for a run that cannot be fitted.
    expect([...noTest.store.objects.keys()].filter((k) => k.startsWith('pipelines/'))).toEqual([]);
  });
});
