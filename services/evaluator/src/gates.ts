import { holm, type FairnessReport, type Interval } from '@refit/ml';
import { lowerIsBetter, type FairnessRule, type GateMetric, type PipelineSpec } from '@refit/spec';
import type { PairedEvidence } from './comparison.js';
import type { ConsistencyEvaluation } from './consistency.js';

/** What a gate concluded: shown (pass), refuted (fail), or not enough evidence either way. */
export type GateOutcome = 'pass' | 'fail' | 'inconclusive';

/** The outcome of one gate, with the sentence that explains it. */
export type GateResult = { gate: string; outcome: GateOutcome; passed: boolean; reason: string };

/** One champion comparison with its evidence; `slice` set when it was tested within a slice. */
export type ComparisonResult = { slice?: { column: string; value: string }; evidence: PairedEvidence };

/** The fairness of both models for one rule, on the same rows. */
export type FairnessResult = { rule: FairnessRule; candidate: FairnessReport; champion?: FairnessReport };

/** Everything the gates judge. */
export type GateInput = {
  gates: PipelineSpec['gates'];
  candidate: Record<string, number>;
  champion?: { version: string; metrics: Record<string, number> };
  /** Paired comparisons with the champion (one per rule and slice). Default none. */
  comparisons?: ComparisonResult[];
  /** Fairness of the candidate (and champion) per fairness rule. Default none. */
  fairness?: FairnessResult[];
  /** Individual fairness (consistency) of both models, judged by `gates.consistency`. Default none. */
  consistency?: ConsistencyEvaluation;
  /** Which way each metric is better (business metrics: their spec goal). Default libs/spec's lowerIsBetter. */
  lowerIsBetter?: (metric: string) => boolean;
};

/** A metric value in gate sentences: four decimals. */
export const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
/** A difference in gate sentences, signed. */
export const signed = (x: number) => `${x >= 0 ? '+' : ''}${fmt(x)}`;
/** A p-value in gate sentences. */
export const pfmt = (p: number) => (p === 0 ? '0' : p < 0.0001 ? p.toExponential(1) : p.toPrecision(2));
const result = (gate: string, outcome: GateOutcome, reason: string): GateResult => ({ gate, outcome, passed: outcome === 'pass', reason });

/** The verdict of a set of gates: fail if any failed, else inconclusive if any was, else pass. */
export function verdictOf(results: GateResult[]): GateOutcome {
  if (results.some((g) => g.outcome === 'fail')) return 'fail';
  return results.some((g) => g.outcome === 'inconclusive') ? 'inconclusive' : 'pass';
}

/** The family-wise level of the champion comparisons. Default 0.05. */
export const alphaOf = (gates: PipelineSpec['gates']): number => gates.alpha ?? 0.05;

function floorGates(gates: PipelineSpec['gates'], candidate: Record<string, number>, isLowerBetter: (metric: string) => boolean = lowerIsBetter): GateResult[] {
  return (Object.entries(gates.floors) as Array<[GateMetric, number]>).map(([metric, bound]) => {
    const value = candidate[metric];
    const lower = isLowerBetter(metric);
    if (value === undefined || !Number.isFinite(value)) {
      return result(`floor:${metric}`, 'fail', `${metric} could not be computed on the test split, so its floor ${fmt(bound)} cannot be checked`);
    }
    const passed = lower ? value <= bound : value >= bound;
    const relation = lower ? (passed ? 'is within the ceiling' : 'is above the ceiling') : passed ? 'meets the floor' : 'is below the floor';
    return result(`floor:${metric}`, passed ? 'pass' : 'fail', `${metric} ${fmt(value)} ${relation} ${fmt(bound)}`);
  });
}

function comparisonGate(c: ComparisonResult, version: string, adjusted: number | null, alpha: number, family: number): GateResult {
  const e = c.evidence;
  const where = c.slice ? ` in slice ${c.slice.column}=${c.slice.value}` : '';
  const gate = `champion:${e.metric}${c.slice ? `@${c.slice.column}=${c.slice.value}` : ''}`;
  if (adjusted === null || !e.interval) {
    return result(gate, 'inconclusive', `${e.metric}${where}: only ${e.n} paired test rows (or a single class), too few to compare with champion ${version}: no evidence either way`);
  }
  const claim = e.test === 'better' ? 'better than the champion' : `not worse than the champion beyond the margin ${fmt(e.margin)}`;
  const bound = e.test === 'better' ? 0 : -e.margin;
  const pct = `${Math.round(e.interval.confidence * 100)}%`;
  const measured = `${e.metric}${where} ${fmt(e.candidate)} vs champion ${version}'s ${fmt(e.champion)} on the same ${e.n} test rows (gain ${signed(e.gain)}, ${pct} CI [${signed(e.interval.lower)}, ${signed(e.interval.upper)}])`;
  const test = `${e.method}, p=${pfmt(e.pValue ?? 1)}${family > 1 ? `, Holm-adjusted over ${family} comparisons p=${pfmt(adjusted)}` : ''}`;
  if (adjusted <= alpha) return result(gate, 'pass', `${measured}: ${claim} (${test} ≤ alpha ${alpha})`);
  if (e.interval.upper < bound) {
    const worse = e.test === 'better' ? 'worse than the champion' : `worse than the champion beyond the margin ${fmt(e.margin)}`;
    return result(gate, 'fail', `${measured}: ${worse} (the whole interval lies below ${signed(bound)}; ${test})`);
  }
  return result(gate, 'inconclusive', `${measured}: not shown ${claim} (${test} > alpha ${alpha})`);
}

