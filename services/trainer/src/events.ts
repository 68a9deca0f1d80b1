import { EVENTS, extendLineage, stageTiming, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import type { TrainerConfig } from './config.js';
import { insertJob } from './store.js';
import { trainCandidate } from './train.js';

/** Consumes `features.ready`: train the candidate, store it, emit `model.trained`. */
export async function consumeTrainerEvents(rt: ServiceRuntime, config: Readonly<TrainerConfig>): Promise<void> {
  await rt.consume({
    name: 'features-ready',
    event: EVENTS.featuresReady,
    handle: async (ev, tx, { logger }) => {
      const started = Date.now();
      const e = ev.decode(EVENTS.featuresReady.schema);
      if (!e.context || !e.lineage) return;
      const spec = specFromJson(e.context.specJson);
      logger.info({ model: spec.model.kind, epochs: spec.model.epochs }, 'training started');
      const out = await trainCandidate(rt, config, spec, e.lineage, logger);
      await insertJob(tx, { runId: e.context.runId, pipeline: spec.name, ...out });
      await rt.publish(
        tx,
        EVENTS.modelTrained,
        { context: e.context, lineage: extendLineage(e.lineage, out.lineage), timing: stageTiming('trainer', started), trainMetrics: out.validationMetrics },
        { runId: e.context.runId, traceId: ev.traceId },
      );
      logger.info({ backend: out.backend, epochs: out.epochs, ms: out.computeMs, model: out.modelRef.key }, 'model trained');
    },
  });
}
