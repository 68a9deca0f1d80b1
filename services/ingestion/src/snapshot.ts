import { createHash } from 'node:crypto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { LineageSchema } from '@refit/contracts';
import { createRng } from '@refit/ml';
import { dateMs } from '@refit/modeling';
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

/** Milliseconds of a timestamp cell, or NaN. */
const timeOf = (v: unknown): number => (typeof v === 'string' ? dateMs(v) : NaN);

/**
 * The rows of the spec's window, in arrival order (or time order when there is a timestamp):
 * all, the last N rows, or a time window; `lastDays` counts back from the newest row, so the same
 * data always gives the same window.
 */
export function applyWindow(lines: string[], spec: PipelineSpec): string[] {
  const w = spec.data.window;
  const ts = spec.schema.timestamp;
  if (w === 'all' || 'lastBatches' in w) return lines;
  const times = ts ? lines.map((l) => timeOf((JSON.parse(l) as Record<string, unknown>)[ts])) : undefined;
  if ('lastRows' in w) {
    if (!times) return lines.slice(-w.lastRows);
    const order = lines.map((_, i) => i).sort((a, b) => times[a] - times[b] || a - b);
    return order.slice(-w.lastRows).map((i) => lines[i]);
  }
  if (!times) return lines; // the spec parser requires schema.timestamp for a time window
  const newest = Math.max(...times.filter((t) => !Number.isNaN(t)));
  const since = w.time.lastDays !== undefined ? newest - w.time.lastDays * 86_400_000 : w.time.since ? timeOf(w.time.since) : -Infinity;
  const until = w.time.until ? timeOf(w.time.until) : Infinity;
  return lines.filter((_, i) => times[i] >= since && (w.time.lastDays !== undefined ? times[i] <= newest : times[i] < until));
}

/**
 * Assigns rows to train, validation and test. Rows of one entity (schema.entity) stay together;
 * `by: time` puts the oldest rows (entities by their newest row) in train and the newest in test,
 * otherwise entities are shuffled with the seed. Without an entity column and by random this is
 * exactly a seeded permutation of the rows.
 */
export function assignSplits(rows: Array<Record<string, unknown>>, spec: PipelineSpec): [number[], number[], number[]] {
  const { split } = spec.data;
  const entity = spec.schema.entity;
  const ts = spec.schema.timestamp;
  const groups: number[][] = [];
  if (entity) {
    const byId = new Map<string, number[]>();
    rows.forEach((r, i) => {
      const id = String(r[entity]);
      const g = byId.get(id);
      if (g) g.push(i);
      else byId.set(id, [i]);
    });
    groups.push(...byId.values());
  } else rows.forEach((_, i) => groups.push([i]));
  let order: number[];
  if (split.by === 'time' && ts) {
    const newest = groups.map((g) => Math.max(...g.map((i) => timeOf(rows[i][ts]))));
    order = groups.map((_, k) => k).sort((a, b) => newest[a] - newest[b] || a - b);
  } else order = Array.from(permutation(groups.length, split.seed));
  const [nTrain, nVal] = splitSizes(rows.length, split);
  const out: [number[], number[], number[]] = [[], [], []];
  for (const k of order) {
    const target = out[0].length < nTrain ? 0 : out[1].length < nVal ? 1 : 2;
    out[target].push(...groups[k]);
  }
  return out;
}

/** The distinct non-empty lines of JSON-lines texts, in order of first appearance. */
export function distinctLines(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const text of texts) for (const line of text.split('\n')) if (line) seen.add(line);
  return [...seen];
}

/**
 * Stores the pipeline's history for a backtest: every accepted row of every usable batch,
 * de-duplicated, whatever `data.window` says, in the serialization of the splits (so the evaluator
 * can leave out the rows a model trained on by comparing lines).
 */
async function storeHistory(rt: ServiceRuntime, pipeline: string, lines: string[]) {
  return rt.store.putContentAddressed(`pipelines/${pipeline}/history`, Buffer.from(`${lines.join('\n')}\n`), '.jsonl');
}

