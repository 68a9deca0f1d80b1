import { TriggerService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import { consumeAlertSources } from './alert-sources.js';
import type { TriggerConfig } from './config.js';
import { consumeStageEvents } from './events.js';
import { consumeExternalEvents } from './external.js';
import type { Clock } from './policies.js';
import { startScheduler } from './scheduler.js';
import { createTriggerHandlers } from './server.js';
import { startWebhookDelivery } from './webhook-delivery.js';

/** What the trigger service can be given instead of the real world (tests inject a clock). */
export type TriggerDeps = { clock?: Clock };

/** Registers the trigger service's consumers, scheduler and gRPC handlers on a started runtime. */
export async function startTriggerService(rt: ServiceRuntime, config: Readonly<TriggerConfig>, deps: TriggerDeps = {}): Promise<void> {
  const clock = deps.clock ?? (() => new Date());
  await consumeStageEvents(rt, clock);
  await consumeExternalEvents(rt, clock);
  const scheduler = startScheduler(rt, { clock, tickMs: config.tickMs });
  rt.onClose(() => scheduler.stop());
  await consumeAlertSources(rt);
  const webhooks = startWebhookDelivery(rt, { pollMs: config.alertPollMs, secrets: config.webhookSecrets });
  rt.onClose(() => webhooks.stop());
  await rt.serve(implement(TriggerService, createTriggerHandlers(rt, clock)));
}
