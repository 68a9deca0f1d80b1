import { InvalidInputError, loadBaseConfig, type BaseConfig } from '@refit/platform';

/** How live feature windows are compared with the training data of the served model. */
export type LiveDriftOptions = {
  /** A column of a window with fewer rows is not-enough-data (REFIT_DRIFT_MIN_SAMPLES; default 50). */
  minSamples: number;
  /** A column drifts when its PSI reaches this (REFIT_DRIFT_PSI; default 0.25, the usual "significant shift"). */
  psiThreshold: number;
};

/** Defaults of {@link LiveDriftOptions}. */
export const LIVE_DRIFT_DEFAULTS: Readonly<LiveDriftOptions> = Object.freeze({ minSamples: 50, psiThreshold: 0.25 });

/** The feature service's configuration. */
export type FeatureConfig = BaseConfig & {
  /** Live drift settings (see {@link LiveDriftOptions}). */
  drift: LiveDriftOptions;
};

/** Reads and validates the feature service's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<FeatureConfig> {
  const minSamples = Number(env.REFIT_DRIFT_MIN_SAMPLES ?? LIVE_DRIFT_DEFAULTS.minSamples);
  if (!Number.isInteger(minSamples) || minSamples < 1) throw new InvalidInputError(`REFIT_DRIFT_MIN_SAMPLES must be a whole number >= 1; got '${env.REFIT_DRIFT_MIN_SAMPLES}'`);
  const psiThreshold = Number(env.REFIT_DRIFT_PSI ?? LIVE_DRIFT_DEFAULTS.psiThreshold);
  if (!Number.isFinite(psiThreshold) || psiThreshold <= 0) throw new InvalidInputError(`REFIT_DRIFT_PSI must be a positive number; got '${env.REFIT_DRIFT_PSI}'`);
  return Object.freeze({ ...loadBaseConfig('feature', { defaultGrpcPort: 50053, env }), drift: Object.freeze({ minSamples, psiThreshold }) });
}
