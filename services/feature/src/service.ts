import { FeatureService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import { consumeFeatureEvents } from './events.js';
import { createFeatureHandlers } from './server.js';

/** Registers the feature service's consumer and gRPC handlers on a started runtime. */
export async function startFeatureService(rt: ServiceRuntime): Promise<void> {
  await consumeFeatureEvents(rt);
  await rt.serve(implement(FeatureService, createFeatureHandlers(rt)));
}
