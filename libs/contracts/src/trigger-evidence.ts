import { fromJson, type DescMessage, type JsonObject, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import { TriggerEvidenceSchema, TriggerThresholdsSchema, type TriggerEvidence, type TriggerThresholds } from './gen/refit/trigger/v1/trigger_pb.js';
import { asJson, isObject, parseStored } from './json-doc.js';

/** JSON without its nulls: a value not measured (null in the JSON) is an unset optional field. */
function withoutNulls(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.filter((x) => x !== null).map(withoutNulls);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
  return out;
}

/**
 * The message from a JSON object whose keys are its JSON names; a key whose value does not fit
 * its field (an evidence shape the proto does not know) is left out rather than failing the rest.
 */
function lenient<Desc extends DescMessage>(schema: Desc, json: JsonObject): MessageShape<Desc> {
  try {
    return fromJson(schema, json, { ignoreUnknownFields: true });
  } catch {
    const fits = Object.entries(json).filter(([k, v]) => {
      try {
        fromJson(schema, { [k]: v }, { ignoreUnknownFields: true });
        return true;
      } catch {
        return false;
      }
    });
    return fromJson(schema, Object.fromEntries(fits), { ignoreUnknownFields: true });
  }
}

const plain = (o: unknown): JsonObject => {
  const v = withoutNulls(asJson(o));
  return isObject(v) ? v : {};
};

/**
 * The typed evidence of a trigger decision from the object its `measured_json` is written from
 * (the trigger's `Evaluation.measured`, or that JSON parsed). The message's JSON names are the
 * object's keys, so this is the one converter between the two: the trigger fills
 * `TriggerDecision.measured` with it, and a reader of a decision from a trigger older than
 * `measured` uses it on `measured_json`. A null (a number not measured) is unset.
 */
export function triggerEvidenceFromJson(measured: unknown): TriggerEvidence {
  return lenient(TriggerEvidenceSchema, plain(measured));
}

/**
 * The typed thresholds of a trigger decision from the object its `thresholds_json` is written from
 * (see triggerEvidenceFromJson). The one key whose JSON is not the message's: a performance
 * policy's declared reference, `{"value": x}` in the JSON, is `reference: "declared"` with
 * `referenceValue: x`.
 */
export function triggerThresholdsFromJson(thresholds: unknown): TriggerThresholds {
  const json = plain(thresholds);
  const ref = json.reference;
  if (isObject(ref)) {
    json.reference = 'declared';
    if (typeof ref.value === 'number') json.referenceValue = ref.value;
  }
  return lenient(TriggerThresholdsSchema, json);
}

/** The same from the JSON fields of a decision ('' or not an object: an empty message). */
export function triggerEvidenceOf(d: { measured?: TriggerEvidence; measuredJson: string; thresholds?: TriggerThresholds; thresholdsJson: string }): { measured: TriggerEvidence; thresholds: TriggerThresholds } {
  return { measured: d.measured ?? triggerEvidenceFromJson(parseStored(d.measuredJson)), thresholds: d.thresholds ?? triggerThresholdsFromJson(parseStored(d.thresholdsJson)) };
}
