import { parseBackendChoice, type BackendPreference } from '@refit/modeling';
import { loadBaseConfig, type BaseConfig } from '@refit/platform';

/** The trainer service's configuration. */
export type TrainerConfig = BaseConfig & {
  /** TensorFlow.js backend (REFIT_TF_BACKEND): auto (tfjs-node when installed, else wasm), wasm, cpu or tensorflow. Default auto. */
  tfBackend: BackendPreference;
};

/** Reads and validates the trainer service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<TrainerConfig> {
  return Object.freeze({ ...loadBaseConfig('trainer', { defaultGrpcPort: 50054, env }), tfBackend: parseBackendChoice(env.REFIT_TF_BACKEND) });
}
