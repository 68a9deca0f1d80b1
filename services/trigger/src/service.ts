import { TriggerService } from '@refit/contracts';
import { implement, type ServiceRuntime } from '@refit/platform';
import { consumeAlertSources } from './alert-sources.js';
import type { TriggerConfig } from './config.js';
import { consumeStageEvents } from './events.js';
import { consumeExternalEvents, startExternalRequests } from './external.js';
import { triggerMetrics } from './metrics.js';
import type { Clock } from './policies.js';
import { startScheduler } from './scheduler.js';
import { createTriggerHandlers } from './server.js';
import type { ResolveHost } from './webhook-address.js';
import { startWebhookDelivery } from './webhook-delivery.js';

/** What the trigger service can be given instead of the real world (tests inject a clock, or DNS answers). */
export type TriggerDeps = {
  /** Default: the system clock. */
  clock?: Clock;
  /** Resolver of webhook host names. Default: `dns.lookup`. */
  resolveHost?: ResolveHost;
};

/** Registers the trigger service's consumers, scheduler and gRPC handlers on a started runtime. */
export async function startTriggerService(rt: ServiceRuntime, config: Readonly<TriggerConfig>, deps: TriggerDeps = {}): Promise<void> {
  // Its metric families exist from the start (at zero), not from their first event.
  triggerMetrics(rt.metrics);
  const clock = deps.clock ?? (() => new Date());
  await consumeStageEvents(rt, clock);
  const requests = startExternalRequests(rt, clock);
  rt.onClose(() => requests.stop());
  await consumeExternalEvents(rt, clock, requests);
  const scheduler = startScheduler(rt, { clock, tickMs: config.tickMs });
  rt.onClose(() => scheduler.stop());
  await consumeAlertSources(rt);
  const addresses = { allow: config.alertWebhookAllow, resolve: deps.resolveHost };
  const webhooks = startWebhookDelivery(rt, { pollMs: config.alertPollMs, secrets: config.webhookSecrets, addresses });
  rt.onClose(() => webhooks.stop());
  await rt.serve(implement(TriggerService, createTriggerHandlers(rt, clock, addresses)));
}
