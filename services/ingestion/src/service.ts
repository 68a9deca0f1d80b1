import { IngestionService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import type { IngestionConfig } from './config.js';
import { consumeIngestionEvents } from './events.js';
import { createIngestionHandlers } from './server.js';

/** Registers the ingestion service's consumers and gRPC handlers on a started runtime. */
export async function startIngestionService(rt: ServiceRuntime, config: Readonly<IngestionConfig>): Promise<void> {
  await consumeIngestionEvents(rt, config);
  await rt.serve(implement(IngestionService, createIngestionHandlers(rt, config)));
}
