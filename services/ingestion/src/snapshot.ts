import { createHash } from 'node:crypto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { LineageSchema } from '@refit/contracts';
import { createRng } from '@refit/ml';
import { FailedPreconditionError, wireRef, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { listBatches } from './store.js';

/** Fewest rows a snapshot needs to be split into train, validation and test. */
export const MIN_SNAPSHOT_ROWS = 20;

/** Seeded Fisher–Yates permutation of 0..n-1: the same seed always gives the same split. */
export function permutation(n: number, seed: number): Uint32Array {
  const rng = createRng(seed);
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}

/** Sizes of the train/validation/test splits of n rows; each non-empty split gets at least one row. */
export function splitSizes(n: number, split: PipelineSpec['data']['split']): [number, number, number] {
  const test = Math.max(1, Math.round(n * split.test));
  const validation = split.validation > 0 ? Math.max(1, Math.round(n * split.validation)) : 0;
  return [n - test - validation, validation, test];
}

/**
 * Builds a run's snapshot: the accepted rows of the batches in the spec's window, de-duplicated,
 * stored content-addressed, then split with the spec's seed. Deterministic: the same batches and
 * spec give the same objects, so a redelivered request writes nothing new.
 */
export async function buildSnapshot(rt: ServiceRuntime, spec: PipelineSpec): Promise<MessageInitShape<typeof LineageSchema>> {
  const accepted = (await listBatches(rt.pool, spec.name, 'accepted')).filter((b) => b.rows_key && Number(b.rows_accepted) > 0);
  const window = spec.data.window === 'all' ? accepted : accepted.slice(-spec.data.window.lastBatches);
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const b of window) {
    const text = (await rt.store.get(b.rows_key as string)).toString('utf8');
    for (const line of text.split('\n')) {
      if (line && !seen.has(line)) {
        seen.add(line);
        lines.push(line);
      }
    }
  }
  if (lines.length < MIN_SNAPSHOT_ROWS) {
    throw new FailedPreconditionError(
      `pipeline '${spec.name}' has ${lines.length} usable rows in its data window; at least ${MIN_SNAPSHOT_ROWS} are needed — push data with 'refit data push ${spec.name} <file.csv>'`,
    );
  }
  const body = Buffer.from(`${lines.join('\n')}\n`);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const snapshot = await rt.store.putContentAddressed(`pipelines/${spec.name}/snapshots`, body, '.jsonl');

  const { seed } = spec.data.split;
  const order = permutation(lines.length, seed);
  const [nTrain, nVal] = splitSizes(lines.length, spec.data.split);
  const pick = (from: number, to: number) => Buffer.from(`${Array.from(order.subarray(from, to), (i) => lines[i]).join('\n')}\n`);
  const base = `pipelines/${spec.name}/snapshots/${sha256}/split-${seed}-${spec.data.split.train}-${spec.data.split.validation}`;
  const [train, validation, test] = await Promise.all([
    rt.store.put(`${base}/train.jsonl`, pick(0, nTrain)),
    rt.store.put(`${base}/validation.jsonl`, pick(nTrain, nTrain + nVal)),
    rt.store.put(`${base}/test.jsonl`, pick(nTrain + nVal, lines.length)),
  ]);
  return {
    snapshotSha256: sha256,
    snapshot: wireRef(snapshot),
    rawTrain: wireRef(train),
    rawValidation: wireRef(validation),
    rawTest: wireRef(test),
    rowsTrain: BigInt(nTrain),
    rowsValidation: BigInt(nVal),
    rowsTest: BigInt(lines.length - nTrain - nVal),
    batchIds: window.map((b) => b.batch_id),
  };
}
