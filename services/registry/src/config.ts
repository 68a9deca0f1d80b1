import { loadBaseConfig, type BaseConfig } from '@refit/platform';

/** The registry service's configuration (only the platform's settings so far). */
export type RegistryConfig = BaseConfig;

/** Reads and validates the registry service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<RegistryConfig> {
  return loadBaseConfig('registry', { defaultGrpcPort: 50056, env });
}
