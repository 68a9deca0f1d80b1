import { z } from 'zod';

/**
 * What an alert can be about:
 * - `run-failed`: a stage could not do its work and the run stopped;
 * - `batch-quarantined`: a batch was rejected, or quarantined more than `quarantineShare` of its rows;
 * - `drift-trigger` / `performance-trigger`: a drift, or a performance or business, policy fired;
 * - `promotion-blocked`: the gates failed or were inconclusive, so the champion stays;
 * - `rollback`: a progressive rollout rolled its candidate back.
 */
export const ALERT_KINDS = ['run-failed', 'batch-quarantined', 'drift-trigger', 'performance-trigger', 'promotion-blocked', 'rollback'] as const;

/** The zod schema of one alert kind. */
export const alertKind = z.enum(ALERT_KINDS);
/** One alert kind. */
export type AlertKind = (typeof ALERT_KINDS)[number];

// Only variables of this prefix can be named: a spec author must not be able to point the
// signing key at the service's other settings (database URL, object-store keys…).
const SECRET_ENV = /^REFIT_WEBHOOK_[A-Z0-9_]+$/;

const webhook = z.strictObject({
  /** Unique within the spec; deliveries are recorded under it. */
  name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes, starting with a letter'),
  /** Where alerts are POSTed (http or https). */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /**
   * Name of the trigger service's environment variable that holds the HMAC-SHA256 signing secret
   * (`REFIT_WEBHOOK_…`); the secret itself never goes in the spec.
   */
  secretEnv: z.string().regex(SECRET_ENV, 'must name an environment variable of the trigger service starting with REFIT_WEBHOOK_ (the secret itself never goes in the spec)'),
  /** The kinds sent to this webhook. Default: every kind. */
  kinds: z.array(alertKind).min(1).optional(),
});

/** Defaults of `alerts.retry`. */
export const ALERT_RETRY_DEFAULTS = { maxAttempts: 8, backoffMs: 1000, maxBackoffMs: 300_000, timeoutMs: 5000 };

const retry = z
  .strictObject({
    /** Attempts per delivery before it is marked failed. Default 8. */
    maxAttempts: z.number().int().min(1).max(50).default(ALERT_RETRY_DEFAULTS.maxAttempts),
    /** Delay before the first retry, ms; it doubles with each failure (with jitter). Default 1000. */
    backoffMs: z.number().int().min(10).default(ALERT_RETRY_DEFAULTS.backoffMs),
    /** Longest delay between two attempts, ms. Default 300000 (5 minutes). */
    maxBackoffMs: z.number().int().min(10).default(ALERT_RETRY_DEFAULTS.maxBackoffMs),
    /** How long one attempt may take before it counts as failed, ms. Default 5000. */
    timeoutMs: z.number().int().min(100).max(60_000).default(ALERT_RETRY_DEFAULTS.timeoutMs),
  })
  .superRefine((r, ctx) => {
    if (r.maxBackoffMs < r.backoffMs) ctx.addIssue({ code: 'custom', path: ['maxBackoffMs'], message: `must be at least backoffMs (${r.backoffMs})` });
  });

/**
 * `alerts:` — who is told when something needs a person. Every alert is published on
 * `<prefix>.alert.raised` whatever this section says; `webhooks` also receive it as a signed POST,
 * retried with exponential backoff until `retry.maxAttempts`.
 */
export const alertsSection = z
  .strictObject({
    /** A batch that quarantines more than this share of its rows raises `batch-quarantined` (a rejected batch always does). Default 0.05. */
    quarantineShare: z.number().min(0).max(1).default(0.05),
    /** Receivers of the alerts. Default none. */
    webhooks: z.array(webhook).default([]),
    /** Delivery retries. */
    retry: retry.default(ALERT_RETRY_DEFAULTS),
  })
  .superRefine((a, ctx) => {
    a.webhooks.forEach((w, i) => {
      if (a.webhooks.findIndex((o) => o.name === w.name) !== i) ctx.addIssue({ code: 'custom', path: ['webhooks', i, 'name'], message: `duplicate webhook '${w.name}'` });
    });
  });

/** Defaults of `alerts:` when it is left out: alerts are published on NATS, no webhook. */
export const ALERTS_DEFAULTS: z.output<typeof alertsSection> = { quarantineShare: 0.05, webhooks: [], retry: ALERT_RETRY_DEFAULTS };
