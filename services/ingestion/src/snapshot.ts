import { createHash } from 'node:crypto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { LineageSchema } from '@refit/contracts';
import { dateMs } from '@refit/modeling';
import { FailedPreconditionError, wireRef, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { listBatches } from './store.js';

/** Fewest rows a snapshot needs to be split into train, validation and test. */
export const MIN_SNAPSHOT_ROWS = 20;

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
 * A row's (or an entity's) place in [0, 1): the first 48 bits of sha256(seed, key). It depends on
 * nothing but the row and the seed, so a row keeps its split however the data grows: a later run's
 * test rows were never an earlier run's training rows (under the same seed and shares).
 */
export function splitPoint(key: string, seed: number): number {
  const h = createHash('sha256').update(`${seed}\u0000${key}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * Assigns rows to train, validation and test. `by: random` (the default) is stable: each row — each
 * entity's rows together, with `schema.entity` — goes where its {@link splitPoint} falls among the
 * shares, so the split of a row never changes as batches arrive (the fractions are then close to,
 * not exactly, the shares). `by: time` puts the oldest rows (entities by their newest row) in
 * train and the newest in test. Either way each split with a share gets at least one group when
 * there are enough, and train and test are never empty when two groups exist.
 */
export function assignSplits(lines: readonly string[], spec: PipelineSpec): [number[], number[], number[]] {
  const { split } = spec.data;
  const entity = spec.schema.entity;
  const ts = spec.schema.timestamp;
  const rows = entity || (split.by === 'time' && ts) ? lines.map((l) => JSON.parse(l) as Record<string, unknown>) : undefined;
  const groups: Array<{ key: string; idx: number[] }> = [];
  if (entity && rows) {
    const byId = new Map<string, number[]>();
    rows.forEach((r, i) => {
      const id = String(r[entity]);
      const g = byId.get(id);
      if (g) g.push(i);
      else byId.set(id, [i]);
    });
    for (const [key, idx] of byId) groups.push({ key, idx });
  } else lines.forEach((l, i) => groups.push({ key: l, idx: [i] }));

  const out: [number[], number[], number[]] = [[], [], []];
  if (split.by === 'time' && ts && rows) {
    const newest = groups.map((g) => Math.max(...g.idx.map((i) => timeOf(rows[i][ts]))));
    const order = groups.map((_, k) => k).sort((a, b) => newest[a] - newest[b] || a - b);
    const [nTrain, nVal] = splitSizes(lines.length, split);
    for (const k of order) out[out[0].length < nTrain ? 0 : out[1].length < nVal ? 1 : 2].push(...groups[k].idx);
    return out;
  }
  const at = groups.map((g) => splitPoint(g.key, split.seed));
  const side = at.map((u): 0 | 1 | 2 => (u < split.train ? 0 : u < split.train + split.validation ? 1 : 2));
  // Tiny data may leave a split empty: the group nearest to its interval moves in, from a split
  // that keeps at least one group (test first, then train, then validation).
  const centre = [split.train / 2, split.train + split.validation / 2, 1];
  for (const target of split.validation > 0 ? ([2, 0, 1] as const) : ([2, 0] as const)) {
    if (side.includes(target)) continue;
    const counts = [0, 0, 0];
    for (const x of side) counts[x]++;
    const donors = side.flatMap((x, k) => (counts[x] > 1 ? [k] : []));
    if (donors.length === 0) break;
    const k = donors.reduce((best, d) => (Math.abs(at[d] - centre[target]) < Math.abs(at[best] - centre[target]) ? d : best));
    side[k] = target;
  }
  groups.forEach((g, k) => out[side[k]].push(...g.idx));
  for (const o of out) o.sort((a, b) => a - b);
  return out;
}

/** The distinct non-empty lines of JSON-lines texts, in order of first appearance. */
export function distinctLines(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const text of texts) for (const line of text.split('\n')) if (line) seen.add(line);
  return [...seen];
}

/**
 * The batches' texts, with the rows of feedback batches (labeled predictions) dropped whose entity
 * (`schema.entity`) also has a pushed or imported row: the data a team sends wins over what came
 * back as feedback. Without an entity column, identical rows are merged later and nothing else can
 * be matched.
 */
export function preferPushedRows(batches: ReadonlyArray<{ batch_id: string; source: string }>, texts: ReadonlyMap<string, string>, entity: string | undefined): string[] {
  const textOf = (b: { batch_id: string }) => texts.get(b.batch_id) ?? '';
  if (!entity || !batches.some((b) => b.source === 'feedback')) return batches.map(textOf);
  const pushed = new Set<string>();
  for (const b of batches) {
    if (b.source === 'feedback') continue;
    for (const line of textOf(b).split('\n')) if (line) pushed.add(String((JSON.parse(line) as Record<string, unknown>)[entity]));
  }
  return batches.map((b) =>
    b.source !== 'feedback'
      ? textOf(b)
      : textOf(b)
          .split('\n')
          .filter((line) => line && !pushed.has(String((JSON.parse(line) as Record<string, unknown>)[entity])))
          .join('\n'),
  );
}

/**
 * Stores the pipeline's history for a backtest: every accepted row of every usable batch,
 * de-duplicated, whatever `data.window` says, in the serialization of the splits (so the evaluator
 * can leave out the rows a model trained on by comparing lines).
 */
async function storeHistory(rt: Pick<ServiceRuntime, 'store'>, pipeline: string, lines: string[]) {
  return rt.store.putContentAddressed(`pipelines/${pipeline}/history`, Buffer.from(`${lines.join('\n')}\n`), '.jsonl');
}

/**
 * Builds a run's snapshot: the accepted (and flagged) rows of the batches in the spec's window,
 * de-duplicated, cut to the row or time window, stored content-addressed, then split with the
 * spec's seed (or by time), never splitting an entity. Deterministic: the same batches and spec
 * give the same objects, so a redelivered request writes nothing new. With `evaluation.backtest`
 * the lineage also carries `rawHistory`, every accepted row of the pipeline.
 */
export async function buildSnapshot(rt: Pick<ServiceRuntime, 'pool' | 'store'>, spec: PipelineSpec): Promise<MessageInitShape<typeof LineageSchema>> {
  const usable = (await listBatches(rt.pool, spec.name, 'usable')).filter((b) => b.rows_key && Number(b.rows_accepted) > 0);
  const window = typeof spec.data.window === 'object' && 'lastBatches' in spec.data.window ? usable.slice(-spec.data.window.lastBatches) : usable;
  // A backtest needs every batch; otherwise only the window's are read.
  const texts = new Map<string, string>();
  for (const b of spec.evaluation.backtest ? usable : window) texts.set(b.batch_id, (await rt.store.get(b.rows_key as string)).toString('utf8'));
  const history = spec.evaluation.backtest ? await storeHistory(rt, spec.name, distinctLines(preferPushedRows(usable, texts, spec.schema.entity))) : undefined;
  const lines = applyWindow(distinctLines(preferPushedRows(window, texts, spec.schema.entity)), spec);
  if (lines.length < MIN_SNAPSHOT_ROWS) {
    throw new FailedPreconditionError(
      `pipeline '${spec.name}' has ${lines.length} usable rows in its data window; at least ${MIN_SNAPSHOT_ROWS} are needed — push data with 'refit data push ${spec.name} <file.csv>'`,
    );
  }
  const body = Buffer.from(`${lines.join('\n')}\n`);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const snapshot = await rt.store.putContentAddressed(`pipelines/${spec.name}/snapshots`, body, '.jsonl');

  const { seed } = spec.data.split;
  const [trainIdx, valIdx, testIdx] = assignSplits(lines, spec);
  if (testIdx.length === 0 || trainIdx.length === 0) {
    throw new FailedPreconditionError(`pipeline '${spec.name}': ${lines.length} rows in ${spec.schema.entity ? `entities of '${spec.schema.entity}'` : 'the window'} cannot fill both train and test; push more data`);
  }
  const pick = (idx: readonly number[]) => Buffer.from(`${idx.map((i) => lines[i]).join('\n')}\n`);
  // `stable`: the hash split (each row keeps its split as data grows); earlier snapshots were permutations.
  const how = `-${spec.data.split.by === 'time' ? 'time' : 'stable'}${spec.schema.entity ? `-by-${spec.schema.entity}` : ''}`;
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
