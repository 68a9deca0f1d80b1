import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { RegistryService, TriggerService, type IngestionService, type Pipeline, type PushDataRequest, type PushHeader } from '@refit/contracts';
import { callOptionsFrom, InvalidInputError, isNotFound, isRefitError, NotFoundError, UnavailableError, type CallContext, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { isPipelineName, specFromJson, type ColumnSpec, type PipelineSpec } from '@refit/spec';
import { createChampionCheck } from './champion-check.js';
import type { IngestionConfig } from './config.js';
import { createImporter, formatOf } from './import-data.js';
import { printable } from './pg-text.js';
import { getPinnedSchema, getPipelineSpec, listBatches, listQuarantine, upsertPipeline } from './store.js';
import { streamStats } from './stream-stats.js';
import { ingest, isBatchId, type IngestDeps } from './upload.js';

/** How long a push waits for the trigger service to look up a pipeline not seen yet. */
const TRIGGER_LOOKUP_MS = 5000;

/** A schema column as GetSchema answers it. */
const wireColumn = (c: ColumnSpec) => ({ name: c.name, type: c.type, nullable: c.nullable, min: c.min, max: c.max, values: c.values ?? [], onUnseen: c.onUnseen ?? '' });

/**
 * `value` of the request field `field` as a pipeline name. Checked before any query: a NUL in a
 * query parameter fails in Postgres (22021), which answered an internal error.
 * @throws InvalidInputError naming the field when it is empty or cannot be a pipeline name.
 */
function pipelineField(value: string, field: string): string {
  if (!value) throw new InvalidInputError(`${field} is required`, { details: { field } });
  if (!isPipelineName(value)) {
    throw new InvalidInputError(`${field}: '${printable(value)}' is not a pipeline name (lower-case letters, digits and dashes, starting with a letter)`, { details: { field } });
  }
  return value;
}

/** gRPC handlers of the ingestion service. */
export function createIngestionHandlers(rt: IngestDeps & Pick<ServiceRuntime, 'connect' | 'nc'>, config: Readonly<IngestionConfig>): ServiceHandlers<typeof IngestionService> {
  const trigger = rt.connect(TriggerService, config.triggerAddress);
  const checkChampion = createChampionCheck({
    registry: rt.connect(RegistryService, config.registryAddress),
    registryAddress: config.registryAddress,
    store: rt.store,
    tfBackend: config.tfBackend,
    timeoutMs: config.championCheckTimeoutMs,
  });
  const importFrom = createImporter({ rt, sources: config.importSources, platformBucket: config.s3.bucket, checkChampion });

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
      const format = formatOf(header.format);
      const spec = await specOf(pipelineField(header.pipeline, 'header.pipeline'), ctx);
      async function* chunks(): AsyncIterable<Uint8Array> {
        for (let next = await it.next(); !next.done; next = await it.next()) {
          const part = (next.value as PushDataRequest).part;
          if (part.case === 'chunk') yield part.value;
          else throw new InvalidInputError('only the first PushData message may be a header');
        }
      }
      return ingest(rt, spec, { format, filename: header.filename, resubmitsBatchId: header.resubmitsBatchId || undefined }, chunks(), ctx.signal, checkChampion);
    },
    async importData(req, ctx) {
      const spec = await specOf(pipelineField(req.pipeline, 'pipeline'), ctx);
      return { batch: await importFrom(spec, req, ctx.signal) };
    },
    async listBatches(req) {
      const batches = await listBatches(rt.pool, pipelineField(req.pipeline, 'pipeline'));
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
      const spec = await specOf(pipelineField(req.pipeline, 'pipeline'), ctx);
      if (!spec.schema.infer) return { pipeline: spec.name, source: 'declared', columns: spec.schema.columns.map(wireColumn) };
      const pinned = await getPinnedSchema(rt.pool, spec.name);
      if (!pinned) return { pipeline: spec.name, source: 'pending' };
      return { pipeline: spec.name, source: 'inferred', columns: pinned.columns.map(wireColumn), batchId: pinned.batchId, rows: BigInt(pinned.rows), pinnedAt: timestampFromDate(pinned.createdAt) };
    },
    async getStreamStats(req, ctx) {
      const spec = await specOf(pipelineField(req.pipeline, 'pipeline'), ctx);
      return streamStats({ pool: rt.pool, nc: rt.nc }, spec);
    },
    async listQuarantine(req) {
      if (req.batchId && !isBatchId(req.batchId)) {
        throw new InvalidInputError(`batch_id: '${printable(req.batchId)}' is not a batch id (b-<uuid>, as refit data batches lists them)`, { details: { field: 'batch_id' } });
      }
      const rows = await listQuarantine(rt.pool, pipelineField(req.pipeline, 'pipeline'), req.batchId || undefined, req.limit > 0 ? req.limit : 100, req.includeResolved);
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
