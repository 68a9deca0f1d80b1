/** The pipeline spec: its schema, parsing and validation with errors that name the bad field. */
export * from './pipeline-spec.js';
export * from './parse.js';
export { DEFAULT_SPEC_LIMITS, type SpecLimits } from './limits.js';
export { minCronIntervalSeconds } from './cron-interval.js';
export * from './infer-schema.js';
export * from './spec-problems.js';
export { lowerIsBetter } from './sections/gates.js';
export { ALERT_KINDS, type AlertKind } from './sections/alerts.js';
export { isBusinessMetric, lowerIsBetterIn } from './sections/business.js';
export { BUILTIN_METRIC_NAMES } from './sections/business-names.js';
export { compileExpression, evaluateOnCounts, ExpressionError, type BusinessRows, type CompiledExpression, type ConfusionCounts, type Costs } from './business-expr.js';
