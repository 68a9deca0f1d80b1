/**
 * Stream rows as training data: the labeled rows a pipeline's stream source persisted in segments
 * since the last run are taken in as a batch of their own (source `stream`) before a run builds its
 * snapshot, validated and judged like any push, so a full batch run trains on the same data the
 * online learner saw. Incremental past a watermark (the last segment taken), so each labeled row
 * becomes a training row once.
 */
import type { PipelineSpec } from '@refit/spec';
import { WatermarkMovedError } from './batch-record.js';
import { getWatermark } from './store.js';
import { ingest, type IngestDeps, type PushResult } from './upload.js';

/** The watermark source of stream batches (its value: the last segment number taken). */
export const STREAM_SOURCE = 'stream';

/** Most labeled rows one run takes in from the stream; the rest wait for the next run. */
export const MAX_STREAM_ROWS_PER_RUN = 2_000_000;

/** What {@link takeStreamSegments} did. */
export type StreamTaken = { batch?: PushResult; segments: number; rows: number; takenElsewhere?: boolean; skipped: number };

/** One labeled row of a segment, as stream-segments.ts writes it. */
type LabeledLine = { id?: unknown; at?: unknown; row?: unknown; label?: unknown };

/**
 * The training row of a labeled stream row: the row as it came, the label column set from the
 * label, and the timestamp column, when the row lacks it, set to when the row happened. Undefined
 * for a line that is not one (never written by ingestion itself; counted, not fatal).
 */
export function streamTrainingRow(spec: PipelineSpec, line: string): Record<string, unknown> | undefined {
  let l: LabeledLine;
  try {
    l = JSON.parse(line) as LabeledLine;
  } catch {
    return undefined;
  }
  if (!l || typeof l !== 'object' || !l.row || typeof l.row !== 'object' || Array.isArray(l.row)) return undefined;
  const out: Record<string, unknown> = { ...(l.row as Record<string, unknown>), [spec.label.column]: l.label };
  const ts = spec.schema.timestamp;
  if (ts && (out[ts] === undefined || out[ts] === null || out[ts] === '') && typeof l.at === 'string') out[ts] = l.at;
  return out;
}

type SegmentRow = { segment: string; labeled_key: string };

/**
 * Reads the labeled rows of the segments persisted since the watermark and takes them in as one
 * batch (source `stream`), moving the watermark to the last segment taken. Nothing new: no batch.
 * Safe to run again or twice at once: the batch is recorded only while the watermark is still
 * where the segments were read past.
 */
export async function takeStreamSegments(rt: IngestDeps, spec: PipelineSpec, signal?: AbortSignal): Promise<StreamTaken> {
  const after = await getWatermark(rt.pool, spec.name, STREAM_SOURCE);
  const from = after === undefined ? 0 : Number(after);
  const { rows: segments } = await rt.pool.query<SegmentRow>(
    `select segment::text as segment, labeled_key from stream_segments where pipeline = $1 and segment > $2 and labeled_key is not null order by segment`,
    [spec.name, from],
  );
  const lines: string[] = [];
  let skipped = 0;
  let last = from;
  let taken = 0;
  for (const s of segments) {
    signal?.throwIfAborted();
    const body = (await rt.store.get(s.labeled_key)).toString('utf8');
    const rows = body.split('\n').filter((l) => l.trim() !== '');
    if (lines.length > 0 && lines.length + rows.length > MAX_STREAM_ROWS_PER_RUN) break;
    for (const line of rows) {
      const r = streamTrainingRow(spec, line);
      if (r) lines.push(JSON.stringify(r));
      else skipped++;
    }
    last = Number(s.segment);
    taken++;
  }
  if (lines.length === 0) return { segments: taken, rows: 0, skipped };
  const body = Buffer.from(`${lines.join('\n')}\n`);
  try {
    const batch = await ingest(
      rt,
      spec,
      {
        format: 'jsonl',
        filename: `stream: ${lines.length} labeled rows of segments ${from + 1}–${last}`,
        source: 'stream',
        watermark: () => ({ source: STREAM_SOURCE, value: String(last), after }),
      },
      (async function* () {
        yield body;
      })(),
      signal,
    );
    return { batch, segments: taken, rows: lines.length, skipped };
  } catch (err) {
    // Another attempt recorded these rows first (committed: the snapshot built next includes them).
    if (err instanceof WatermarkMovedError) return { segments: taken, rows: lines.length, skipped, takenElsewhere: true };
    throw err;
  }
}
