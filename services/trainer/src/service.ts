import { TrainerService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import type { TrainerConfig } from './config.js';
import { consumeStreamSegments, consumeTrainerEvents } from './events.js';
import { trainerMetrics } from './metrics.js';
import { createTrainerHandlers } from './server.js';
import { createChampionSource } from './stream-champion.js';

/** Registers the trainer service's consumer and gRPC handlers on a started runtime. */
export async function startTrainerService(rt: ServiceRuntime, config: Readonly<TrainerConfig>): Promise<void> {
  // Its metric families exist from the start (at zero), not from their first event.
  trainerMetrics(rt.metrics);
  await consumeTrainerEvents(rt, config);
  // The online learner of stream-fed pipelines (data.source.stream with a continuous online trigger).
  const champion = createChampionSource({ connect: rt.connect.bind(rt), store: rt.store, registryAddress: config.registryAddress });
  rt.onClose(async () => champion.close());
  await consumeStreamSegments(rt, config, champion);
  await rt.serve(implement(TrainerService, createTrainerHandlers(rt)));
}
