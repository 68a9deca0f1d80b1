import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { RowProblem } from '@refit/contracts';
import { FailedPreconditionError, InvalidInputError, type ServiceRuntime } from '@refit/platform';
import type { ColumnSpec, PipelineSpec } from '@refit/spec';
import { judgeBatch } from './batch-checks.js';
import { BatchObjects } from './batch-objects.js';
import { recordBatch, recordRejected, type RecordDeps } from './batch-record.js';
import type { ChampionCheck } from './champion-check.js';
import { CsvReader, type CsvRecord } from './csv-reader.js';
import { INFER_SAMPLE_ROWS, misfit, pinnedColumns, sampleColumns, withColumns } from './inferred-schema.js';
import { JsonlReader } from './jsonl-reader.js';
import { judgeLabels } from './label-checks.js';
import { binaryLabel } from './label-rule.js';
import { printable } from './pg-text.js';
import { QuarantineSpool } from './quarantine-spool.js';
import { RowChecker } from './row-check.js';
import { batchWithSha, getPinnedProfile, getPinnedSchema, pipelineOfBatch, type Watermark } from './store.js';
import { brokenEntry, duplicatesReason, missingReason } from './upload-reasons.js';
import { duplicateNames, mapHeader, type DuplicateName } from './validate.js';

/** How many problems a push answer lists (all of them are in the quarantine table). */
export const PROBLEMS_IN_ANSWER = 20;

/** The outcome of one push. */
export type PushResult = {
  batchId: string;
  rowsTotal: bigint;
  rowsAccepted: bigint;
  rowsQuarantined: bigint;
  problems: Array<Omit<RowProblem, '$typeName'>>;
  sha256: string;
  status: string;
  batchProblems: string[];
  warnings: string[];
  watermark: string;
};

/** Bytes of an upload validated per step (a subarray: no copy). */
const VALIDATE_SLICE_BYTES = 64 * 1024;

/** What is being ingested besides its bytes. */
export type IngestInput = {
  /** `csv` or `jsonl`. */
  format: 'csv' | 'jsonl';
  filename: string;
  /** A batch whose quarantined rows this one fixes. */
  resubmitsBatchId?: string;
  /**
   * For an incremental source: where it was read up to, past which watermark (asked once the rows
   * are read), committed with the batch — unless another batch moved it meanwhile (then nothing
   * is recorded: see WatermarkMovedError).
   */
  watermark?: () => Watermark | undefined;
  /** Where the rows come from: `push` (default), `import`, `feedback` (labeled predictions) or `stream` (labeled stream rows). */
  source?: BatchSource;
};

/** Where a batch's rows came from. */
export type BatchSource = 'push' | 'import' | 'feedback' | 'stream';

