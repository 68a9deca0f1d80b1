import { TrainerService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import type { TrainerConfig } from './config.js';
import { consumeTrainerEvents } from './events.js';
import { trainerMetrics } from './metrics.js';
import { createTrainerHandlers } from './server.js';

/** Registers the trainer service's consumer and gRPC handlers on a started runtime. */
export async function startTrainerService(rt: ServiceRuntime, config: Readonly<TrainerConfig>): Promise<void> {
  // Its metric families exist from the start (at zero), not from their first event.
  trainerMetrics(rt.metrics);
  await consumeTrainerEvents(rt, config);
  await rt.serve(implement(TrainerService, createTrainerHandlers(rt)));
}
