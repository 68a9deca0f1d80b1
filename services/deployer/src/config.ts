import { parseBackendChoice, type BackendPreference } from '@refit/modeling';
import { InvalidInputError, loadBaseConfig, serviceAddress, type BaseConfig } from '@refit/platform';

/** The deployer service's configuration. */
export type DeployerConfig = BaseConfig & {
  /** TensorFlow.js backend (REFIT_TF_BACKEND): auto, wasm, cpu or tensorflow. Default auto. */
  tfBackend: BackendPreference;
  /** Address of the registry, asked for model versions (REFIT_REGISTRY_ADDR; default 127.0.0.1:50056). */
  registryAddress: string;
  /** Length of a monitoring window in ms (REFIT_MONITOR_WINDOW_MS; default 60000). */
  monitorWindowMs: number;
  /** How often active rollouts are analysed, ms (REFIT_ROLLOUT_TICK_MS; default 10000). */
  rolloutTickMs: number;
  /**
   * Days the prediction log keeps a prediction in Postgres (REFIT_PREDICTION_RETENTION_DAYS; default
   * 30; 0 keeps everything). Older ones are archived to the object store, then deleted.
   */
  predictionRetentionDays: number;
  /** Most rows one Predict or SendFeedback call may carry (REFIT_PREDICT_MAX_ROWS; default 10000). */
  predictMaxRows: number;
  /** Most columns a Predict row may have (REFIT_PREDICT_MAX_COLUMNS; default 1000). */
  predictMaxColumns: number;
  /**
   * How often each replica re-reads what it must serve (champions, rollout candidates and weights)
   * from the database, ms (REFIT_SERVING_SYNC_MS; default 250).
   */
  servingSyncMs: number;
  /**
   * Most predictions waiting for the prediction log's writer before new ones are dropped (and
   * counted in refit_prediction_log_dropped_rows_total) rather than slow Predict down
   * (REFIT_PREDICTION_LOG_MAX_QUEUED; default 200000, about 30 MB).
   */
  predictionLogMaxQueued: number;
};

/** Reads and validates the deployer service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<DeployerConfig> {
  return Object.freeze({
    ...loadBaseConfig('deployer', { defaultGrpcPort: 50057, env }),
    tfBackend: parseBackendChoice(env.REFIT_TF_BACKEND),
    registryAddress: serviceAddress('registry', env),
    monitorWindowMs: windowMs(env.REFIT_MONITOR_WINDOW_MS),
    rolloutTickMs: tickMs(env.REFIT_ROLLOUT_TICK_MS),
    predictionRetentionDays: retentionDays(env.REFIT_PREDICTION_RETENTION_DAYS),
    predictMaxRows: positiveInt('REFIT_PREDICT_MAX_ROWS', env.REFIT_PREDICT_MAX_ROWS, 10_000),
    predictMaxColumns: positiveInt('REFIT_PREDICT_MAX_COLUMNS', env.REFIT_PREDICT_MAX_COLUMNS, 1_000),
    servingSyncMs: positiveInt('REFIT_SERVING_SYNC_MS', env.REFIT_SERVING_SYNC_MS, 250),
    predictionLogMaxQueued: positiveInt('REFIT_PREDICTION_LOG_MAX_QUEUED', env.REFIT_PREDICTION_LOG_MAX_QUEUED, 200_000),
  });
}

function windowMs(value: string | undefined): number {
  const ms = Number(value ?? 60_000);
  if (!Number.isInteger(ms) || ms < 100) throw new InvalidInputError(`REFIT_MONITOR_WINDOW_MS must be a whole number of milliseconds >= 100; got '${value}'`);
  return ms;
}

function tickMs(value: string | undefined): number {
  const ms = Number(value ?? 10_000);
  if (!Number.isInteger(ms) || ms < 10) throw new InvalidInputError(`REFIT_ROLLOUT_TICK_MS must be a whole number of milliseconds >= 10; got '${value}'`);
  return ms;
}

function retentionDays(value: string | undefined): number {
  const days = Number(value ?? 30);
  if (!Number.isFinite(days) || days < 0) throw new InvalidInputError(`REFIT_PREDICTION_RETENTION_DAYS must be a number of days >= 0 (0 keeps everything); got '${value}'`);
  return days;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`${name} must be a whole number >= 1; got '${value}'`);
  return n;
}
