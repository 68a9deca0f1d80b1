import { create, toJson } from '@bufbuild/protobuf';
import { LineageSchema, type RunContext } from '@refit/contracts';
import { EVENTS, stageTiming, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import { buildSnapshot } from './snapshot.js';
import { insertSnapshot, upsertPipeline } from './store.js';

/** Consumers of the ingestion service: pipeline specs, and snapshot requests for runs. */
export async function consumeIngestionEvents(rt: ServiceRuntime): Promise<void> {
  await rt.consume({
    name: 'pipeline-applied',
    event: EVENTS.pipelineApplied,
    handle: async (ev, tx) => {
      const e = ev.decode(EVENTS.pipelineApplied.schema);
      await upsertPipeline(tx, { name: e.pipeline, version: e.version, specJson: e.specJson });
    },
    onDeadLetter: async (ev, error) => rt.logger.error({ err: error, eventId: ev.id }, 'could not store an applied pipeline'),
  });
  await rt.consume({
    name: 'run-requested',
    event: EVENTS.runRequested,
    handle: async (ev, tx, { logger }) => {
      const started = Date.now();
      const e = ev.decode(EVENTS.runRequested.schema);
      const ctx = e.context;
      if (!ctx) return;
      const spec = specFromJson(ctx.specJson);
      const lineage = await buildSnapshot(rt, spec);
      await insertSnapshot(tx, { runId: ctx.runId, pipeline: ctx.pipeline, sha256: lineage.snapshotSha256 ?? '', lineage: toJson(LineageSchema, create(LineageSchema, lineage)) });
      await rt.publish(
        tx,
        EVENTS.datasetPrepared,
        { context: ctx, lineage, timing: stageTiming('ingestion', started) },
        { runId: ctx.runId, traceId: ev.traceId },
      );
      logger.info({ snapshot: lineage.snapshotSha256, rows: Number(lineage.rowsTrain) + Number(lineage.rowsValidation) + Number(lineage.rowsTest) }, 'snapshot prepared');
    },
    // As the runtime's default (the run fails at this stage with the error's message), plus the pipeline.
    onDeadLetter: async (ev, error, tx) => {
      let ctx: RunContext | undefined;
      try {
        ctx = ev.decode(EVENTS.runRequested.schema).context;
      } catch {
        ctx = undefined; // an event that does not decode still fails the run its headers name
      }
      const runId = ctx?.runId || ev.runId;
      if (!runId) return;
      const reason = error instanceof Error ? error.message : String(error);
      await rt.publish(tx, EVENTS.runFailed, { runId, pipeline: ctx?.pipeline ?? '', stage: 'ingestion', reason }, { runId, traceId: ev.traceId });
    },
  });
}
