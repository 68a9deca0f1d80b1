import { EvaluatorService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import type { EvaluatorConfig } from './config.js';
import { consumeEvaluatorEvents } from './events.js';
import { evaluatorMetrics } from './metrics.js';
import { createEvaluatorHandlers } from './server.js';

/** Registers the evaluator service's consumer and gRPC handlers on a started runtime. */
export async function startEvaluatorService(rt: ServiceRuntime, config: Readonly<EvaluatorConfig>): Promise<void> {
  // Its metric families exist from the start (at zero), not from their first event.
  evaluatorMetrics(rt.metrics);
  await consumeEvaluatorEvents(rt, config);
  await rt.serve(implement(EvaluatorService, createEvaluatorHandlers(rt)));
}
