/**
 * The rollout analysis of `rollout.decided` (and of a rollback alert): the typed
 * `refit.events.v1.RolloutAnalysis` and the JSON document the deployer stores and sends in
 * `analysis_json` (its `StepAnalysis` through `JSON.stringify`: NaN as null, counts as numbers).
 */
import type { JsonObject } from '@bufbuild/protobuf';
import { RolloutAnalysisSchema, type RolloutAnalysis, type RolloutAnalysisOperational } from './gen/refit/events/v1/rollout_pb.js';
import { isObject, messageFromDoc, parseStored } from './json-doc.js';

/**
 * The typed analysis from its JSON document (the deployer's stored analysis, or `analysis_json`
 * parsed); undefined when there is none (`null`, not an object) or it is not an analysis.
 */
export function rolloutAnalysisFromJson(doc: unknown): RolloutAnalysis | undefined {
  // Every analysis has an outcome: without one the document is something else (older tests sent `{"p": …}`).
  if (!isObject(doc) || typeof doc.outcome !== 'string') return undefined;
  try {
    return messageFromDoc(RolloutAnalysisSchema, doc);
  } catch {
    return undefined;
  }
}

/** The analysis of a `rollout.decided`: the typed field, else (a deployer older than it) its JSON. */
export function rolloutAnalysisOf(e: { analysis?: RolloutAnalysis; analysisJson: string }): RolloutAnalysis | undefined {
  return e.analysis ?? rolloutAnalysisFromJson(parseStored(e.analysisJson));
}

const orNull = (x: number | undefined): number | null => (x === undefined ? null : x);

function operationalDoc(o: RolloutAnalysisOperational): JsonObject {
  return { predictions: Number(o.predictions), errors: Number(o.errors), latencyMs: orNull(o.latencyMs), championLatencyMs: orNull(o.championLatencyMs), divergence: orNull(o.divergence) };
}

/**
 * The JSON document of a typed analysis, as the deployer writes it: the metric numbers null where
 * unset, counts as numbers, `pWorse`, `divergence` and `operational` only when set. What alerts
 * and webhooks carry as the analysis, whichever field of the event it was read from.
 */
export function rolloutAnalysisDoc(a: RolloutAnalysis): JsonObject {
  const doc: JsonObject = {
    outcome: a.outcome,
    reason: a.reason,
    metric: a.metric,
    paired: a.paired,
    candidate: orNull(a.candidate),
    champion: orNull(a.champion),
    nCandidate: Number(a.nCandidate),
    nChampion: Number(a.nChampion),
    gain: orNull(a.gain),
    lower: orNull(a.lower),
    upper: orNull(a.upper),
    test: a.test,
  };
  if (a.pWorse !== undefined) doc.pWorse = a.pWorse;
  if (a.divergence !== undefined) doc.divergence = a.divergence;
  if (a.operational) doc.operational = operationalDoc(a.operational);
  return doc;
}
