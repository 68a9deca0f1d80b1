import type { Lineage, RunContext } from '@refit/contracts';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { currentBackend } from '@refit/modeling';
import { EVENTS, extendLineage, newRunId, stageTiming, UnavailableError, type HandlerContext, type ReceivedEvent, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import { ActiveRuns, RunCancelledError } from './cancellation.js';
import type { TrainerConfig } from './config.js';
import { createProgressReporter } from './progress.js';
import { cancellationOf, insertJob, markCancelled } from './store.js';
import type { ChampionSource } from './stream-champion.js';
import { learnSegment, provenLineage, type SegmentOutcome } from './stream-learner.js';
import { saveLearner, skipSegment } from './stream-store.js';
import { trainCandidate, type TrainingOutcome } from './train.js';
import { trainerMetrics } from './metrics.js';

/** A finished training, for its effects (the job row and `model.trained`). */
type Trained = { context: RunContext; lineage: Lineage; pipeline: string; started: number; out: TrainingOutcome };

/** What training a run uses: the pool, the outbox, a registry client and the object store. */
type TrainDeps = Pick<ServiceRuntime, 'pool' | 'publish' | 'relay' | 'connect' | 'store'>;

/**
 * Trains the run of a `features.ready` event, outside any transaction: undefined when there is
 * nothing to record (a cancelled run). The model is stored content-addressed, so training again
 * after a crash or a hand-back stores the same object. Stopping this process aborts the training
 * and rethrows, so the event goes back to another replica instead of being recorded as failed.
 */
async function trainRun(rt: TrainDeps, config: Readonly<TrainerConfig>, active: ActiveRuns, ev: ReceivedEvent, ctx: HandlerContext): Promise<Trained | undefined> {
  const { logger } = ctx;
  const started = Date.now();
  const e = ev.decode(EVENTS.featuresReady.schema);
  if (!e.context || !e.lineage) return undefined;
  const runId = e.context.runId;
  const spec = specFromJson(e.context.specJson);
  if ((await cancellationOf(rt.pool, runId)) !== undefined) {
    logger.info('run was cancelled; not training');
    return undefined;
  }
  logger.info({ model: spec.model.kind, epochs: spec.model.epochs, search: spec.model.search?.strategy }, 'training started');
  const cancelled = active.start(runId);
  const progress = createProgressReporter(rt, {
    runId,
    pipeline: spec.name,
    traceId: ev.traceId,
    intervalMs: config.progressIntervalMs,
    logger,
    onCancelled: (reason) => active.cancel(runId, reason),
  });
  let out: TrainingOutcome;
  try {
    // A continuous run (each new window) continues from the champion's weights.
    const warmStart = e.context.triggerKind === 'continuous';
    const signal = AbortSignal.any([ctx.signal, cancelled]);
    out = await trainCandidate(rt, config, spec, e.lineage, { logger, signal, onProgress: (p) => progress.epoch(p), warmStart });
  } catch (err) {
    // This process is stopping: the event is handed back and trained again elsewhere.
    if (ctx.signal.aborted) throw err;
    if (cancelled.reason instanceof RunCancelledError) {
      // The trigger already marked the run cancelled; there is nothing to emit.
      logger.info({ reason: cancelled.reason.reason }, 'training cancelled');
      return undefined;
    }
    throw err;
  } finally {
    active.end(runId);
    // A training handed back is not done: the replica taking it over reports its progress.
    if (!ctx.signal.aborted) await progress.finish();
  }
  return { context: e.context, lineage: e.lineage, pipeline: spec.name, started, out };
}

/**
 * Consumes `features.ready` (train the candidate, store it with its trials, emit `model.trained`)
 * and `run.cancelled` (stop that run's training within an epoch; never start it afterwards).
 * Training runs outside any transaction; only its effects take a short one.
 */
export async function consumeTrainerEvents(rt: TrainDeps & Pick<ServiceRuntime, 'consume' | 'metrics'>, config: Readonly<TrainerConfig>): Promise<void> {
  const active = new ActiveRuns();
  await rt.consume({
    name: 'run-cancelled',
    event: EVENTS.runCancelled,
    handle: async (ev, tx, { logger }) => {
      const e = ev.decode(EVENTS.runCancelled.schema);
      if (!e.runId) return;
      await markCancelled(tx, e.runId, e.reason);
      // Other replicas see the row on their next progress beat; this one can stop at once.
      if (active.cancel(e.runId, e.reason)) logger.info({ runId: e.runId }, 'stopping the cancelled run');
    },
  });
  await rt.consume<Trained | undefined>({
    name: 'features-ready',
    event: EVENTS.featuresReady,
    // Training is CPU bound: one at a time per process, more replicas for more at once.
    concurrency: 1,
    work: (ev, ctx) => trainRun(rt, config, active, ev, ctx),
    effects: async (trained, tx, { ev, logger, afterCommit }) => {
      if (!trained) return;
      const { context, out } = trained;
      const runId = context.runId;
      // The run may have been cancelled while it trained on another replica (or after its last epoch).
      if ((await cancellationOf(tx, runId)) !== undefined) {
        logger.info('run was cancelled during the training; not emitting');
        return;
      }
      await insertJob(tx, { runId, pipeline: trained.pipeline, ...out });
      await rt.publish(
        tx,
        EVENTS.modelTrained,
        { context, lineage: extendLineage(trained.lineage, out.lineage), timing: stageTiming('trainer', trained.started), trainMetrics: out.validationMetrics },
        { runId, traceId: ev.traceId },
      );
      logger.info({ backend: out.backend, epochs: out.epochs, ms: out.computeMs, trials: out.trials.length, model: out.modelRef.key }, 'model trained');
      afterCommit(() => {
        const m = trainerMetrics(rt.metrics);
        m.trainingSeconds.observe({ pipeline: trained.pipeline, backend: out.backend }, out.computeMs / 1000);
        m.trials.inc({ pipeline: trained.pipeline }, Math.max(1, out.trials.length));
      });
    },
  });
}

/**
 * Consumes `stream.segment`: each persisted segment of a stream-fed pipeline is applied to its
 * online learner (test-then-train, outside any transaction), then the learner's next state — and,
 * when it proved better than the champion, `stream.proven` for the registry — is saved in one
 * transaction with the event handled. One segment at a time per process; segments apply in order.
 */
export async function consumeStreamSegments(rt: Pick<ServiceRuntime, 'consume' | 'pool' | 'store' | 'publish' | 'logger'>, config: Readonly<TrainerConfig>, champion: ChampionSource): Promise<void> {
  await rt.consume<SegmentOutcome>({
    name: 'stream-segments',
    event: EVENTS.streamSegment,
    concurrency: 1,
    work: (ev, { logger }) => learnSegment({ pool: rt.pool, store: rt.store, champion, logger }, ev.decode(EVENTS.streamSegment.schema)),
    // A segment that cannot be learned (its objects gone, a bug) is passed with its reason, so the
    // segments after it are learned instead of waiting for it forever; the event is on the dead-letter subject.
    onDeadLetter: async (ev, error, tx) => {
      const e = ev.decode(EVENTS.streamSegment.schema);
      const reason = error instanceof Error ? error.message : String(error);
      if (await skipSegment(tx, e.pipeline, Number(e.segment), reason)) rt.logger.error({ pipeline: e.pipeline, segment: Number(e.segment), err: error }, 'stream learner passed a segment it could not learn from');
    },
    effects: async (out, tx, { ev, logger }) => {
      if (out.kind === 'skip') return;
      if (!(await saveLearner(tx, out.pipeline, out.previous, out.update))) {
        throw new UnavailableError(`segment ${out.update.segment} of '${out.pipeline}': another replica applied a segment meanwhile; learning it again from the stored learner`);
      }
      const d = out.drifted;
      if (d) {
        await rt.publish(tx, EVENTS.streamDrifted, { pipeline: out.pipeline, drift: d.drift, limit: d.limit, column: d.column, segment: BigInt(out.update.segment), championVersion: d.championVersion }, { traceId: ev.traceId });
        logger.info({ pipeline: out.pipeline, drift: d.drift, limit: d.limit, column: d.column }, 'stream inputs drifted past the limit: asking for a full run');
      }
      const p = out.proven;
      if (!p) return;
      const runId = newRunId();
      const segment = ev.decode(EVENTS.streamSegment.schema);
      const e = p.evidence;
      await rt.publish(
        tx,
        EVENTS.streamProven,
        {
          context: { runId, pipeline: out.pipeline, specVersion: segment.specVersion, specJson: segment.specJson, triggerKind: 'stream', triggerReason: `stream learner ${p.why}` },
          lineage: provenLineage(p, config.codeVersion, currentBackend()),
          evidence: { ...e, rows: BigInt(e.rows), updates: BigInt(p.updates), firstSegment: BigInt(p.firstSegment), lastSegment: BigInt(p.lastSegment) },
          championVersion: p.champion.version,
          provenAt: timestampFromDate(p.streamAt),
        },
        { runId, traceId: ev.traceId },
      );
      await tx.query(`update stream_learners set proven_run_id = $2 where pipeline = $1`, [out.pipeline, runId]);
      logger.info({ pipeline: out.pipeline, runId, champion: p.champion.version, improvement: e.improvement, pValue: e.pValue }, 'stream learner proved a replacement');
    },
  });
}
