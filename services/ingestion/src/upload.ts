import { randomUUID } from 'node:crypto';
import { PassThrough, type Writable } from 'node:stream';
import type { RowProblem } from '@refit/contracts';
import { FailedPreconditionError, InvalidInputError, type ArtifactRef, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { judgeBatch } from './batch-checks.js';
import { recordBatch, recordRejected } from './batch-record.js';
import { CsvReader, type CsvError, type CsvRecord } from './csv-reader.js';
import { INFER_SAMPLE_ROWS, misfit, pinnedColumns, sampleColumns, withColumns } from './inferred-schema.js';
import { JsonlReader } from './jsonl-reader.js';
import { RowChecker } from './row-check.js';
import { QuarantineSpool } from './quarantine-spool.js';
import { batchWithSha, getPinnedProfile, getPinnedSchema, type QuarantineEntry } from './store.js';
import { mapHeader } from './validate.js';

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

/** Bytes buffered ahead of each upload's spool (raw file, typed rows). */
const SPOOL_BUFFER_BYTES = 1024 * 1024;

/** What is being ingested besides its bytes. */
export type IngestInput = {
  /** `csv` or `jsonl`. */
  format: 'csv' | 'jsonl';
  filename: string;
  /** A batch whose quarantined rows this one fixes. */
  resubmitsBatchId?: string;
  /** For an incremental source: where it was read up to (asked once the rows are read), committed with the batch. */
  watermark?: () => { source: string; value: string } | undefined;
};

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

const brokenEntry = (e: CsvError, what: string): QuarantineEntry => ({
  line: e.line,
  column: '',
  expected: `well-formed ${what}`,
  value: '',
  message: `malformed ${what} at line ${e.line}: ${e.message}; the rest of the file was not read (it is kept with the raw upload)`,
  raw: e.raw,
});

const quoted = (names: string[]): string => names.map((m) => `'${m}'`).join(', ');

/**
 * Streams an upload (CSV or JSON lines) into the object store while validating it row by row: the
 * raw bytes are kept as they came, accepted rows become typed JSON lines, bad rows go to
 * quarantine with the line, column and reason; then the batch as a whole is judged against the
 * pinned profile (batch-checks.ts). Memory stays bounded whatever the file's size. Nothing is
 * recorded once `signal` (the call's) has aborted. With `schema.infer`, the columns are the pinned
 * ones; the first batch (CSV) infers their types from its first rows, is checked against them, and
 * pins the schema (inferred-schema.ts) when it is accepted.
 */
export async function ingest(
  rt: ServiceRuntime,
  spec: PipelineSpec,
  input: IngestInput,
  chunks: AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
): Promise<PushResult> {
  const batchId = `b-${randomUUID()}`;
  const prefix = `pipelines/${spec.name}/batches/${batchId}`;
  const pinnedSchema = spec.schema.infer ? await getPinnedSchema(rt.pool, spec.name) : undefined;
  const inferring = spec.schema.infer && !pinnedSchema;
  if (inferring && input.format !== 'csv') {
    throw new FailedPreconditionError(
      `pipeline '${spec.name}' infers its schema from its first accepted batch, and none is pinned yet: push a CSV file first (JSON lines are validated against a pinned or declared schema)`,
      { details: { pipeline: spec.name } },
    );
  }
  let columns = pinnedSchema?.columns ?? spec.schema.columns;
  let names = columns.map((c) => c.name);
  // Room for a few chunks: with the default 16 KiB every chunk waited for the previous one's
  // spool write, so validating and writing took turns instead of overlapping.
  const raw = new PassThrough({ highWaterMark: SPOOL_BUFFER_BYTES });
  // Fresh keys (a new batch id): uploaded while the file streams in, not after it (storage.ts).
  const rawPut = rt.store.putStreamToFreshKey(`${prefix}/raw.${input.format}`, raw);
  const rows = new PassThrough({ highWaterMark: SPOOL_BUFFER_BYTES });
  const rowsPut = rt.store.putStreamToFreshKey(`${prefix}/rows.jsonl`, rows);
  // Awaited below; until then a failed upload must not be an unhandled rejection.
  rawPut.catch(() => undefined);
  rowsPut.catch(() => undefined);

  const pinned = await getPinnedProfile(rt.pool, spec.name);
  const pinnedCategories = new Map(
    Object.entries(pinned?.profile.columns ?? {}).flatMap(([name, p]) => (p.categories ? [[name, new Set(Object.keys(p.categories))] as const] : [])),
  );
  let checker = inferring ? undefined : new RowChecker(columns, pinnedCategories);
  // The first rows of a first batch, held until the column types are inferred from them.
  const sample: CsvRecord[] = [];
  let misfitReason: string | undefined;
  const csv = input.format === 'csv' ? new CsvReader() : undefined;
  const jsonl = input.format === 'jsonl' ? new JsonlReader(names) : undefined;

  const quarantine = new QuarantineSpool();
  let fileHeader: string[] | undefined = jsonl ? names : undefined;
  let indexes: number[] = jsonl ? names.map((_, j) => j) : [];
  let missing: string[] = [];
  let extra: string[] = [];
  let rowsAccepted = 0;

  /** Infers the columns from the sample, checks the spec's references against them, and starts checking rows. */
  const startChecking = (header: string[]): RowChecker => {
    columns = sampleColumns(header, sample.map((r) => r.fields));
    names = columns.map((c) => c.name);
    ({ indexes, missing, extra } = mapHeader(header, columns));
    misfitReason = misfit(spec, columns);
    return new RowChecker(columns);
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
          quarantine.push({ line: rec.line, column: '', expected: 'a JSON object', value: '', message: rec.problem, raw: rec.raw.slice(0, 2000) });
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
  const stopped = (): boolean => (csv?.error ?? jsonl?.error) !== undefined || missing.length > 0 || misfitReason !== undefined;

  let rawRef: ArtifactRef;
  let rowsRef: ArtifactRef;
  const started = performance.now();
  let readMs = 0;
  try {
    for await (const chunk of chunks) {
      await write(raw, chunk);
      // Large messages (the CLI sends 1 MiB) are validated a slice at a time: the records and JSON
      // of a whole MiB at once outgrow V8's young generation and pushed the peak RSS up by ~100 MB.
      for (let at = 0; at < chunk.length && !stopped(); at += VALIDATE_SLICE_BYTES) await take(chunk.subarray(at, at + VALIDATE_SLICE_BYTES));
    }
    raw.end();
    if (!stopped()) await take(undefined);
    rows.end();
    readMs = performance.now() - started;
    [rawRef, rowsRef] = await Promise.all([rawPut, rowsPut]);
    rt.logger.info({ batchId, rowsAccepted, readMs: Math.round(readMs), uploadWaitMs: Math.round(performance.now() - started - readMs) }, 'batch read and stored');
    // A cancelled call can look like a complete upload (grpc-js ends the request stream before it
    // reports the cancellation): never record a batch the client gave up on.
    signal?.throwIfAborted();
  } catch (e) {
    // The upload broke off (client gone, a bad message…): drop the partial objects and temp files.
    raw.destroy();
    rows.destroy();
    await quarantine.dispose();
    throw e;
  }

  // The early rejections below record no rows; the spool's file (if any) goes with them.
  if (!fileHeader || missing.length > 0 || misfitReason || !checker) await quarantine.dispose();
  const readError = csv?.error ?? jsonl?.error;
  const broken = readError ? brokenEntry(readError, csv ? 'CSV' : 'JSON lines') : undefined;
  const base = { spec, batchId, filename: input.filename, format: input.format, rawRef };
  if (!fileHeader) {
    const reason = broken ? `the CSV header (line 1) could not be read: ${broken.message}` : 'the file is empty: expected a header line and rows';
    await recordRejected(rt, { ...base, reason });
    throw new InvalidInputError(
      broken ? `batch rejected: ${reason}` : `the uploaded file for pipeline '${spec.name}' is empty: expected a CSV header line and rows`,
      { details: { batchId } },
    );
  }
  if (jsonl) {
    const total = rowsAccepted + quarantine.count;
    if (total === 0) {
      await recordRejected(rt, { ...base, reason: 'the file is empty: expected JSON objects, one per line' });
      throw new InvalidInputError(`the uploaded file for pipeline '${spec.name}' is empty: expected JSON objects, one per line`, { details: { batchId } });
    }
    missing = names.filter((n) => !jsonl.keysSeen.has(n) && jsonl.keysSeen.size > 0);
    extra = [...jsonl.keysSeen].filter((k) => !names.includes(k));
  }
  if (missing.length > 0) {
    const where = csv ? 'the CSV header (line 1)' : 'every JSON object';
    const renamed = extra.length > 0 ? `; the file has ${extra.length > 1 ? 'columns' : 'a column'} ${quoted(extra)} the schema does not declare — renamed? Rename it back or update schema.columns` : '';
    const reason = `column${missing.length > 1 ? 's' : ''} ${quoted(missing)} missing from ${where}${renamed}; expected columns: ${names.join(', ')}`;
    await recordRejected(rt, { ...base, reason });
    throw new InvalidInputError(`batch rejected: ${reason}. The file is kept as ${rawRef.key}.`, { details: { batchId, missing, extra } });
  }

  if (misfitReason || !checker) {
    const reason =
      misfitReason ?? (broken ? `no rows could be read to infer pipeline '${spec.name}'s schema from: ${broken.message}` : `the file has a header but no rows to infer pipeline '${spec.name}'s schema from`);
    await recordRejected(rt, { ...base, reason });
    throw new InvalidInputError(`batch rejected: ${reason}. The file is kept as ${rawRef.key}.`, { details: { batchId } });
  }

  if (broken) quarantine.push(broken);
  // Every data record is either accepted or quarantined (a broken spot counts as one record).
  const rowsTotal = rowsAccepted + quarantine.count;
  const profile = checker.profiler.finish();
  const same = await batchWithSha(rt.pool, spec.name, rawRef.sha256);
  const verdict = judgeBatch(withColumns(spec, columns), profile, pinned, {
    rowsTotal,
    rowsQuarantined: quarantine.count,
    duplicates: checker.duplicates,
    duplicateExample: checker.duplicateExample,
    checkCapped: checker.checkCapped,
    sameAs: same ? { batchId: same.batch_id, createdAt: same.created_at } : undefined,
    extraColumns: extra,
  });
  const watermark = input.watermark?.();
  try {
    const schema = inferring ? { columns: pinnedColumns(columns, profile), rows: rowsTotal } : undefined;
    await recordBatch(rt, { ...base, rowsRef, rowsTotal, rowsAccepted, quarantine, profile, verdict, pin: !pinned, resubmits: input.resubmitsBatchId, watermark, schema });
  } finally {
    await quarantine.dispose();
  }
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
