import { loadBaseConfig, serviceAddress, type BaseConfig } from '@refit/platform';

/** The ingestion service's configuration. */
export type IngestionConfig = BaseConfig & {
  /** Address of the trigger service, asked for a pipeline spec not yet seen (REFIT_TRIGGER_ADDR; default 127.0.0.1:50051). */
  triggerAddress: string;
};

/** Reads and validates the ingestion service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<IngestionConfig> {
  return Object.freeze({ ...loadBaseConfig('ingestion', { defaultGrpcPort: 50052, env }), triggerAddress: serviceAddress('trigger', env) });
}
