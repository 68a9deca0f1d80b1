import { retryDelayMs, withTransaction, type ServiceRuntime } from '@refit/platform';
import { claimDue, finishAttempt, type AttemptResult, type ClaimedDelivery } from './alert-store.js';
import { alertBody } from './alerts.js';
import { triggerMetrics } from './metrics.js';
import { isWebhookAddressRefused, type WebhookAddressPolicy } from './webhook-address.js';
import { postWebhook } from './webhook-post.js';
import { ALERT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './webhook-signing.js';

/** Options of {@link startWebhookDelivery}. */
export type WebhookDeliveryOptions = {
  /** How often due deliveries are looked for, ms. */
  pollMs: number;
  /** Signing secrets by environment variable name (the config's `webhookSecrets`). */
  secrets: Readonly<Record<string, string>>;
  /** Which addresses a webhook may reach, checked again at every attempt (the config's allow-list). */
  addresses: WebhookAddressPolicy;
  /** Most HTTP calls in flight at once. Default 8. */
  concurrency?: number;
};

/** The running delivery worker. */
export type WebhookDelivery = { stop(): Promise<void> };

// Beyond its own timeout, how long a claimed delivery stays leased to the worker that claimed it.
const LEASE_MARGIN_MS = 5000;

/** POSTs one alert to one webhook and says how the attempt ended. Never throws. */
async function attempt(d: ClaimedDelivery, secret: string | undefined, policy: WebhookAddressPolicy, signal: AbortSignal): Promise<AttemptResult> {
  const n = d.attempts + 1;
  const startedAt = new Date();
  const done = (httpStatus: number | null, error: string | null): AttemptResult => {
    const ok = error === null;
    const outcome = ok ? 'delivered' : n >= d.max_attempts ? 'failed' : 'retry';
    const retryInMs = outcome === 'retry' ? retryDelayMs({ baseMs: d.backoff_ms, maxDelayMs: d.max_backoff_ms }, n) : undefined;
    return { attempt: n, startedAt, durationMs: Date.now() - startedAt.getTime(), httpStatus, error, outcome, retryInMs };
  };
  // Unsigned alerts would teach receivers to accept unsigned requests: fail, and say why.
  if (!secret) return { ...done(null, `secret ${d.secret_env} is not set in the trigger service's environment; the alert is not sent unsigned`), outcome: 'failed', retryInMs: undefined };
  const body = alertBody(d.alert);
  const timeout = AbortSignal.timeout(d.timeout_ms);
  try {
    const status = await postWebhook({
      url: d.url,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'refit-alerts/1',
        [SIGNATURE_HEADER]: signatureHeader(secret, Math.floor(Date.now() / 1000), body),
        [ALERT_ID_HEADER]: d.alert.id,
      },
      body,
      signal: AbortSignal.any([signal, timeout]),
      policy,
    });
    return done(status, status >= 200 && status < 300 ? null : `HTTP ${status}`);
  } catch (e) {
    // The address stays refused until the operator's configuration changes: retrying cannot help.
    if (isWebhookAddressRefused(e)) return { ...done(null, `not sent: ${e.message}`), outcome: 'failed', retryInMs: undefined };
    const err = e as NodeJS.ErrnoException;
    return done(null, timeout.aborted ? `no answer within ${d.timeout_ms} ms` : (err.code ?? err.message));
  }
}

/**
 * Delivers queued alerts to their webhooks in the background: claims due deliveries (skipping
 * those another replica holds), POSTs each signed, and records every attempt; a failure is tried
 * again after an exponential backoff with jitter until the delivery's `maxAttempts`, then marked
 * failed. Each attempt checks the webhook's address again and connects only to what it checked; an
 * address the policy refuses (DNS changed, or the operator's allow-list) fails the delivery at once,
 * nothing sent, with the reason. A slow or dead webhook occupies one of `concurrency` slots and never blocks consumers,
 * runs or the other webhooks. `stop()` aborts calls in flight; their leases run out and they are
 * tried again after a restart.
 */
export function startWebhookDelivery(rt: Pick<ServiceRuntime, 'pool' | 'metrics' | 'logger'>, opts: WebhookDeliveryOptions): WebhookDelivery {
  const slots = opts.concurrency ?? 8;
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;

  const deliver = async (d: ClaimedDelivery): Promise<void> => {
    const result = await attempt(d, opts.secrets[d.secret_env], opts.addresses, abort.signal);
    if (abort.signal.aborted) return;
    await withTransaction(rt.pool, (tx) => finishAttempt(tx, d.id, result));
    triggerMetrics(rt.metrics).alertDeliveries.inc({ state: result.outcome });
    const log = { alertId: d.alert.id, webhook: d.webhook, attempt: result.attempt, httpStatus: result.httpStatus, ms: result.durationMs };
    if (result.outcome === 'delivered') rt.logger.debug(log, 'alert delivered');
    else if (result.outcome === 'retry') rt.logger.warn({ ...log, error: result.error, retryInMs: result.retryInMs }, 'alert delivery failed; will retry');
    else rt.logger.error({ ...log, error: result.error }, 'alert delivery failed for good');
  };

  const tick = async (): Promise<void> => {
    const free = slots - inFlight.size;
    if (free <= 0) return;
    for (const d of await claimDue(rt.pool, free, LEASE_MARGIN_MS)) {
      const p = deliver(d)
        .catch((e: unknown) => rt.logger.error({ err: e, alertId: d.alert.id, webhook: d.webhook }, 'could not record an alert delivery'))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  };

  const loop = (): void => {
    timer = setTimeout(() => {
      ticking = tick()
        .catch((e: unknown) => rt.logger.warn({ err: e }, 'webhook delivery poll failed'))
        .finally(() => {
          if (!abort.signal.aborted) loop();
        });
    }, opts.pollMs);
  };
  loop();

  return {
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await ticking;
      await Promise.allSettled([...inFlight]);
    },
  };
}
