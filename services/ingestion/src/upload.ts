import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Writable } from 'node:stream';
import { parse } from 'csv-parse';
import type { PushHeader, RowProblem } from '@refit/contracts';
import { EVENTS, InvalidInputError, wireRef, withTransaction, type ArtifactRef, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import { insertBatch, insertQuarantine, type QuarantineEntry } from './store.js';
import { mapHeader, validateRecord } from './validate.js';

/** How many problems a push answer lists (all of them are in the quarantine table). */
const PROBLEMS_IN_ANSWER = 20;

/** The outcome of one push. */
export type PushResult = {
  batchId: string;
  rowsTotal: bigint;
  rowsAccepted: bigint;
  rowsQuarantined: bigint;
  problems: Array<Omit<RowProblem, '$typeName'>>;
  sha256: string;
};

/** Writes with backpressure; a stream destroyed meanwhile (the parser gave up) takes nothing more. */
async function write(stream: Writable, chunk: Uint8Array | string): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return;
  if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), once(stream, 'close')]).catch(() => undefined);
}

/**
 * Streams an uploaded CSV into the object store while validating it row by row: the raw bytes are
 * kept as they came, accepted rows become typed JSON lines, bad rows go to quarantine with the
 * line, column and reason. Memory stays bounded whatever the file's size.
 */
export async function ingestCsv(
  rt: ServiceRuntime,
  spec: PipelineSpec,
  header: PushHeader,
  chunks: AsyncIterable<Uint8Array>,
): Promise<PushResult> {
  const batchId = `b-${randomUUID()}`;
  const prefix = `pipelines/${spec.name}/batches/${batchId}`;
  const columns = spec.schema.columns;
  const raw = new PassThrough();
  const rawPut = rt.store.putStream(`${prefix}/raw.csv`, raw);
  const rows = new PassThrough();
  const rowsPut = rt.store.putStream(`${prefix}/rows.jsonl`, rows);
  const parser = parse({ relax_column_count: true, skip_empty_lines: true, bom: true, info: true, relax_quotes: false });

  const quarantine: QuarantineEntry[] = [];
  let headerLength = 0;
  let indexes: number[] = [];
  let missing: string[] = [];
  let rowsTotal = 0;
  let rowsAccepted = 0;
  let fatal: string | undefined;

  const consumed = (async () => {
    try {
      for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        const { record, info } = item;
        if (headerLength === 0) {
          headerLength = record.length;
          ({ indexes, missing } = mapHeader(record, columns));
          if (missing.length > 0) break;
          continue;
        }
        rowsTotal++;
        const result = validateRecord(record, columns, indexes, headerLength);
        if ('row' in result) {
          rowsAccepted++;
          await write(rows, `${JSON.stringify(result.row)}\n`);
        } else {
          quarantine.push({ line: info.lines, ...result.problem, raw: record.join(',') });
        }
      }
    } catch (e) {
      // A broken file (an unclosed quote…) stops parsing; what came before is kept, the rest quarantined.
      const err = e as { message?: string; lines?: number };
      fatal = err.message ?? String(e);
      quarantine.push({ line: err.lines ?? rowsTotal + 2, column: '', expected: 'well-formed CSV', value: '', message: `malformed CSV: ${fatal}`, raw: '' });
    }
  })();

  for await (const chunk of chunks) {
    await write(raw, chunk);
    if (fatal === undefined && missing.length === 0) await write(parser, chunk);
  }
  raw.end();
  if (!parser.destroyed) parser.end();
  await consumed;
  rows.end();
  const [rawRef, rowsRef] = (await Promise.all([rawPut, rowsPut])) as [ArtifactRef, ArtifactRef];

  if (headerLength === 0 && fatal === undefined) {
    await recordRejected(rt, spec, header, batchId, rawRef, 'the file is empty: expected a header line and rows');
    throw new InvalidInputError(`the uploaded file for pipeline '${spec.name}' is empty: expected a CSV header line and rows`, { details: { batchId } });
  }
  if (missing.length > 0) {
    const reason = `column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} missing from the CSV header (line 1); expected columns: ${columns.map((c) => c.name).join(', ')}`;
    await recordRejected(rt, spec, header, batchId, rawRef, reason);
    throw new InvalidInputError(`batch rejected: ${reason}. The file is kept as ${rawRef.key}.`, { details: { batchId, missing } });
  }

  const rowsQuarantined = quarantine.length;
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
      rowsTotal: rowsTotal + (fatal ? 1 : 0),
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
