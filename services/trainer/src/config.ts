import { readFileSync } from 'node:fs';
import { parseBackendChoice, type BackendPreference } from '@refit/modeling';
import { InvalidInputError, loadBaseConfig, serviceAddress, type BaseConfig } from '@refit/platform';

/** The trainer service's configuration. */
export type TrainerConfig = BaseConfig & {
  /** TensorFlow.js backend (REFIT_TF_BACKEND): auto (tfjs-node when installed, else wasm), wasm, cpu or tensorflow. Default auto. */
  tfBackend: BackendPreference;
  /** Address of the registry, asked for the champion when a spec warm-starts (REFIT_REGISTRY_ADDR; default 127.0.0.1:50056). */
  registryAddress: string;
  /**
   * Version of Refit recorded in each model's lineage: the root package.json version, plus
   * `+REFIT_CODE_VERSION` when that is set (e.g. a git commit). Default the package version.
   */
  codeVersion: string;
  /** Least time between two progress reports of a run, ms (REFIT_PROGRESS_INTERVAL_MS; default 500). */
  progressIntervalMs: number;
};

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    // A bundled deployment may not ship the workspace's package.json; REFIT_CODE_VERSION still applies.
    return '0.0.0';
  }
}

/** Reads and validates the trainer service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<TrainerConfig> {
  const extra = env.REFIT_CODE_VERSION?.trim();
  const interval = Number(env.REFIT_PROGRESS_INTERVAL_MS ?? 500);
  if (!Number.isFinite(interval) || interval < 0) throw new InvalidInputError(`REFIT_PROGRESS_INTERVAL_MS must be a number >= 0, got '${env.REFIT_PROGRESS_INTERVAL_MS}'`);
  return Object.freeze({
    ...loadBaseConfig('trainer', { defaultGrpcPort: 50054, env }),
    tfBackend: parseBackendChoice(env.REFIT_TF_BACKEND),
    registryAddress: serviceAddress('registry', env),
    codeVersion: extra ? `${packageVersion()}+${extra}` : packageVersion(),
    progressIntervalMs: interval,
  });
}
