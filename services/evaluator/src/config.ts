import { parseBackendChoice, type BackendPreference } from '@refit/modeling';
import { loadBaseConfig, serviceAddress, type BaseConfig } from '@refit/platform';

/** The evaluator service's configuration. */
export type EvaluatorConfig = BaseConfig & {
  /** TensorFlow.js backend (REFIT_TF_BACKEND): auto, wasm, cpu or tensorflow. Default auto. */
  tfBackend: BackendPreference;
  /** Address of the registry, asked for the champion (REFIT_REGISTRY_ADDR; default 127.0.0.1:50056). */
  registryAddress: string;
};

/** Reads and validates the evaluator service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<EvaluatorConfig> {
  return Object.freeze({
    ...loadBaseConfig('evaluator', { defaultGrpcPort: 50055, env }),
    tfBackend: parseBackendChoice(env.REFIT_TF_BACKEND),
    registryAddress: serviceAddress('registry', env),
  });
}