/** Writes with backpressure; a stream destroyed meanwhile (its consumer failed) takes nothing more. */
async function write(stream: Writable, chunk: Uint8Array | string): Promise<void> {
  if (stream.destroyed || stream.writableEnded || stream.write(chunk)) return;
  // Whichever comes first; the listeners go with it (they would pile up over a large file).
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

const BATCH_ID = /^b-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for what a batch id looks like (`b-` and a UUID): anything else names no batch. */
export const isBatchId = (id: string): boolean => BATCH_ID.test(id);

/**
 * Refuses a `resubmits_batch_id` that is not a batch of this pipeline: resolving another
 * pipeline's quarantine (or nothing) would be a silently wrong answer.
 */
async function checkResubmits(rt: Pick<ServiceRuntime, 'pool'>, pipeline: string, batchId: string): Promise<void> {
  // Not even asked for when it cannot be one (a NUL would fail the query itself).
  const owner = isBatchId(batchId) ? await pipelineOfBatch(rt.pool, batchId) : undefined;
  if (owner === pipeline) return;
  const what = owner === undefined ? `is not a batch of pipeline '${pipeline}'` : `is a batch of pipeline '${owner}', not of '${pipeline}'`;
  throw new InvalidInputError(
    `resubmits_batch_id: '${printable(batchId)}' ${what}; give the id of the batch whose quarantined rows this file fixes (refit data batches ${pipeline})`,
    { details: { field: 'resubmits_batch_id', batchId, pipeline } },
  );
}

/** What taking a batch in uses: the pool, the object store, the log, and the outbox it records with. */
export type IngestDeps = RecordDeps & Pick<ServiceRuntime, 'store' | 'logger'>;

/**
 * Streams an upload (CSV or JSON lines) into the object store while validating it row by row: the
 * raw bytes are kept as they came, accepted rows become typed JSON lines, bad rows go to
 * quarantine with the line, column and reason; then the batch as a whole is judged against the
 * pinned profile (batch-checks.ts). Memory stays bounded whatever the file's size. Nothing is
 * recorded once `signal` (the call's) has aborted. With `schema.infer`, the columns are the pinned
 * ones; the first batch (CSV) infers their types from its first rows, is checked against them, and
 * pins the schema (inferred-schema.ts) when it is accepted. Once a batch is pinned, the labels are
 * judged too (label-checks.ts): their distribution, and `checkChampion`'s scores of a sample of the
 * accepted rows. Every object written is named by the batch row it records, rejected or not; a
 * push that records none (the client went away, a failure) removes its objects.
 */
export async function ingest(
  rt: IngestDeps,
  spec: PipelineSpec,
  input: IngestInput,
  chunks: AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
  checkChampion?: ChampionCheck,
): Promise<PushResult> {
  const batchId = `b-${randomUUID()}`; // the form isBatchId checks
  const prefix = `pipelines/${spec.name}/batches/${batchId}`;
  if (input.resubmitsBatchId !== undefined) await checkResubmits(rt, spec.name, input.resubmitsBatchId);
  const pinnedSchema = spec.schema.infer ? await getPinnedSchema(rt.pool, spec.name) : undefined;
  const inferring = spec.schema.infer && !pinnedSchema;
  if (inferring && input.format !== 'csv') {
    throw new FailedPreconditionError(
      `pipeline '${spec.name}' infers its schema from its first accepted batch, and none is pinned yet: push a CSV file first (JSON lines are validated against a pinned or declared schema)`,
      { details: { pipeline: spec.name } },
    );
  }
  const pinned = await getPinnedProfile(rt.pool, spec.name);
  const objects = new BatchObjects(rt.store, rt.logger, prefix, input.format);
  const quarantine = new QuarantineSpool();
  const batch = { rt, spec, input, batchId, pinned, pinnedColumns: pinnedSchema?.columns, inferring, objects, quarantine, signal, checkChampion };
  let recorded = false;
  try {
    return await readAndRecord(batch, chunks, () => {
      recorded = true;
    });
  } catch (e) {
    // The push ends without the batch row that names its objects: they go too.
    if (!recorded) await objects.discard(async () => (await pipelineOfBatch(rt.pool, batchId)) !== undefined);
    throw e;
  } finally {
    await quarantine.dispose();
  }
}

/** One push being read: what {@link readAndRecord} works with. */
type Batch = {
  rt: IngestDeps;
  spec: PipelineSpec;
  input: IngestInput;
  batchId: string;
  pinned: Awaited<ReturnType<typeof getPinnedProfile>>;
  pinnedColumns: ColumnSpec[] | undefined;
  inferring: boolean;
  objects: BatchObjects;
  quarantine: QuarantineSpool;
  signal: AbortSignal | undefined;
  checkChampion: ChampionCheck | undefined;
};

/** Reads the upload into its objects, judges it and records the batch; `recorded` is called once a batch row names the objects. */
async function readAndRecord(b: Batch, chunks: AsyncIterable<Uint8Array>, recorded: () => void): Promise<PushResult> {
  const { rt, spec, input, batchId, pinned, inferring, objects, quarantine, signal, checkChampion } = b;
  let columns = b.pinnedColumns ?? spec.schema.columns;
  let names = columns.map((c) => c.name);
  const { rows } = objects;
  const pinnedCategories = new Map(
    Object.entries(pinned?.profile.columns ?? {}).flatMap(([name, p]) => (p.categories ? [[name, new Set(Object.keys(p.categories))] as const] : [])),
  );
  const label = binaryLabel(spec);
  let checker = inferring ? undefined : new RowChecker(columns, pinnedCategories, label);
  // The first rows of a first batch, held until the column types are inferred from them.
  const sample: CsvRecord[] = [];
  let misfitReason: string | undefined;
  const csv = input.format === 'csv' ? new CsvReader() : undefined;
  const jsonl = input.format === 'jsonl' ? new JsonlReader(names) : undefined;

  let fileHeader: string[] | undefined = jsonl ? names : undefined;
  let indexes: number[] = jsonl ? names.map((_, j) => j) : [];
  let missing: string[] = [];
  let extra: string[] = [];
  let duplicates: DuplicateName[] = [];
  let rowsAccepted = 0;

  /** Infers the columns from the sample, checks the spec's references against them, and starts checking rows. */
  const startChecking = (header: string[]): RowChecker => {
    columns = sampleColumns(header, sample.map((r) => r.fields));
    names = columns.map((c) => c.name);
    ({ indexes, missing, extra } = mapHeader(header, columns));
    misfitReason = misfit(spec, columns);
    return new RowChecker(columns, undefined, label);
  };
  const checkCsv = (rc: RowChecker, { fields, raw: text, line }: CsvRecord, fieldCount: number): string => {
    const r = rc.check(fields, indexes, fieldCount, text, line);
    if ('json' in r) {
      rowsAccepted++;
      return `${r.json}\n`;
    }
    quarantine.push({ line, ...r.problem, raw: text });
    return '';
  };
  const take = async (chunk: Uint8Array | undefined): Promise<void> => {
    let out = '';
    if (csv) {
      for (const rec of csv.feed(chunk)) {
        if (!fileHeader) {
          fileHeader = rec.fields;
          duplicates = duplicateNames(rec.fields);
          if (duplicates.length > 0) return;
          if (inferring) continue;
          ({ indexes, missing, extra } = mapHeader(rec.fields, columns));
          if (missing.length > 0) return;
          continue;
        }
        if (!checker) {
          sample.push(rec);
          if (sample.length < INFER_SAMPLE_ROWS) continue;
          checker = startChecking(fileHeader);
          if (misfitReason) return;
          for (const s of sample.splice(0)) out += checkCsv(checker, s, fileHeader.length);
          continue;
        }
        out += checkCsv(checker, rec, fileHeader.length);
      }
      // At the end of the file, or where it stopped being readable CSV: infer from what was read.
      if ((chunk === undefined || csv.error) && !checker && fileHeader && sample.length > 0) {
        checker = startChecking(fileHeader);
        if (misfitReason) return;
        for (const s of sample.splice(0)) out += checkCsv(checker, s, fileHeader.length);
      }
    } else if (jsonl && checker) {
      for (const rec of jsonl.feed(chunk)) {
        if ('problem' in rec) {
          quarantine.push({ line: rec.line, column: rec.column, expected: rec.expected, value: '', message: rec.problem, raw: rec.raw.slice(0, 2000) });
          continue;
        }
        const r = checker.check(rec.fields, indexes, names.length, rec.raw, rec.line);
        if ('json' in r) {
          rowsAccepted++;
          out += `${r.json}\n`;
        } else quarantine.push({ line: rec.line, ...r.problem, raw: rec.raw });
      }
    }
    // One write per chunk, not per row: awaiting each row costs more than validating it.
    if (out) await write(rows, out);
    await quarantine.flush();
  };
  const stopped = (): boolean => (csv?.error ?? jsonl?.error) !== undefined || missing.length > 0 || duplicates.length > 0 || misfitReason !== undefined;

  const started = performance.now();
  for await (const chunk of chunks) {
    await write(objects.raw, chunk);
    // Large messages (the CLI sends 1 MiB) are validated a slice at a time: the records and JSON
    // of a whole MiB at once outgrow V8's young generation and pushed the peak RSS up by ~100 MB.
    for (let at = 0; at < chunk.length && !stopped(); at += VALIDATE_SLICE_BYTES) await take(chunk.subarray(at, at + VALIDATE_SLICE_BYTES));
  }
  objects.endRaw();
  if (!stopped()) await take(undefined);
  const readMs = performance.now() - started;
  const { rawRef, rowsRef } = await objects.finish();
  rt.logger.info({ batchId, rowsAccepted, readMs: Math.round(readMs), uploadWaitMs: Math.round(performance.now() - started - readMs) }, 'batch read and stored');
  // A cancelled call can look like a complete upload (grpc-js ends the request stream before it
  // reports the cancellation): never record a batch the client gave up on.
  signal?.throwIfAborted();

  const readError = csv?.error ?? jsonl?.error;
  const broken = readError ? brokenEntry(readError, csv ? 'CSV' : 'JSON lines') : undefined;
  const base = { spec, batchId, filename: input.filename, format: input.format, rawRef, source: input.source ?? 'push' };
  /** Records the batch as rejected before any row was judged (its file is kept), then refuses the push. */
  const reject = async (reason: string, message: string, details: Record<string, unknown> = {}): Promise<never> => {
    await recordRejected(rt, { ...base, reason });
    recorded();
    throw new InvalidInputError(message, { details: { batchId, ...details } });
  };
  const kept = `The file is kept as ${rawRef.key}.`;
  if (!fileHeader) {
    const reason = broken ? `the CSV header (line 1) could not be read: ${broken.message}` : 'the file is empty: expected a header line and rows';
    return reject(reason, broken ? `batch rejected: ${reason}` : `the uploaded file for pipeline '${spec.name}' is empty: expected a CSV header line and rows`);
  }
  if (duplicates.length > 0) {
    const reason = duplicatesReason(duplicates);
    return reject(reason, `batch rejected: ${reason}. ${kept}`, { duplicates: duplicates.map((d) => d.name) });
  }
  if (jsonl) {
    if (rowsAccepted + quarantine.count === 0) {
      return reject('the file is empty: expected JSON objects, one per line', `the uploaded file for pipeline '${spec.name}' is empty: expected JSON objects, one per line`);
    }
    missing = names.filter((n) => !jsonl.keysSeen.has(n) && jsonl.keysSeen.size > 0);
    extra = [...jsonl.keysSeen].filter((k) => !names.includes(k));
  }
  if (missing.length > 0) {
    const reason = missingReason(missing, extra, names, csv ? 'the CSV header (line 1)' : 'every JSON object');
    return reject(reason, `batch rejected: ${reason}. ${kept}`, { missing, extra: extra.slice(0, 100).map(printable) });
  }
  if (misfitReason || !checker) {
    const reason =
      misfitReason ?? (broken ? `no rows could be read to infer pipeline '${spec.name}'s schema from: ${broken.message}` : `the file has a header but no rows to infer pipeline '${spec.name}'s schema from`);
    return reject(reason, `batch rejected: ${reason}. ${kept}`);
  }

  if (broken) quarantine.push(broken);
  // Every data record is either accepted or quarantined (a broken spot counts as one record).
  const rowsTotal = rowsAccepted + quarantine.count;
  const profile = checker.profiler.finish();
  const same = await batchWithSha(rt.pool, spec.name, rawRef.sha256);
  // Before a first usable batch no champion can have learnt from this pipeline's data.
  const champion = pinned && checkChampion ? await checkChampion(spec, checker.sample.rows(), signal) : undefined;
  signal?.throwIfAborted();
  const judged = withColumns(spec, columns);
  const verdict = judgeBatch(judged, profile, pinned, {
    rowsTotal,
    rowsQuarantined: quarantine.count,
    duplicates: checker.duplicates,
    duplicateExample: checker.duplicateExample,
    checkCapped: checker.checkCapped,
    sameAs: same ? { batchId: same.batch_id, createdAt: same.created_at } : undefined,
    extraColumns: extra,
    labels: judgeLabels(judged, label, profile, pinned, champion),
  });
  const watermark = input.watermark?.();
  const schema = inferring ? { columns: pinnedColumns(columns, profile), rows: rowsTotal } : undefined;
  await recordBatch(rt, { ...base, rowsRef, rowsTotal, rowsAccepted, quarantine, profile, verdict, pin: !pinned, resubmits: input.resubmitsBatchId, watermark, schema });
  recorded();
  return {
    batchId,
    rowsTotal: BigInt(rowsTotal),
    rowsAccepted: BigInt(rowsAccepted),
    rowsQuarantined: BigInt(quarantine.count),
    sha256: rawRef.sha256,
    problems: quarantine.first(PROBLEMS_IN_ANSWER).map((q) => ({ line: BigInt(q.line), column: q.column, expected: q.expected, value: q.value, message: q.message })),
    status: verdict.status,
    batchProblems: verdict.problems,
    warnings: verdict.warnings,
    watermark: watermark?.value ?? '',
  };
}