/**
 * Builds a run's snapshot: the accepted (and flagged) rows of the batches in the spec's window,
 * de-duplicated, cut to the row or time window, stored content-addressed, then split with the
 * spec's seed (or by time), never splitting an entity. Deterministic: the same batches and spec
 * give the same objects, so a redelivered request writes nothing new. With `evaluation.backtest`
 * the lineage also carries `rawHistory`, every accepted row of the pipeline.
 */
export async function buildSnapshot(rt: ServiceRuntime, spec: PipelineSpec): Promise<MessageInitShape<typeof LineageSchema>> {
  const usable = (await listBatches(rt.pool, spec.name, 'usable')).filter((b) => b.rows_key && Number(b.rows_accepted) > 0);
  const window = typeof spec.data.window === 'object' && 'lastBatches' in spec.data.window ? usable.slice(-spec.data.window.lastBatches) : usable;
  // A backtest needs every batch; otherwise only the window's are read.
  const texts = new Map<string, string>();
  for (const b of spec.evaluation.backtest ? usable : window) texts.set(b.batch_id, (await rt.store.get(b.rows_key as string)).toString('utf8'));
  const history = spec.evaluation.backtest ? await storeHistory(rt, spec.name, distinctLines(usable.map((b) => texts.get(b.batch_id) ?? ''))) : undefined;
  const lines = applyWindow(distinctLines(window.map((b) => texts.get(b.batch_id) ?? '')), spec);
  if (lines.length < MIN_SNAPSHOT_ROWS) {
    throw new FailedPreconditionError(
      `pipeline '${spec.name}' has ${lines.length} usable rows in its data window; at least ${MIN_SNAPSHOT_ROWS} are needed — push data with 'refit data push ${spec.name} <file.csv>'`,
    );
  }
  const body = Buffer.from(`${lines.join('\n')}\n`);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const snapshot = await rt.store.putContentAddressed(`pipelines/${spec.name}/snapshots`, body, '.jsonl');

  const { seed } = spec.data.split;
  const simple = !spec.schema.entity && spec.data.split.by !== 'time';
  const [trainIdx, valIdx, testIdx] = simple
    ? (() => {
        const order = Array.from(permutation(lines.length, seed));
        const [nTrain, nVal] = splitSizes(lines.length, spec.data.split);
        return [order.slice(0, nTrain), order.slice(nTrain, nTrain + nVal), order.slice(nTrain + nVal)] as const;
      })()
    : assignSplits(lines.map((l) => JSON.parse(l) as Record<string, unknown>), spec);
  if (testIdx.length === 0 || trainIdx.length === 0) {
    throw new FailedPreconditionError(`pipeline '${spec.name}': ${lines.length} rows in ${spec.schema.entity ? `entities of '${spec.schema.entity}'` : 'the window'} cannot fill both train and test; push more data`);
  }
  const pick = (idx: readonly number[]) => Buffer.from(`${idx.map((i) => lines[i]).join('\n')}\n`);
  const how = simple ? '' : `-${spec.data.split.by ?? 'random'}${spec.schema.entity ? `-by-${spec.schema.entity}` : ''}`;
  const base = `pipelines/${spec.name}/snapshots/${sha256}/split-${seed}-${spec.data.split.train}-${spec.data.split.validation}${how}`;
  const [train, validation, test] = await Promise.all([
    rt.store.put(`${base}/train.jsonl`, pick(trainIdx)),
    rt.store.put(`${base}/validation.jsonl`, pick(valIdx)),
    rt.store.put(`${base}/test.jsonl`, pick(testIdx)),
  ]);
  return {
    snapshotSha256: sha256,
    snapshot: wireRef(snapshot),
    rawTrain: wireRef(train),
    rawValidation: wireRef(validation),
    rawTest: wireRef(test),
    rowsTrain: BigInt(trainIdx.length),
    rowsValidation: BigInt(valIdx.length),
    rowsTest: BigInt(testIdx.length),
    batchIds: window.map((b) => b.batch_id),
    ...(history && { rawHistory: wireRef(history) }),
  };
}
