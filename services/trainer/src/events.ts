import { EVENTS, extendLineage, stageTiming, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import { ActiveRuns, RunCancelledError } from './cancellation.js';
import type { TrainerConfig } from './config.js';
import { createProgressReporter } from './progress.js';
import { cancellationOf, insertJob, markCancelled } from './store.js';
import { trainCandidate } from './train.js';

/**
 * Consumes `features.ready` (train the candidate, store it with its trials, emit `model.trained`)
 * and `run.cancelled` (stop that run's training within an epoch; never start it afterwards).
 */
export async function consumeTrainerEvents(rt: ServiceRuntime, config: Readonly<TrainerConfig>): Promise<void> {
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
  await rt.consume({
    name: 'features-ready',
    event: EVENTS.featuresReady,
    handle: async (ev, tx, { logger }) => {
      const started = Date.now();
      const e = ev.decode(EVENTS.featuresReady.schema);
      if (!e.context || !e.lineage) return;
      const runId = e.context.runId;
      const spec = specFromJson(e.context.specJson);
      if ((await cancellationOf(tx, runId)) !== undefined) {
        logger.info('run was cancelled; not training');
        return;
      }
      logger.info({ model: spec.model.kind, epochs: spec.model.epochs, search: spec.model.search?.strategy }, 'training started');
      const signal = active.start(runId);
      const progress = createProgressReporter(rt, {
        runId,
        pipeline: spec.name,
        traceId: ev.traceId,
        intervalMs: config.progressIntervalMs,
        logger,
        onCancelled: (reason) => active.cancel(runId, reason),
      });
      let out;
      try {
        // A continuous run (each new window) continues from the champion's weights.
        const warmStart = e.context.triggerKind === 'continuous';
        out = await trainCandidate(rt, config, spec, e.lineage, { logger, signal, onProgress: (p) => progress.epoch(p), warmStart });
      } catch (err) {
        if (signal.reason instanceof RunCancelledError) {
          // The trigger already marked the run cancelled; there is nothing to emit.
          logger.info({ reason: signal.reason.reason }, 'training cancelled');
          return;
        }
        throw err;
      } finally {
        active.end(runId);
        await progress.finish();
      }
      await insertJob(tx, { runId, pipeline: spec.name, ...out });
      await rt.publish(
        tx,
        EVENTS.modelTrained,
        { context: e.context, lineage: extendLineage(e.lineage, out.lineage), timing: stageTiming('trainer', started), trainMetrics: out.validationMetrics },
        { runId, traceId: ev.traceId },
      );
      logger.info({ backend: out.backend, epochs: out.epochs, ms: out.computeMs, trials: out.trials.length, model: out.modelRef.key }, 'model trained');
    },
  });
}
