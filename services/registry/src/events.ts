import { EVENTS, type ServiceRuntime } from '@refit/platform';
import { recordRunRequested, registerEvaluated, type LedgerWriter } from './promotion.js';
import { registerStreamProven } from './stream-promotion.js';

/**
 * Consumes `run.requested` (recorded in the ledger) and `model.evaluated`: register the version,
 * record the verdict and move the champion alias when it passed; and `stream.proven` the same way.
 */
export async function consumeRegistryEvents(rt: Pick<ServiceRuntime, 'consume'>, writer: LedgerWriter): Promise<void> {
  await rt.consume({
    name: 'run-requested',
    event: EVENTS.runRequested,
    handle: (ev, tx) => recordRunRequested(tx, ev.decode(EVENTS.runRequested.schema), writer.ledgerKey),
  });
  await rt.consume({
    name: 'model-evaluated',
    event: EVENTS.modelEvaluated,
    handle: (ev, tx) => registerEvaluated(writer, tx, ev.decode(EVENTS.modelEvaluated.schema), ev.traceId),
  });
  // A stream learner's replacement, proven prequentially: registered and rolled out like a passing run.
  await rt.consume({
    name: 'stream-proven',
    event: EVENTS.streamProven,
    handle: (ev, tx) => registerStreamProven(writer, tx, ev.decode(EVENTS.streamProven.schema), ev.traceId),
  });
}
