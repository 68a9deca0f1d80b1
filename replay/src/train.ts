import { createHash } from 'node:crypto';
import { applyTransform, fitTransform, labelsOf, ModelingInputError, resolveModelSpec, searchModel, trainModel, TrainingDivergedError, type FittedTransform, type LabelledMatrix, type RawRow, type TrainedModel } from '@refit/modeling';
import type { PipelineSpec } from '@refit/spec';
import { computeStats, type SnapshotStats } from '../../services/feature/src/stats.js';
import { applyWindow, assignSplits, distinctLines, MIN_SNAPSHOT_ROWS } from '../../services/ingestion/src/snapshot.js';
import { decisionThreshold } from '../../services/trainer/src/decision-threshold.js';

/** A run's snapshot: the window's de-duplicated rows (JSON lines), its sha256 and their stable split. */
export type Snapshot = { lines: string[]; sha256: string; train: number[]; validation: number[]; test: number[]; batchIds: string[] };

/** A model version of the replay: what serving, the gates, drift and rollouts need of it. */
export type ReplayModel = {
  version: string;
  runId: string;
  model: TrainedModel;
  transform: FittedTransform;
  /** The stored decision threshold (0: unset, 0.5). */
  threshold: number;
  /** Lines of its train and validation splits (the evaluator leaves them out of a later comparison). */
  trainedOn: ReadonlySet<string>;
  /** Statistics of its training split: the reference of live drift. */
  stats: SnapshotStats;
  /** Its metrics at evaluation (a performance policy's `reference: evaluation`). */
  metrics: Record<string, number>;
  /** sha256 of its model bytes, and of the snapshot it was trained on. */
  sha256: string;
  snapshotSha256: string;
};

/** What stays known of a version after its weights are freed: its metrics and training statistics. */
export type VersionFacts = Pick<ReplayModel, 'version' | 'runId' | 'metrics' | 'stats'>;

/** A trained candidate before its evaluation: the model and its test split. */
export type Trained = Omit<ReplayModel, 'version' | 'metrics'> & {
  test: { rows: RawRow[]; lines: string[]; matrix: LabelledMatrix };
  trainRows: number;
  epochs: number;
  /** Rows × epochs trained (trials included): compute that does not depend on the machine. */
  rowEpochs: number;
  /** Measured tensor time, ms (differs from run to run). */
  computeMs: number;
};

/**
 * The ingestion service's snapshot of the usable batches: the spec's batch window, de-duplicated
 * lines, cut to its row or time window, split with the spec's seed (or by time) — the service's
 * own `applyWindow`, `distinctLines` and `assignSplits`. A problem is the run's failure.
 */
export function takeSnapshot(spec: PipelineSpec, batches: ReadonlyArray<{ id: string; lines: readonly string[] }>): Snapshot | { problem: string } {
  const w = spec.data.window;
  const window = typeof w === 'object' && 'lastBatches' in w ? batches.slice(-w.lastBatches) : batches;
  const lines = applyWindow(distinctLines(window.map((b) => b.lines.join('\n'))), spec);
  if (lines.length < MIN_SNAPSHOT_ROWS) return { problem: `${lines.length} usable rows in its data window; at least ${MIN_SNAPSHOT_ROWS} are needed` };
  const [train, validation, test] = assignSplits(lines, spec);
  if (test.length === 0 || train.length === 0) return { problem: `${lines.length} rows in the window cannot fill both train and test` };
  const sha256 = createHash('sha256').update(`${lines.join('\n')}\n`).digest('hex');
  return { lines, sha256, train, validation, test, batchIds: window.map((b) => b.id) };
}

function matrixOf(spec: PipelineSpec, transform: FittedTransform, rows: readonly RawRow[]): LabelledMatrix {
  const t = applyTransform(transform, rows);
  return { X: t.X, y: labelsOf(rows, spec.label, spec.model.head), n: t.n, d: t.d, names: t.names };
}

/** What {@link trainCandidate} may start from: the champion, for a warm start. */
export type WarmFrom = { version: string; model: TrainedModel; transform: FittedTransform };

/**
 * The feature and trainer services' work on a snapshot: the transform fitted on the training
 * split only, the spec's model trained (one seeded training, or the spec's search scored on the
 * validation split), warm-started from the champion when asked, and the decision threshold the
 * trainer stores. `model.budget` (a wall-clock limit) is not applied: the replay must not depend
 * on how fast this machine is. A data problem or a diverged training is the run's failure.
 */
export async function trainCandidate(spec: PipelineSpec, snap: Snapshot, runId: string, warm: WarmFrom | undefined): Promise<Trained | { problem: string; stage: string }> {
  const rows = snap.lines.map((l) => JSON.parse(l) as RawRow);
  const pick = (idx: readonly number[]) => idx.map((i) => rows[i]);
  let transform: FittedTransform;
  let train: LabelledMatrix;
  let validation: LabelledMatrix;
  let test: LabelledMatrix;
  try {
    transform = fitTransform(pick(snap.train), spec.features);
    [train, validation, test] = [snap.train, snap.validation, snap.test].map((idx) => matrixOf(spec, transform, pick(idx)));
  } catch (err) {
    if (err instanceof ModelingInputError) return { problem: err.message, stage: 'feature' };
    throw err;
  }
  if (warm && warm.transform.outputNames.join('\u0000') !== transform.outputNames.join('\u0000')) {
    return { stage: 'trainer', problem: `warm start: champion ${warm.version} was trained on features [${warm.transform.outputNames.join(', ')}], this run has [${transform.outputNames.join(', ')}]` };
  }
  const base = resolveModelSpec(spec.model);
  const val = validation.n > 0 ? { X: validation.X, y: validation.y, n: validation.n } : undefined;
  let model: TrainedModel;
  let epochs: number;
  let rowEpochs: number;
  let computeMs: number;
  try {
    if (spec.model.search) {
      if (!val) return { stage: 'trainer', problem: 'model.search needs a validation split to score trials' };
      const r = await searchModel({ X: train.X, y: train.y, n: train.n, d: train.d, spec: base, validation: val, search: spec.model.search as Parameters<typeof searchModel>[0]['search'] });
      ({ model, epochs, computeMs } = r);
      rowEpochs = r.trials.reduce((s, t) => s + t.epochs * train.n, 0);
    } else {
      const r = await trainModel({ X: train.X, y: train.y, n: train.n, d: train.d, spec: base, validation: val, warmStart: warm ? await warm.model.serialize() : undefined });
      ({ model, epochs, computeMs } = r);
      rowEpochs = epochs * train.n;
    }
  } catch (err) {
    if (err instanceof TrainingDivergedError || err instanceof ModelingInputError) return { problem: err.message, stage: 'trainer' };
    throw err;
  }
  const trainedOn = new Set([...snap.train, ...snap.validation].map((i) => snap.lines[i]));
  return {
    runId,
    model,
    transform,
    threshold: decisionThreshold(spec, model, val ? validation : undefined).threshold,
    trainedOn,
    stats: computeStats(spec, pick(snap.train), { runId, snapshotSha256: snap.sha256 }),
    sha256: createHash('sha256').update(await model.serialize()).digest('hex'),
    snapshotSha256: snap.sha256,
    test: { rows: pick(snap.test), lines: snap.test.map((i) => snap.lines[i]), matrix: test },
    trainRows: train.n,
    epochs,
    rowEpochs,
    computeMs,
  };
}
