import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { TriggerService, type IngestionService, type Pipeline, type PushDataRequest, type PushHeader } from '@refit/contracts';
import { callOptionsFrom, createClient, InvalidInputError, isNotFound, isRefitError, NotFoundError, UnavailableError, type CallContext, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { specFromJson, type ColumnSpec, type PipelineSpec } from '@refit/spec';
import type { IngestionConfig } from './config.js';
import { parseS3Uri, pgChunks, s3Chunks, sourceKey } from './sources.js';
import { getPinnedSchema, getPipelineSpec, getWatermark, listBatches, listQuarantine, upsertPipeline } from './store.js';
import { ingest, type PushResult } from './upload.js';

/** How long a push waits for the trigger service to look up a pipeline not seen yet. */
const TRIGGER_LOOKUP_MS = 5000;

const FORMATS = ['csv', 'jsonl'] as const;
function formatOf(format: string, fallback: 'csv' | 'jsonl' = 'csv'): 'csv' | 'jsonl' {
  const f = format || fallback;
  if (!(FORMATS as readonly string[]).includes(f)) throw new InvalidInputError(`format '${f}' is not supported; use csv or jsonl`);
  return f as 'csv' | 'jsonl';
}

/** The chunks, or undefined when there are none with bytes (an incremental source with nothing new). */
async function nonEmpty(chunks: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Uint8Array> | undefined> {
  const it = chunks[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) return undefined;
  const head = first.value;
  return (async function* () {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  })();
}

/** A schema column as GetSchema answers it. */
const wireColumn = (c: ColumnSpec) => ({ name: c.name, type: c.type, nullable: c.nullable, min: c.min, max: c.max, values: c.values ?? [], onUnseen: c.onUnseen ?? '' });

/** gRPC handlers of the ingestion service. */
export function createIngestionHandlers(rt: ServiceRuntime, config: Readonly<IngestionConfig>): ServiceHandlers<typeof IngestionService> {
  const trigger = createClient(TriggerService, config.triggerAddress);

  // The spec usually arrived by event already; right after an apply it may not have, so ask the trigger.
  async function specOf(name: string, ctx: CallContext): Promise<PipelineSpec> {
    const local = await getPipelineSpec(rt.pool, name);
    if (local) return specFromJson(local.spec_json);
    let pipeline: Pipeline | undefined;
    try {
      ({ pipeline } = await trigger.getPipeline({ name }, { ...callOptionsFrom(ctx), timeoutMs: TRIGGER_LOOKUP_MS }));
    } catch (e) {
      if (isRefitError(e) && e.kind === 'unavailable') {
        // We cannot tell whether the pipeline exists: say so (retryable), not NOT_FOUND.
        throw new UnavailableError(
          `pipeline '${name}' is not known to the ingestion service yet and the trigger service at ${config.triggerAddress} could not be reached to look it up (${e.message}); retry once the trigger service is up`,
          { cause: e, details: { pipeline: name } },
        );
      }
      if (!isNotFound(e)) throw e;
    }
    if (!pipeline) {
      throw new NotFoundError(`pipeline '${name}' not found; apply it first with 'refit pipeline apply -f <spec.yaml>'`, { details: { pipeline: name } });
    }
    await upsertPipeline(rt.pool, { name, version: pipeline.version, specJson: pipeline.specJson });
    return specFromJson(pipeline.specJson);
  }

  return {
    async pushData(reqs, ctx) {
      const it = reqs[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.part.case !== 'header') {
        throw new InvalidInputError('the first message of PushData must be a header naming the pipeline');
      }
      const header: PushHeader = first.value.part.value;
      if (!header.pipeline) throw new InvalidInputError('header.pipeline is required');
      const format = formatOf(header.format);
      const spec = await specOf(header.pipeline, ctx);
      async function* chunks(): AsyncIterable<Uint8Array> {
        for (let next = await it.next(); !next.done; next = await it.next()) {
          const part = (next.value as PushDataRequest).part;
          if (part.case === 'chunk') yield part.value;
          else throw new InvalidInputError('only the first PushData message may be a header');
        }
      }
      return ingest(rt, spec, { format, filename: header.filename, resubmitsBatchId: header.resubmitsBatchId || undefined }, chunks(), ctx.signal);
    },
    async importData(req, ctx) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      const spec = await specOf(req.pipeline, ctx);
      let batch: PushResult;
      if (req.source.case === 's3Uri') {
        const uri = req.source.value;
        const { key } = parseS3Uri(uri);
        const format = formatOf(req.format, /\.jsonl?$/i.test(key) ? 'jsonl' : 'csv');
        batch = await ingest(rt, spec, { format, filename: uri }, await s3Chunks(rt, config.s3, uri), ctx.signal);
      } else if (req.source.case === 'postgres') {
        const src = req.source.value;
        const source = sourceKey(src);
        const after = src.watermarkColumn ? await getWatermark(rt.pool, spec.name, source) : undefined;
        const read = pgChunks(src, after);
        const chunks = await nonEmpty(read.chunks);
        if (!chunks) {
          // Nothing past the watermark: no batch, and the answer says where the source stands.
          return { batch: { status: 'unchanged', watermark: after ?? '', warnings: [`no rows past the watermark ${after ?? '(none yet)'}`] } };
        }
        batch = await ingest(
          rt,
          spec,
          { format: 'jsonl', filename: `${source.replace(/^postgres:/, '')}${after ? ` after ${after}` : ''}`, watermark: () => { const v = read.done(); return v === undefined || !src.watermarkColumn ? undefined : { source, value: v }; } },
          chunks,
          ctx.signal,
        );
      } else {
        throw new InvalidInputError('give a source: s3_uri or postgres');
      }
      return { batch };
    },
    async listBatches(req) {
      const batches = await listBatches(rt.pool, req.pipeline);
      return {
        batches: batches.map((b) => ({
          batchId: b.batch_id,
          pipeline: b.pipeline,
          filename: b.filename,
          rowsAccepted: BigInt(b.rows_accepted),
          rowsQuarantined: BigInt(b.rows_quarantined),
          sha256: b.sha256,
          createdAt: timestampFromDate(b.created_at),
          status: b.status,
          problems: [...b.problems, ...b.warnings],
          format: b.format,
        })),
      };
    },
    async getSchema(req, ctx) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      const spec = await specOf(req.pipeline, ctx);
      if (!spec.schema.infer) return { pipeline: spec.name, source: 'declared', columns: spec.schema.columns.map(wireColumn) };
      const pinned = await getPinnedSchema(rt.pool, spec.name);
      if (!pinned) return { pipeline: spec.name, source: 'pending' };
      return { pipeline: spec.name, source: 'inferred', columns: pinned.columns.map(wireColumn), batchId: pinned.batchId, rows: BigInt(pinned.rows), pinnedAt: timestampFromDate(pinned.createdAt) };
    },
    async listQuarantine(req) {
      const rows = await listQuarantine(rt.pool, req.pipeline, req.batchId || undefined, req.limit > 0 ? req.limit : 100, req.includeResolved);
      return {
        rows: rows.map((q) => ({
          batchId: q.batch_id,
          raw: q.raw,
          resolvedBy: q.resolved_by ?? '',
          problem: { line: BigInt(q.line), column: q.column_name, expected: q.expected, value: q.value, message: q.message },
        })),
      };
    },
  };
}
