import { z } from 'zod';

/** Names of the built-in metrics (reported or gated); a business metric may not take one. */
export const BUILTIN_METRIC_NAMES: ReadonlySet<string> = new Set(['accuracy', 'auc', 'logLoss', 'precision', 'recall', 'f1', 'brier', 'ece', 'averagePrecision', 'mae', 'rmse', 'r2']);

/** A business metric's name (`business.metrics`): an identifier that is not a built-in metric's. */
export const businessMetricName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'must be a letter followed by letters, digits or underscores')
  .refine((name) => !BUILTIN_METRIC_NAMES.has(name), { message: 'is a built-in metric name (or one without a paired test); a business metric needs a name of its own' });
