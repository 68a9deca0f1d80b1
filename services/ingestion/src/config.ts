import { parseBackendChoice, type BackendPreference } from '@refit/modeling';
import { InvalidInputError, loadBaseConfig, serviceAddress, type BaseConfig } from '@refit/platform';
import { loadImportSources, type ImportSources } from './import-sources.js';

/** The ingestion service's configuration. */
export type IngestionConfig = BaseConfig & {
  /** Address of the trigger service, asked for a pipeline spec not yet seen (REFIT_TRIGGER_ADDR; default 127.0.0.1:50051). */
  triggerAddress: string;
  /** Address of the registry, asked for the champion that scores each batch's labels (REFIT_REGISTRY_ADDR; default 127.0.0.1:50056). */
  registryAddress: string;
  /** Address of the deployer, asked for labeled predictions when a pipeline trains on feedback (REFIT_DEPLOYER_ADDR; default 127.0.0.1:50057). */
  deployerAddress: string;
  /** TensorFlow.js backend the champion scores on (REFIT_TF_BACKEND): auto, wasm, cpu or tensorflow. Default auto. */
  tfBackend: BackendPreference;
  /**
   * Longest a push waits for the champion's verdict on its labels: asking the registry, loading the
   * model, scoring (REFIT_CHAMPION_CHECK_TIMEOUT_MS; default 10000). Past it the check is skipped
   * and the batch says so.
   */
  championCheckTimeoutMs: number;
  /**
   * The only sources ImportData reads: the S3 prefixes and Postgres connections declared in the
   * YAML or JSON file `REFIT_IMPORT_SOURCES` names, with the credentials of the variables each
   * source names (see import-sources.ts). Default none: every import is refused.
   */
  importSources: ImportSources;
};

function timeoutMs(value: string | undefined): number {
  const ms = Number(value ?? 10_000);
  if (!Number.isInteger(ms) || ms < 1) throw new InvalidInputError(`REFIT_CHAMPION_CHECK_TIMEOUT_MS must be a whole number of milliseconds >= 1; got '${value}'`);
  return ms;
}

/** Reads and validates the ingestion service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<IngestionConfig> {
  const base = loadBaseConfig('ingestion', { defaultGrpcPort: 50052, env });
  return Object.freeze({
    ...base,
    triggerAddress: serviceAddress('trigger', env),
    registryAddress: serviceAddress('registry', env),
    deployerAddress: serviceAddress('deployer', env),
    tfBackend: parseBackendChoice(env.REFIT_TF_BACKEND),
    championCheckTimeoutMs: timeoutMs(env.REFIT_CHAMPION_CHECK_TIMEOUT_MS),
    importSources: loadImportSources(env, base.s3),
  });
}
