import { InvalidInputError, loadBaseConfig, type BaseConfig } from '@refit/platform';

/** The trigger service's configuration. */
export type TriggerConfig = BaseConfig & {
  /** How often schedules and maximum-age policies are evaluated, in ms (REFIT_TRIGGER_TICK_MS; default 1000). */
  tickMs: number;
};

/** Reads and validates the trigger service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<TriggerConfig> {
  const tick = Number(env.REFIT_TRIGGER_TICK_MS ?? 1000);
  if (!Number.isInteger(tick) || tick < 10) throw new InvalidInputError(`REFIT_TRIGGER_TICK_MS must be a whole number of milliseconds >= 10; got '${env.REFIT_TRIGGER_TICK_MS}'`);
  return Object.freeze({ ...loadBaseConfig('trigger', { defaultGrpcPort: 50051, env }), tickMs: tick });
}
