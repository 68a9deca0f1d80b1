import { EVENTS, type ServiceRuntime } from '@refit/platform';
import { registerEvaluated } from './promotion.js';

/** Consumes `model.evaluated`: register the version and move the champion alias when it passed. */
export async function consumeRegistryEvents(rt: ServiceRuntime): Promise<void> {
  await rt.consume({
    name: 'model-evaluated',
    event: EVENTS.modelEvaluated,
    handle: (ev, tx) => registerEvaluated(rt, tx, ev.decode(EVENTS.modelEvaluated.schema), ev.traceId),
  });
}