const FAIRNESS_FIELD = { demographicParity: 'demographicParityDifference', equalizedOdds: 'equalizedOddsDifference' } as const;
const FAIRNESS_NAME = { demographicParity: 'demographic parity difference', equalizedOdds: 'equalized odds difference' } as const;

function fairnessGate(f: FairnessResult, version: string | undefined): GateResult {
  const { rule } = f;
  const field = FAIRNESS_FIELD[rule.metric];
  const name = `${FAIRNESS_NAME[rule.metric]} by ${rule.sensitive}`;
  const gate = `fairness:${rule.metric}:${rule.sensitive}`;
  const value = f.candidate[field];
  const excluded = f.candidate.excludedGroups.length ? `; groups too small to judge: ${f.candidate.excludedGroups.join(', ')}` : '';
  if (value === null) {
    return result(gate, 'inconclusive', `${name} cannot be measured: fewer than two groups of ${rule.sensitive} are large enough on the test rows${excluded}`);
  }
  const ci: Interval = f.candidate.intervals?.[field] ?? null;
  const measured = `${name} ${fmt(value)}${ci ? ` (95% CI [${fmt(ci.lower)}, ${fmt(ci.upper)}])` : ''}`;
  if (value > rule.max) return result(gate, 'fail', `${measured} exceeds the limit ${fmt(rule.max)}${excluded}`);
  const championValue = f.champion?.[field] ?? null;
  if (version && championValue !== null && value > championValue + rule.tolerance) {
    return result(gate, 'fail', `${measured} is within the limit ${fmt(rule.max)} but worse than champion ${version}'s ${fmt(championValue)} beyond the tolerance ${fmt(rule.tolerance)}${excluded}`);
  }
  const vs = version && championValue !== null ? ` and not worse than champion ${version}'s ${fmt(championValue)} beyond the tolerance ${fmt(rule.tolerance)}` : '';
  return result(gate, 'pass', `${measured} is within the limit ${fmt(rule.max)}${vs}${excluded}`);
}

type ConsistencyRule = NonNullable<PipelineSpec['gates']['consistency']>;

function consistencyGate(rule: ConsistencyRule, c: ConsistencyEvaluation | undefined, version: string | undefined): GateResult {
  if (!c) return result('consistency', 'inconclusive', 'consistency cannot be measured: no test feature matrix, or fewer than 2 test rows');
  const without = c.exclude.length ? `without the features of ${c.exclude.join(', ')}` : 'with every feature';
  const measured = `consistency ${fmt(c.candidate.score)} (labels of each of ${c.candidate.queries}${c.candidate.sampled ? ' sampled' : ''} test rows vs its ${c.k} nearest neighbours, ${without})`;
  if (c.candidate.score < rule.min) return result('consistency', 'fail', `${measured} is below the limit ${fmt(rule.min)}`);
  const champ = c.champion?.score;
  if (version && champ !== undefined && c.candidate.score < champ - rule.tolerance) {
    return result('consistency', 'fail', `${measured} meets the limit ${fmt(rule.min)} but is below champion ${version}'s ${fmt(champ)} beyond the tolerance ${fmt(rule.tolerance)}`);
  }
  const vs = version && champ !== undefined ? ` and is not below champion ${version}'s ${fmt(champ)} beyond the tolerance ${fmt(rule.tolerance)}` : '';
  return result('consistency', 'pass', `${measured} meets the limit ${fmt(rule.min)}${vs}`);
}

/**
 * Applies the spec's gates. Floors hold on point estimates. Each champion comparison passes only
 * when its one-sided test rejects "the candidate is worse (beyond the margin)" at the spec's
 * alpha after Holm's correction over every comparison; it fails when its interval lies wholly
 * on the wrong side, and is inconclusive otherwise. Fairness limits hold on the candidate and
 * against the champion's disparity plus a tolerance; the consistency limit likewise (a floor, and
 * the champion's consistency minus a tolerance).
 */
export function applyGates(input: GateInput): GateResult[] {
  const { gates, champion } = input;
  const results = floorGates(gates, input.candidate, input.lowerIsBetter);
  if (!champion) {
    results.push(result('champion', 'pass', 'no champion yet: the candidate is judged on its floors alone'));
  } else {
    const comparisons = input.comparisons ?? [];
    const tested = comparisons.flatMap((c, i) => (c.evidence.pValue === null ? [] : [i]));
    const adjusted = tested.length ? holm(tested.map((i) => comparisons[i].evidence.pValue as number)) : [];
    const alpha = alphaOf(gates);
    comparisons.forEach((c, i) => {
      const k = tested.indexOf(i);
      results.push(comparisonGate(c, champion.version, k < 0 ? null : adjusted[k], alpha, tested.length));
    });
  }
  for (const f of input.fairness ?? []) results.push(fairnessGate(f, champion?.version));
  if (gates.consistency) results.push(consistencyGate(gates.consistency, input.consistency, champion?.version));
  return results;
}
