import { FeatureService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import { LIVE_DRIFT_DEFAULTS, type FeatureConfig } from './config.js';
import { consumeFeatureEvents, consumeLiveDriftEvents } from './events.js';
import { featureMetrics } from './metrics.js';
import { createFeatureHandlers } from './server.js';

/** Registers the feature service's consumers and gRPC handlers on a started runtime (live drift settings default to {@link LIVE_DRIFT_DEFAULTS}). */
export async function startFeatureService(rt: ServiceRuntime, config: Partial<Pick<FeatureConfig, 'drift'>> = {}): Promise<void> {
  // Its metric families exist from the start (at zero), not from their first event.
  featureMetrics(rt.metrics);
  await consumeFeatureEvents(rt);
  await consumeLiveDriftEvents(rt, config.drift ?? LIVE_DRIFT_DEFAULTS);
  await rt.serve(implement(FeatureService, createFeatureHandlers(rt)));
}
