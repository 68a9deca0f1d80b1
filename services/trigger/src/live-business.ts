import { compileExpression, evaluateOnCounts, type PipelineSpec } from '@refit/spec';

/**
 * A monitoring window's metrics with the spec's business metrics added, computed from the
 * window's confusion counts (the deployer reports tp, fp, tn and fn at the served version's own
 * threshold). Metrics that read a column cannot be computed from counts and are left out (the spec
 * refuses a performance trigger on them).
 */
export function withBusinessMetrics(spec: Pick<PipelineSpec, 'business'>, metrics: Readonly<Record<string, number>>): Record<string, number> {
  const out = { ...metrics };
  const { tp, fp, tn, fn } = metrics;
  if (!spec.business || [tp, fp, tn, fn].some((c) => c === undefined)) return out;
  for (const [name, m] of Object.entries(spec.business.metrics)) {
    const v = evaluateOnCounts(compileExpression(m.expr), { tp, fp, tn, fn }, spec.business.costs);
    if (Number.isFinite(v)) out[name] = v;
  }
  return out;
}
