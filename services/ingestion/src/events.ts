import { create, toJson, type MessageInitShape } from '@bufbuild/protobuf';
import { DeployerService, LineageSchema, type RunContext } from '@refit/contracts';
import { EVENTS, stageTiming, type HandlerContext, type ReceivedEvent, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import type { IngestionConfig } from './config.js';
import { takeFeedback } from './feedback-source.js';
import { buildSnapshot } from './snapshot.js';
import type { IngestDeps } from './upload.js';
import { takeStreamSegments } from './stream-batch.js';
import { insertSnapshot, upsertPipeline } from './store.js';

/** A run's snapshot, built, for its effects (the snapshot row and `dataset.prepared`). */
type Prepared = { context: RunContext; started: number; lineage: MessageInitShape<typeof LineageSchema> };

/** What preparing a run's snapshot uses: what taking a batch in uses, and a deployer client for feedback. */
type SnapshotDeps = IngestDeps & Pick<ServiceRuntime, 'connect'>;

/**
 * Takes in the feedback (when the spec asks) and builds the snapshot of a `run.requested` run,
 * outside any transaction. Both are safe to do again: the feedback batch is recorded once per
 * watermark (see takeFeedback), and the snapshot's objects are content-addressed or named by
 * their content's hash.
 */
async function prepareSnapshot(rt: SnapshotDeps, deployerAddress: string, ev: ReceivedEvent, { logger, signal }: HandlerContext): Promise<Prepared | undefined> {
  const started = Date.now();
  const context = ev.decode(EVENTS.runRequested.schema).context;
  if (!context) return undefined;
  const spec = specFromJson(context.specJson);
  // Labeled predictions since the last run become a batch first, so this snapshot includes them.
  if (spec.data.include.includes('feedback')) {
    // A client of its own, closed with the work: closing a shared one at shutdown would fail the
    // call before the consumer hands the event back.
    const deployer = rt.connect(DeployerService, deployerAddress);
    const taken = await takeFeedback(rt, deployer, spec, signal).finally(() => deployer.close());
    logger.info(
      { read: taken.read, batch: taken.batch?.batchId, accepted: Number(taken.batch?.rowsAccepted ?? 0n), skipped: taken.skipped, takenElsewhere: taken.takenElsewhere },
      taken.takenElsewhere ? 'feedback was taken in by another attempt' : 'feedback taken in',
    );
  }
  // Labeled stream rows since the last run too: a full run trains on what the online learner saw.
  if (spec.data.source?.stream) {
    const taken = await takeStreamSegments(rt, spec, signal);
    logger.info({ segments: taken.segments, rows: taken.rows, batch: taken.batch?.batchId, accepted: Number(taken.batch?.rowsAccepted ?? 0n), skipped: taken.skipped, takenElsewhere: taken.takenElsewhere }, 'labeled stream rows taken in');
  }
  signal.throwIfAborted();
  return { context, started, lineage: await buildSnapshot(rt, spec) };
}

/**
 * Consumers of the ingestion service: pipeline specs, and snapshot requests for runs (with the
 * feedback taken in first, when the spec asks) — the snapshot built outside any transaction, only
 * its effects in a short one.
 */
export async function consumeIngestionEvents(
  rt: SnapshotDeps & Pick<ServiceRuntime, 'consume'>,
  config: Pick<IngestionConfig, 'deployerAddress'>,
  hooks: { /** Called once an applied spec is stored (the stream sources look at it). */ onPipelineApplied?: () => void } = {},
): Promise<void> {
  await rt.consume({
    name: 'pipeline-applied',
    event: EVENTS.pipelineApplied,
    handle: async (ev, tx, { afterCommit }) => {
      const e = ev.decode(EVENTS.pipelineApplied.schema);
      await upsertPipeline(tx, { name: e.pipeline, version: e.version, specJson: e.specJson });
      const applied = hooks.onPipelineApplied;
      if (applied) afterCommit(applied);
    },
    onDeadLetter: async (ev, error) => rt.logger.error({ err: error, eventId: ev.id }, 'could not store an applied pipeline'),
  });
  await rt.consume<Prepared | undefined>({
    name: 'run-requested',
    event: EVENTS.runRequested,
    concurrency: 2,
    work: (ev, ctx) => prepareSnapshot(rt, config.deployerAddress, ev, ctx),
    effects: async (prepared, tx, { ev, logger }) => {
      if (!prepared) return;
      const { context, lineage } = prepared;
      await insertSnapshot(tx, { runId: context.runId, pipeline: context.pipeline, sha256: lineage.snapshotSha256 ?? '', lineage: toJson(LineageSchema, create(LineageSchema, lineage)) });
      await rt.publish(tx, EVENTS.datasetPrepared, { context, lineage, timing: stageTiming('ingestion', prepared.started) }, { runId: context.runId, traceId: ev.traceId });
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
