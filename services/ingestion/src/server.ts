import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { TriggerService, type IngestionService, type Pipeline, type PushDataRequest, type PushHeader } from '@refit/contracts';
import { callOptionsFrom, createClient, InvalidInputError, isNotFound, isRefitError, NotFoundError, UnavailableError, type CallContext, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { specFromJson, type PipelineSpec } from '@refit/spec';
import type { IngestionConfig } from './config.js';
import { getPipelineSpec, listBatches, listQuarantine, upsertPipeline } from './store.js';
import { ingestCsv } from './upload.js';

/** How long a push waits for the trigger service to look up a pipeline not seen yet. */
const TRIGGER_LOOKUP_MS = 5000;

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
      const format = header.format || 'csv';
      if (format !== 'csv') throw new InvalidInputError(`format '${format}' is not supported yet; use csv`);
      const spec = await specOf(header.pipeline, ctx);
      async function* chunks(): AsyncIterable<Uint8Array> {
        for (let next = await it.next(); !next.done; next = await it.next()) {
          const part = (next.value as PushDataRequest).part;
          if (part.case === 'chunk') yield part.value;
          else throw new InvalidInputError('only the first PushData message may be a header');
        }
      }
      return ingestCsv(rt, spec, header, chunks(), ctx.signal);
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
        })),
      };
    },
    async listQuarantine(req) {
      const rows = await listQuarantine(rt.pool, req.pipeline, req.batchId || undefined, req.limit > 0 ? req.limit : 100);
      return {
        rows: rows.map((q) => ({
          batchId: q.batch_id,
          raw: q.raw,
          problem: { line: BigInt(q.line), column: q.column_name, expected: q.expected, value: q.value, message: q.message },
        })),
      };
    },
  };
}
