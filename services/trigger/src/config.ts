import { InvalidInputError, loadBaseConfig, type BaseConfig } from '@refit/platform';
import { parseWebhookAllowList, type WebhookAllowList } from './webhook-address.js';

/** The trigger service's configuration. */
export type TriggerConfig = BaseConfig & {
  /** How often schedules and maximum-age policies are evaluated, in ms (REFIT_TRIGGER_TICK_MS; default 1000). */
  tickMs: number;
  /** How often due webhook deliveries are looked for, in ms (REFIT_ALERT_POLL_MS; default 500). */
  alertPollMs: number;
  /**
   * Webhook signing secrets: every `REFIT_WEBHOOK_*` variable, by name (a spec's
   * `alerts.webhooks[].secretEnv` names one). Default none.
   */
  webhookSecrets: Readonly<Record<string, string>>;
  /**
   * Non-public addresses and hosts alert webhooks may reach (REFIT_ALERT_WEBHOOK_ALLOW:
   * comma-separated CIDRs, addresses, host names or `*.suffix` names). Default none: webhooks reach
   * public addresses only.
   */
  alertWebhookAllow: WebhookAllowList;
};

function millis(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = Number(env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 10) throw new InvalidInputError(`${name} must be a whole number of milliseconds >= 10; got '${env[name]}'`);
  return v;
}

/** Reads and validates the trigger service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<TriggerConfig> {
  const webhookSecrets = Object.freeze(Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('REFIT_WEBHOOK_') && !!e[1])));
  return Object.freeze({
    ...loadBaseConfig('trigger', { defaultGrpcPort: 50051, env }),
    tickMs: millis(env, 'REFIT_TRIGGER_TICK_MS', 1000),
    alertPollMs: millis(env, 'REFIT_ALERT_POLL_MS', 500),
    webhookSecrets,
    alertWebhookAllow: parseWebhookAllowList(env.REFIT_ALERT_WEBHOOK_ALLOW),
  });
}
