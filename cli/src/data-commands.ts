import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { toJson, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { GetSchemaResponseSchema, ListBatchesResponseSchema, PushDataResponseSchema, type GetSchemaResponse, type ImportDataRequestSchema, type PushDataRequestSchema, type PushDataResponse } from '@refit/contracts';
import { InvalidInputError } from '@refit/platform/client';
import type { Clients } from './clients.js';
import type { Io } from './commands.js';
import { inferColumns, schemaYaml, splitCsvLine, type InferredColumn } from './infer-schema.js';

/** JSON output lists every field, zeros and empty values too, so scripts need no defaults. */
const JSON_OPTS = { alwaysEmitImplicit: true } as const;

const print = (io: Io, human: string, json: unknown) => io.out(io.json ? JSON.stringify(json, null, 2) : human);

/** `csv` or `jsonl`: as asked, else from the file's extension (.jsonl/.json → jsonl), else csv. */
export function formatFor(file: string, format?: string): 'csv' | 'jsonl' {
  const f = format ?? (/^\.jsonl?$/i.test(extname(file)) ? 'jsonl' : 'csv');
  if (f !== 'csv' && f !== 'jsonl') throw new InvalidInputError(`--format ${f}: use csv or jsonl`);
  return f;
}

/** A batch's outcome as a user reads it: counts, status, batch problems and warnings, the first row problems. */
export function formatBatch(pipeline: string, r: PushDataResponse): string {
  if (r.status === 'unchanged') return `nothing new: ${r.warnings.join('; ')}`;
  const lines = [`batch ${r.batchId} ${r.status || 'accepted'}: ${r.rowsAccepted} rows accepted, ${r.rowsQuarantined} quarantined (of ${r.rowsTotal})`];
  for (const p of r.batchProblems) lines.push(`  ✗ ${p}`);
  for (const w of r.warnings) lines.push(`  ! ${w}`);
  for (const p of r.problems) lines.push(`  line ${p.line}: ${p.message}`);
  if (r.rowsQuarantined > BigInt(r.problems.length)) lines.push(`  … see all with: refit data quarantine ${pipeline} --batch ${r.batchId}`);
  if (r.rowsQuarantined > 0n) lines.push(`  fix them: refit data quarantine ${pipeline} --batch ${r.batchId} --export fix.csv, edit, then refit data push ${pipeline} fix.csv --fixes ${r.batchId}`);
  if (r.watermark) lines.push(`  watermark now ${r.watermark}`);
  return lines.join('\n');
}

/**
 * Bytes per PushData message: 1 MiB takes a sixteenth of the per-message work of 64 KiB (measured
 * in bench/data.ts) and stays well under grpc-js's 4 MiB default maximum message size.
 */
export const PUSH_CHUNK_BYTES = 1024 * 1024;

/** `refit data push <pipeline> <file>`: streams the file in {@link PUSH_CHUNK_BYTES} chunks (CSV or JSON lines). */
export async function dataPush(c: Clients, io: Io, pipeline: string, file: string, opts: { format?: string; fixes?: string } = {}): Promise<PushDataResponse> {
  const format = formatFor(file, opts.format);
  let sent = 0;
  let lastReport = 0;
  async function* parts(): AsyncIterable<MessageInitShape<typeof PushDataRequestSchema>> {
    yield { part: { case: 'header', value: { pipeline, format, filename: basename(file), resubmitsBatchId: opts.fixes ?? '' } } };
    for await (const chunk of createReadStream(file, { highWaterMark: PUSH_CHUNK_BYTES })) {
      sent += (chunk as Buffer).length;
      if (io.progress && Date.now() - lastReport > 500) {
        lastReport = Date.now();
        io.err(`  sent ${(sent / 1e6).toFixed(1)} MB…`);
      }
      yield { part: { case: 'chunk', value: chunk as Buffer } };
    }
  }
  const r = await c.ingestion.pushData(parts(), { timeoutMs: 3_600_000 });
  print(io, formatBatch(pipeline, r), toJson(PushDataResponseSchema, r, JSON_OPTS));
  if (r.status === 'rejected') process.exitCode = 3;
  return r;
}

/** Options of `refit data import`. */
export type DataImportOptions = { from?: string; format?: string; source?: string; table?: string; query?: string; watermark?: string; pgUrl?: string };

/**
 * The source an ImportData request names, from `refit data import`'s options: `--from
 * s3://bucket/key`, or `--source <connection>` with `--table` or `--query <name>` (and optionally
 * `--watermark <column>`). Sources are declared by an admin in the ingestion service, so a URL or
 * SQL is refused here already, with what to give instead.
 */
export function importSource(opts: DataImportOptions): MessageInitShape<typeof ImportDataRequestSchema>['source'] {
  if (opts.pgUrl) {
    throw new InvalidInputError(
      '--pg-url is no longer accepted: the ingestion service reads only Postgres connections an admin declared (REFIT_IMPORT_SOURCES); use --source <connection> with --table <declared table> or --query <declared query name>',
    );
  }
  const pgFlags = (['source', 'table', 'query', 'watermark'] as const).filter((k) => opts[k] !== undefined).map((k) => `--${k}`);
  const one = pgFlags.length === 1;
  if (opts.from) {
    if (pgFlags.length > 0) throw new InvalidInputError(`--from imports an S3 object; ${pgFlags.join(', ')} ${one ? 'belongs' : 'belong'} to a Postgres import (--source): give one or the other`);
    return { case: 's3Uri', value: opts.from };
  }
  if (!opts.source) {
    if (pgFlags.length > 0) throw new InvalidInputError(`${pgFlags.join(', ')} ${one ? 'needs' : 'need'} --source <connection>: the name of a Postgres connection declared in the ingestion service`);
    throw new InvalidInputError('give a source: --from s3://bucket/key (under a declared S3 source), or --source <connection> with --table <table> or --query <name>');
  }
  if (opts.format) throw new InvalidInputError('--format applies to --from only: Postgres rows are read as they are');
  if (!!opts.table === !!opts.query) throw new InvalidInputError(`--source ${opts.source}: give exactly one of --table <declared table> and --query <declared query name>`);
  if (opts.query && /\s/.test(opts.query.trim())) {
    throw new InvalidInputError(`--query takes the name of a query an admin declared for source '${opts.source}' (e.g. --query recent), not SQL`);
  }
  return { case: 'postgres', value: { connection: opts.source, table: opts.table ?? '', queryName: opts.query ?? '', watermarkColumn: opts.watermark ?? '' } };
}

/** `refit data import <pipeline> --from s3://bucket/key | --source <connection> --table <t>|--query <name> [--watermark col]` */
export async function dataImport(c: Clients, io: Io, pipeline: string, opts: DataImportOptions): Promise<void> {
  const source = importSource(opts);
  const { batch } = await c.ingestion.importData({ pipeline, source, format: opts.format ?? '' }, { timeoutMs: 3_600_000 });
  if (!batch) throw new InvalidInputError('the ingestion service answered without a batch');
  print(io, formatBatch(pipeline, batch), toJson(PushDataResponseSchema, batch, JSON_OPTS));
  if (batch.status === 'rejected') process.exitCode = 3;
}

/** `refit data quarantine <pipeline>`: lists quarantined rows and why; `--export` writes them as a CSV to fix. */
export async function dataQuarantine(c: Clients, io: Io, pipeline: string, batchId?: string, opts: { export?: string; all?: boolean } = {}): Promise<void> {
  const r = await c.ingestion.listQuarantine({ pipeline, batchId: batchId ?? '', limit: opts.export ? 1_000_000 : 1000, includeResolved: opts.all ?? false });
  if (opts.export) {
    if (!batchId) throw new InvalidInputError('--export needs --batch <id>: rows are fixed and re-submitted one batch at a time');
    const { batches } = await c.ingestion.listBatches({ pipeline });
    const b = batches.find((x) => x.batchId === batchId);
    // A CSV batch's header is the first line of its raw file; the rows are written as they came.
    const header = b?.format === 'jsonl' ? '' : await headerOf(c, pipeline);
    const body = `${header ? `${header}\n` : ''}${r.rows.map((q) => q.raw).join('\n')}\n`;
    await writeFile(opts.export, body);
    io.out(io.json ? JSON.stringify({ file: opts.export, rows: r.rows.length }) : `${r.rows.length} rows written to ${opts.export}; fix them, then: refit data push ${pipeline} ${opts.export} --fixes ${batchId}`);
    return;
  }
  print(
    io,
    r.rows.map((q) => `${q.batchId} line ${q.problem?.line}: ${q.problem?.message}${q.resolvedBy ? ` (fixed by ${q.resolvedBy})` : ''}`).join('\n') || 'no quarantined rows',
    r.rows.map((q) => ({ batchId: q.batchId, line: Number(q.problem?.line), column: q.problem?.column, message: q.problem?.message, raw: q.raw, resolvedBy: q.resolvedBy })),
  );
}

/** The schema's column names, in order: the header of an exported CSV. */
async function headerOf(c: Clients, pipeline: string): Promise<string> {
  const { pipeline: p } = await c.trigger.getPipeline({ name: pipeline });
  const spec = JSON.parse(p?.specJson ?? '{}') as { schema?: { columns?: Array<{ name: string }> } };
  return (spec.schema?.columns ?? []).map((col) => col.name).join(',');
}

/** `refit data batches <pipeline>`: every batch with its status and why. */
export async function dataBatches(c: Clients, io: Io, pipeline: string): Promise<void> {
  const r = await c.ingestion.listBatches({ pipeline });
  print(
    io,
    r.batches
      .map((b) => [`${b.batchId} ${b.status || 'accepted'} ${b.rowsAccepted} rows (${b.rowsQuarantined} quarantined) ${b.filename}`, ...b.problems.map((p) => `  - ${p}`)].join('\n'))
      .join('\n') || 'no batches',
    toJson(ListBatchesResponseSchema, r, JSON_OPTS),
  );
}

/** A pinned or declared schema as a user reads it: where it comes from, then its `schema:` YAML. */
export function formatSchema(r: GetSchemaResponse): string {
  if (r.source === 'pending') return `pipeline '${r.pipeline}' infers its schema from its first accepted batch; none is pinned yet (push a CSV file)`;
  const from =
    r.source === 'inferred'
      ? `# inferred from batch ${r.batchId} (${r.rows} rows)${r.pinnedAt ? ` and pinned at ${timestampDate(r.pinnedAt).toISOString()}` : ''}`
      : '# declared in the pipeline spec';
  const columns = r.columns.map((c) => ({
    name: c.name,
    type: c.type as InferredColumn['type'],
    ...(c.nullable ? { nullable: true as const } : {}),
    ...(c.min !== undefined ? { min: c.min } : {}),
    ...(c.max !== undefined ? { max: c.max } : {}),
    ...(c.values.length > 0 ? { values: c.values } : {}),
    ...(c.onUnseen ? { onUnseen: c.onUnseen as 'flag' } : {}),
  }));
  return `${from}\n${schemaYaml(columns)}`;
}

/** `refit data schema <pipeline>`: the schema batches are validated against (declared, or inferred and pinned). */
export async function dataSchema(c: Clients, io: Io, pipeline: string): Promise<GetSchemaResponse> {
  const r = await c.ingestion.getSchema({ pipeline });
  print(io, formatSchema(r), toJson(GetSchemaResponseSchema, r, JSON_OPTS));
  return r;
}

/** `refit data infer <file>`: a `schema:` section inferred from the file's first rows, to review and pin in the spec. */
export async function dataInfer(io: Io, file: string, rows: number): Promise<void> {
  const jsonl = formatFor(file) === 'jsonl';
  let names: string[] | undefined;
  const records: Array<Array<string | undefined>> = [];
  const objects: Array<Record<string, unknown>> = [];
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (!line.trim()) continue;
    if (jsonl) objects.push(JSON.parse(line) as Record<string, unknown>);
    else if (!names) names = splitCsvLine(line);
    else records.push(splitCsvLine(line));
    if (records.length + objects.length >= rows) break;
  }
  if (jsonl) {
    names = [...new Set(objects.flatMap((o) => Object.keys(o)))];
    const keys = names;
    records.push(...objects.map((o) => keys.map((k) => (o[k] === null || o[k] === undefined ? '' : String(o[k] as string)))));
  }
  const columns = inferColumns(names ?? [], records);
  print(io, `# inferred from the first ${records.length} rows of ${basename(file)}: review, then pin it in the spec\n${schemaYaml(columns)}`, { rows: records.length, columns });
}
