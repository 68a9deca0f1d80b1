import { TriggerService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import { consumeStageEvents } from './events.js';
import { createTriggerHandlers } from './server.js';

/** Registers the trigger service's consumers and gRPC handlers on a started runtime. */
export async function startTriggerService(rt: ServiceRuntime): Promise<void> {
  await consumeStageEvents(rt);
  await rt.serve(implement(TriggerService, createTriggerHandlers(rt)));
}
