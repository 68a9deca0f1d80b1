import { loadBaseConfig, type BaseConfig } from '@refit/platform';

/** The trigger service's configuration (only the platform's settings so far). */
export type TriggerConfig = BaseConfig;

/** Reads and validates the trigger service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<TriggerConfig> {
  return loadBaseConfig('trigger', { defaultGrpcPort: 50051, env });
}
