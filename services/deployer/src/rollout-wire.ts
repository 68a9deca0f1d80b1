/**
 * A rollout step's analysis on the wire: the typed message and, for one release, its JSON. The
 * fields are those of both `refit.deployer.v1.StepAnalysis` (GetRollout) and
 * `refit.events.v1.RolloutAnalysis` (rollout.decided), which mirror each other.
 */
import type { StepAnalysis } from './rollout-analysis.js';
import type { Operational } from './rollout-store.js';

/**
 * A number of the analysis, unset where it is undefined: NaN in memory, null once it has been
 * through JSON (the stored analyses are JSON), as the JSON field has it.
 */
const num = (x: number | null | undefined): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const count = (x: number | null | undefined): bigint => BigInt(Math.max(0, Math.round(num(x) ?? 0)));

// Every field of the TypeScript types is converted: a field added there and not here fails to compile.
type Exhaustive<T, U> = Exclude<keyof T, keyof U> extends never ? U : { missing: Exclude<keyof T, keyof U> };

function wireOperational(o: Operational) {
  const m = {
    predictions: count(o.predictions),
    errors: count(o.errors),
    latencyMs: num(o.latencyMs),
    championLatencyMs: num(o.championLatencyMs),
    divergence: num(o.divergence),
  };
  return m satisfies Exhaustive<Operational, typeof m>;
}

/** The fields of a typed analysis, for either message. */
export type AnalysisFields = ReturnType<typeof wireAnalysis>;

/** The typed analysis of a step (the same object the `*_analysis_json` fields carry as JSON), as the fields of either message. */
export function wireAnalysis(a: StepAnalysis) {
  const m = {
    outcome: a.outcome,
    reason: a.reason,
    metric: a.metric,
    paired: a.paired,
    candidate: num(a.candidate),
    champion: num(a.champion),
    nCandidate: count(a.nCandidate),
    nChampion: count(a.nChampion),
    gain: num(a.gain),
    lower: num(a.lower),
    upper: num(a.upper),
    test: a.test,
    pWorse: num(a.pWorse),
    divergence: num(a.divergence),
    operational: a.operational ? wireOperational(a.operational) : undefined,
  };
  return m satisfies Exhaustive<StepAnalysis, typeof m>;
}

/** Both wire forms of a stored analysis: typed, and JSON for clients of the previous release ('' and unset when there is none). */
export function wireAnalysisFields(a: StepAnalysis | null | undefined): { json: string; typed: AnalysisFields | undefined } {
  return a ? { json: JSON.stringify(a), typed: wireAnalysis(a) } : { json: '', typed: undefined };
}
