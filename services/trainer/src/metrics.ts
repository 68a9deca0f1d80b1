/** The trainer's Prometheus metrics: trainings and their trials, by pipeline. */
import { DURATION_BUCKETS, type ServiceMetrics } from '@refit/platform';

/** Defines (once) and returns the trainer's metric families in `metrics`. */
export function trainerMetrics(metrics: ServiceMetrics) {
  return {
    /** Compute time of a finished training (every trial), by pipeline and backend. */
    trainingSeconds: metrics.histogram({ name: 'refit_training_duration_seconds', help: 'Compute time of a finished training, by pipeline and backend', labelNames: ['pipeline', 'backend'], buckets: DURATION_BUCKETS }),
    /** Trials tried by finished trainings (1 without a search). */
    trials: metrics.counter({ name: 'refit_training_trials_total', help: 'Trials of finished trainings, by pipeline', labelNames: ['pipeline'] }),
  };
}
