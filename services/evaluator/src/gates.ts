import type { GateMetric, PipelineSpec } from '@refit/spec';

/** Metrics where a smaller value is better. */
const LOWER_IS_BETTER: ReadonlySet<GateMetric> = new Set<GateMetric>(['logLoss', 'brier']);

/** The outcome of one gate, with the sentence that explains it. */
export type GateResult = { gate: string; passed: boolean; reason: string };

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));

/**
 * Applies the spec's gates: every floor must hold; when there is a champion, the candidate must
 * not be worse than it by more than the margin on the chosen metric (both scored on the same rows).
 */
export function applyGates(
  gates: PipelineSpec['gates'],
  candidate: Record<string, number>,
  champion: { version: string; metrics: Record<string, number> } | undefined,
): GateResult[] {
  const results: GateResult[] = [];
  for (const [metric, bound] of Object.entries(gates.floors) as Array<[GateMetric, number]>) {
    const value = candidate[metric];
    const lower = LOWER_IS_BETTER.has(metric);
    if (value === undefined || !Number.isFinite(value)) {
      results.push({ gate: `floor:${metric}`, passed: false, reason: `${metric} could not be computed on the test split, so its floor ${fmt(bound)} cannot be checked` });
      continue;
    }
    const passed = lower ? value <= bound : value >= bound;
    const relation = lower ? (passed ? 'is within the ceiling' : 'is above the ceiling') : passed ? 'meets the floor' : 'is below the floor';
    results.push({ gate: `floor:${metric}`, passed, reason: `${metric} ${fmt(value)} ${relation} ${fmt(bound)}` });
  }
  if (!champion) {
    results.push({ gate: 'champion', passed: true, reason: 'no champion yet: the candidate is judged on its floors alone' });
    return results;
  }
  const { metric, margin } = gates.champion;
  const c = candidate[metric];
  const b = champion.metrics[metric];
  if (c === undefined || b === undefined || !Number.isFinite(c) || !Number.isFinite(b)) {
    results.push({ gate: 'champion', passed: false, reason: `${metric} could not be computed for both models, so the comparison with champion ${champion.version} is impossible` });
    return results;
  }
  // Signed so that positive always means "the candidate is better".
  const gain = LOWER_IS_BETTER.has(metric) ? b - c : c - b;
  const passed = gain >= -margin;
  const sign = c - b >= 0 ? '+' : '';
  const verdict = gain > 0 ? 'better than the champion' : passed ? `not worse than the champion beyond the margin ${fmt(margin)}` : `worse than the champion beyond the margin ${fmt(margin)}`;
  results.push({
    gate: 'champion',
    passed,
    reason: `${metric} ${fmt(c)} vs champion ${champion.version}'s ${fmt(b)} on the same ${'test rows'} (${sign}${fmt(c - b)}): ${verdict}`,
  });
  return results;
}
