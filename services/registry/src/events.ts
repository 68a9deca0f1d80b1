import { EVENTS, type ServiceRuntime } from '@refit/platform';
import { recordRunRequested, registerEvaluated } from './promotion.js';

/**
 * Consumes `run.requested` (recorded in the ledger) and `model.evaluated`: register the version,
 * record the verdict and move the champion alias when it passed.
 */
export async function consumeRegistryEvents(rt: ServiceRuntime): Promise<void> {
  await rt.consume({
    name: 'run-requested',
    event: EVENTS.runRequested,
    handle: (ev, tx) => recordRunRequested(tx, ev.decode(EVENTS.runRequested.schema)),
  });
  await rt.consume({
    name: 'model-evaluated',
    event: EVENTS.modelEvaluated,
    handle: (ev, tx) => registerEvaluated(rt, tx, ev.decode(EVENTS.modelEvaluated.schema), ev.traceId),
  });
}
