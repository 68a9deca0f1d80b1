import { randomUUID } from 'node:crypto';
import { PassThrough, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parse, type Options } from 'csv-parse';
import type { PushHeader, RowProblem } from '@refit/contracts';
import { EVENTS, InvalidInputError, wireRef, withTransaction, type ArtifactRef, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { insertBatch, insertQuarantine, type QuarantineEntry } from './store.js';
import { mapHeader, validateRecord } from './validate.js';

/** How many problems a push answer lists (all of them are in the quarantine table). */
const PROBLEMS_IN_ANSWER = 20;
/** Longest record (characters) the parser buffers: an unclosed quote cannot pull a whole file into memory. */
const MAX_RECORD_CHARS = 1024 * 1024;
/** How much of a record that could not be parsed is kept in quarantine. */
const BROKEN_RAW_CHARS = 2000;

/** The outcome of one push. */
export type PushResult = {
  batchId: string;
  rowsTotal: bigint;
  rowsAccepted: bigint;
  rowsQuarantined: bigint;
  problems: Array<Omit<RowProblem, '$typeName'>>;
  sha256: string;
};

/** One record as the parser found it: its fields, its text, and the file line it starts on. */
type ParsedRecord = { record: string[]; raw: string; line: number };

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

/** A record's text as it came, without the line breaks (and skipped empty lines) around it. */
const rawText = (raw: string | undefined): string => (raw ?? '').replace(/^[\r\n]+|[\r\n]+$/g, '');

/**
 * Streams an uploaded CSV into the object store while validating it row by row: the raw bytes are
 * kept as they came, accepted rows become typed JSON lines, bad rows go to quarantine with the
 * line, column and reason. Memory stays bounded whatever the file's size. Nothing is recorded
 * once `signal` (the call's) has aborted.
 */
export async function ingestCsv(
  rt: ServiceRuntime,
  spec: PipelineSpec,
  header: PushHeader,
  chunks: AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
): Promise<PushResult> {
  const batchId = `b-${randomUUID()}`;
  const prefix = `pipelines/${spec.name}/batches/${batchId}`;
  const columns = spec.schema.columns;
  const raw = new PassThrough();
  const rawPut = rt.store.putStream(`${prefix}/raw.csv`, raw);
  const rows = new PassThrough();
  const rowsPut = rt.store.putStream(`${prefix}/rows.jsonl`, rows);
  // Awaited below; until then a failed upload must not be an unhandled rejection.
  rawPut.catch(() => undefined);
  rowsPut.catch(() => undefined);

  // Records are taken as the parser finds them (on_record) instead of being read from its output:
  // a stream that fails drops what it had buffered, and the rows before a broken spot must be kept.
  let parsed: ParsedRecord[] = [];
  let lastLine = 0; // the line the previous record ended on (the header is line 1)
  let lastEmpty = 0; // empty lines skipped up to then
  const startLine = (info: { empty_lines?: number }): number => lastLine + 1 + ((info.empty_lines ?? lastEmpty) - lastEmpty);
  const options: Options<null, { record: string[]; raw: string }> = {
    relax_column_count: true,
    skip_empty_lines: true,
    bom: true,
    relax_quotes: false,
    raw: true,
    max_record_size: MAX_RECORD_CHARS,
    on_record: ({ record, raw: text }, info) => {
      parsed.push({ record, raw: rawText(text), line: startLine(info) });
      lastLine = info.lines;
      lastEmpty = info.empty_lines;
      return null;
    },
  };
  // With `raw`, on_record gets { record, raw }; csv-parse's overloads only type that with `columns`.
  const parser = parse(options as unknown as Options);
  parser.on('error', () => undefined); // reported to feed() below
  parser.resume(); // nothing comes out (on_record keeps it all); let the readable side end
  const feed = async (chunk: Uint8Array | undefined): Promise<unknown> => {
    if (chunk) return new Promise((resolve) => parser.write(chunk, (err) => resolve(err ?? undefined)));
    parser.end();
    return finished(parser, { readable: false }).then(() => undefined, (err: unknown) => err);
  };

  const quarantine: QuarantineEntry[] = [];
  let fileHeader: string[] | undefined;
  let indexes: number[] = [];
  let missing: string[] = [];
  let rowsAccepted = 0;
  let broken: QuarantineEntry | undefined;

  const take = async (): Promise<void> => {
    const batch = parsed;
    parsed = [];
    for (const { record, raw: text, line } of batch) {
      if (!fileHeader) {
        fileHeader = record;
        ({ indexes, missing } = mapHeader(record, columns));
        if (missing.length > 0) return;
        continue;
      }
      const result = validateRecord(record, columns, indexes, fileHeader.length);
      if ('row' in result) {
        rowsAccepted++;
        await write(rows, `${JSON.stringify(result.row)}\n`);
      } else {
        quarantine.push({ line, ...result.problem, raw: text });
      }
    }
  };
  // A broken file (an unclosed quote…) stops parsing: what came before is kept, the spot is quarantined.
  const fail = (e: unknown): void => {
    const err = e as { code?: string; message?: string; empty_lines?: number; raw?: string };
    const line = startLine(err);
    // csv-parse reports where it gave up (for an unclosed quote, the end of the file): say where the record starts.
    const what =
      err.code === 'CSV_QUOTE_NOT_CLOSED'
        ? `the record starting on line ${line} opens a quote that is never closed`
        : err.code === 'CSV_MAX_RECORD_SIZE'
          ? `the record starting on line ${line} runs over ${MAX_RECORD_CHARS} characters (an unclosed quote?)`
          : (err.message ?? String(e));
    broken = {
      line,
      column: '',
      expected: 'well-formed CSV',
      value: '',
      message: `malformed CSV at line ${line}: ${what}; the rest of the file was not read (it is kept with the raw upload)`,
      raw: rawText(err.raw).slice(0, BROKEN_RAW_CHARS),
    };
  };
  const stopped = (): boolean => broken !== undefined || missing.length > 0;

  let rawRef: ArtifactRef;
  let rowsRef: ArtifactRef;
  try {
    for await (const chunk of chunks) {
      await write(raw, chunk);
      if (stopped()) continue;
      const err = await feed(chunk);
      await take();
      if (err) fail(err);
    }
    raw.end();
    if (!stopped()) {
      const err = await feed(undefined);
      await take();
      if (err) fail(err);
    }
    rows.end();
    [rawRef, rowsRef] = await Promise.all([rawPut, rowsPut]);
    // A cancelled call can look like a complete upload (grpc-js ends the request stream before it
    // reports the cancellation): never record a batch the client gave up on.
    signal?.throwIfAborted();
  } catch (e) {
    // The upload broke off (client gone, a bad message…): drop the partial objects and temp files.
    raw.destroy();
    rows.destroy();
    parser.destroy();
    throw e;
  }

  if (!fileHeader) {
    const reason = broken ? `the CSV header (line 1) could not be read: ${broken.message}` : 'the file is empty: expected a header line and rows';
    await recordRejected(rt, spec, header, batchId, rawRef, reason);
    throw new InvalidInputError(
      broken ? `batch rejected: ${reason}` : `the uploaded file for pipeline '${spec.name}' is empty: expected a CSV header line and rows`,
      { details: { batchId } },
    );
  }
  if (missing.length > 0) {
    const reason = `column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} missing from the CSV header (line 1); expected columns: ${columns.map((c) => c.name).join(', ')}`;
    await recordRejected(rt, spec, header, batchId, rawRef, reason);
    throw new InvalidInputError(`batch rejected: ${reason}. The file is kept as ${rawRef.key}.`, { details: { batchId, missing } });
  }

  if (broken) quarantine.push(broken);
  const rowsQuarantined = quarantine.length;
  // Every data record is either accepted or quarantined (a broken spot counts as one record).
  const rowsTotal = rowsAccepted + rowsQuarantined;
  await withTransaction(rt.pool, async (tx) => {
    await insertBatch(tx, {
      batchId,
      pipeline: spec.name,
      filename: header.filename,
      format: 'csv',
      status: 'accepted',
      sha256: rawRef.sha256,
      rawKey: rawRef.key,
      rowsKey: rowsRef.key,
      rowsTotal,
      rowsAccepted,
      rowsQuarantined,
    });
    await insertQuarantine(tx, spec.name, batchId, quarantine);
    await rt.publish(tx, EVENTS.dataIngested, {
      pipeline: spec.name,
      batchId,
      rowsTotal: BigInt(rowsTotal),
      rowsAccepted: BigInt(rowsAccepted),
      rowsQuarantined: BigInt(rowsQuarantined),
      object: wireRef(rowsRef),
    });
    if (rowsQuarantined > 0) {
      await rt.publish(tx, EVENTS.dataRejected, {
        pipeline: spec.name,
        batchId,
        rowsQuarantined: BigInt(rowsQuarantined),
        problems: quarantine.slice(0, PROBLEMS_IN_ANSWER).map((q) => `line ${q.line}: ${q.message}`),
      });
    }
  });
  rt.relay.kick();
  return {
    batchId,
    rowsTotal: BigInt(rowsTotal),
    rowsAccepted: BigInt(rowsAccepted),
    rowsQuarantined: BigInt(rowsQuarantined),
    sha256: rawRef.sha256,
    problems: quarantine.slice(0, PROBLEMS_IN_ANSWER).map((q) => ({ line: BigInt(q.line), column: q.column, expected: q.expected, value: q.value, message: q.message })),
  };
}

async function recordRejected(rt: ServiceRuntime, spec: PipelineSpec, header: PushHeader, batchId: string, rawRef: ArtifactRef, reason: string): Promise<void> {
  await withTransaction(rt.pool, (tx) =>
    insertBatch(tx, {
      batchId,
      pipeline: spec.name,
      filename: header.filename,
      format: 'csv',
      status: 'rejected',
      rejectReason: reason,
      sha256: rawRef.sha256,
      rawKey: rawRef.key,
      rowsKey: null,
      rowsTotal: 0,
      rowsAccepted: 0,
      rowsQuarantined: 0,
    }),
  );
}
