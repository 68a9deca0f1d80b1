import { z } from 'zod';

/** Metrics a gate can use. */
export const metricName = z.enum(['accuracy', 'auc', 'logLoss', 'precision', 'recall', 'f1', 'brier']);

/** `gates:` — what a candidate must show to be promoted. */
export const gatesSection = z.strictObject({
  /** Absolute floors every candidate must meet (for log loss and brier: ceilings). */
  floors: z.partialRecord(metricName, z.number()).default({ accuracy: 0.5 }),
  /** Comparison with the champion: not worse than it by more than `margin` on `metric`. */
  champion: z
    .strictObject({ metric: metricName.default('auc'), margin: z.number().min(0).default(0) })
    .default({ metric: 'auc', margin: 0 }),
});

/** Defaults of `gates:` when it is left out. */
export const GATES_DEFAULTS = { floors: { accuracy: 0.5 }, champion: { metric: 'auc', margin: 0 } } as const;
