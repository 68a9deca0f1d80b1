import { EvaluatorService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import type { EvaluatorConfig } from './config.js';
import { consumeEvaluatorEvents } from './events.js';
import { createEvaluatorHandlers } from './server.js';

/** Registers the evaluator service's consumer and gRPC handlers on a started runtime. */
export async function startEvaluatorService(rt: ServiceRuntime, config: Readonly<EvaluatorConfig>): Promise<void> {
  await consumeEvaluatorEvents(rt, config);
  await rt.serve(implement(EvaluatorService, createEvaluatorHandlers(rt)));
}
