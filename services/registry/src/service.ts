import { RegistryService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import { consumeRegistryEvents } from './events.js';
import { createRegistryHandlers } from './server.js';

/** Registers the registry service's consumer and gRPC handlers on a started runtime. */
export async function startRegistryService(rt: ServiceRuntime): Promise<void> {
  await consumeRegistryEvents(rt);
  await rt.serve(implement(RegistryService, createRegistryHandlers(rt)));
}
