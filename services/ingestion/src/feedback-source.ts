/**
 * Feedback as training data (`data.include: [feedback]`): the labeled predictions the deployer
 * logged since the last time are read back (the row it was asked to score, with the label sent as
 * feedback) and taken in as a batch of their own, validated and judged like any push, before a
 * run builds its snapshot. Incremental past a watermark (the newest feedback time taken), so each
 * labeled prediction becomes a row once.
 */
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import type { DeployerService } from '@refit/contracts';
import { UnavailableError, isRefitError, type Client } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { WatermarkMovedError } from './batch-record.js';
import { getWatermark } from './store.js';
import { ingest, type IngestDeps, type PushResult } from './upload.js';

/** The watermark source of feedback batches. */
export const FEEDBACK_SOURCE = 'feedback';

/** What {@link takeFeedback} did. */
export type FeedbackTaken = {
  /** The batch recorded, when there was new feedback (and no other reader took it in first). */
  batch?: PushResult;
  /** True when another reader (another attempt at a run) took the same feedback in first. */
  takenElsewhere?: boolean;
  /** Labeled predictions read. */
  read: number;
  /** Of them, those that could not become rows, and why (counted by reason). */
  skipped: Record<string, number>;
};

/** One labeled prediction as the deployer answers it. */
type FeedbackRow = { rowJson: string; label: number; labelValue: string; predictedAt?: Timestamp; feedbackAt?: Timestamp };

/**
 * The training row of a labeled prediction: the row as scored, the label column set from the raw
 * value sent with the feedback (or, for a label without a `positive` rule, from the 0/1 label
 * itself), and the timestamp column, when the row lacks it, set to when the prediction was made.
 * Undefined (with the reason) when the row cannot be one.
 */
export function feedbackRow(spec: PipelineSpec, f: FeedbackRow): { row: Record<string, unknown> } | { skip: string } {
  let row: unknown;
  try {
    row = JSON.parse(f.rowJson);
  } catch {
    return { skip: 'the logged row is not JSON' };
  }
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return { skip: 'the logged row is not an object' };
  const out: Record<string, unknown> = { ...(row as Record<string, unknown>) };
  const col = spec.label.column;
  const type = spec.schema.columns.find((c) => c.name === col)?.type;
  if (f.labelValue !== '') {
    const n = Number(f.labelValue);
    out[col] = (type === 'number' || type === 'integer') && Number.isFinite(n) ? n : f.labelValue;
  } else if (spec.label.positive === undefined && spec.model.head !== 'regression') {
    out[col] = f.label;
  } else {
    return { skip: `feedback without label_value (the label '${col}' is derived by a rule, so its raw value is needed)` };
  }
  const ts = spec.schema.timestamp;
  if (ts && (out[ts] === undefined || out[ts] === null || out[ts] === '') && f.predictedAt) out[ts] = timestampDate(f.predictedAt).toISOString();
  return { row: out };
}

/**
 * Reads the feedback the deployer got since the watermark and takes it in as a batch (source
 * `feedback`), moving the watermark with it. Nothing new: no batch. Safe to run again, or twice at
 * once, for the same feedback: the batch is recorded only while the watermark is still where the
 * feedback was read past, so each labeled prediction becomes a row once. Nothing is recorded once
 * `signal` aborted.
 * @throws UnavailableError when the deployer cannot be reached (the run retries, then fails saying so).
 */
export async function takeFeedback(rt: IngestDeps, deployer: Client<typeof DeployerService>, spec: PipelineSpec, signal?: AbortSignal): Promise<FeedbackTaken> {
  const after = await getWatermark(rt.pool, spec.name, FEEDBACK_SOURCE);
  const lines: string[] = [];
  const skipped: Record<string, number> = {};
  let read = 0;
  let newest = after;
  try {
    for await (const f of deployer.listFeedbackRows({ pipeline: spec.name, after: after ? timestampFromDate(new Date(after)) : undefined }, { timeoutMs: 120_000, signal })) {
      read++;
      if (f.feedbackAt) newest = timestampDate(f.feedbackAt).toISOString();
      const r = feedbackRow(spec, f);
      if ('skip' in r) skipped[r.skip] = (skipped[r.skip] ?? 0) + 1;
      else lines.push(JSON.stringify(r.row));
    }
  } catch (err) {
    if (isRefitError(err) && err.kind !== 'unavailable') throw err;
    throw new UnavailableError(`could not read the feedback of '${spec.name}' from the deployer (data.include: [feedback]): ${(err as Error).message}`, { cause: err });
  }
  if (lines.length === 0) {
    if (read > 0) rt.logger.warn({ pipeline: spec.name, read, skipped }, 'labeled predictions could not become training rows');
    return { read, skipped };
  }
  const body = Buffer.from(`${lines.join('\n')}\n`);
  let batch: PushResult;
  try {
    batch = await ingest(
      rt,
      spec,
      { format: 'jsonl', filename: `feedback: ${lines.length} labeled predictions${after ? ` after ${after}` : ''}`, source: 'feedback', watermark: () => (newest ? { source: FEEDBACK_SOURCE, value: newest, after } : undefined) },
      (async function* () {
        yield body;
      })(),
      signal,
    );
  } catch (err) {
    // Another attempt recorded these rows first (committed: the snapshot built next includes them).
    if (err instanceof WatermarkMovedError) return { read, skipped, takenElsewhere: true };
    throw err;
  }
  if (Object.keys(skipped).length > 0) rt.logger.warn({ pipeline: spec.name, batch: batch.batchId, skipped }, 'some labeled predictions could not become training rows');
  return { batch, read, skipped };
}
