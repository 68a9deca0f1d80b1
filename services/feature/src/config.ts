import { loadBaseConfig, type BaseConfig } from '@refit/platform';

/** The feature service's configuration (only the platform's settings so far). */
export type FeatureConfig = BaseConfig;

/** Reads and validates the feature service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<FeatureConfig> {
  return loadBaseConfig('feature', { defaultGrpcPort: 50053, env });
}
