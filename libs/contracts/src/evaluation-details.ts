import { fromJson, ScalarType, type DescField, type DescMessage, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { EvaluationDetailsSchema, type EvaluationDetails } from './gen/refit/evaluator/v1/report_pb.js';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON null where the proto has no null: NaN for a double (JSON's spelling of a non-finite number), else left out. */
function scalarOf(type: ScalarType, v: JsonValue): JsonValue | undefined {
  if (v === null) return type === ScalarType.DOUBLE || type === ScalarType.FLOAT ? 'NaN' : undefined;
  if (type === ScalarType.STRING && typeof v !== 'string') return String(v);
  return v;
}

function fieldOf(field: DescField, v: JsonValue): JsonValue | undefined {
  switch (field.fieldKind) {
    case 'message':
      // google.protobuf.Struct (the spec's own sections) takes any JSON object as it is.
      return v === null || field.message.typeName === 'google.protobuf.Struct' ? v : normalize(field.message, v);
    case 'list':
      if (!Array.isArray(v)) return v;
      return field.listKind === 'message'
        ? v.map((x) => normalize(field.message, x))
        : field.listKind === 'scalar'
          ? v.flatMap((x) => {
              const s = scalarOf(field.scalar, x);
              return s === undefined ? [] : [s];
            })
          : v;
    case 'map': {
      if (!isObject(v)) return v;
      const out: JsonObject = {};
      for (const [k, x] of Object.entries(v)) {
        const s = field.mapKind === 'scalar' ? scalarOf(field.scalar, x) : field.mapKind === 'message' ? normalize(field.message, x) : x;
        if (s !== undefined) out[k] = s;
      }
      return out;
    }
    case 'scalar':
      // An unset optional number stays unset; a plain double the report left undefined (NaN) stays NaN.
      return v === null && field.proto.proto3Optional ? null : scalarOf(field.scalar, v);
    default:
      return v;
  }
}

/**
 * The stored report JSON made proto JSON, field by field of the message: a number JSON could not
 * hold (NaN, ±Infinity: null) becomes NaN where the proto field is a plain double and stays unset
 * where it is optional; numeric map keys' values become strings where the proto says string.
 */
export function normalize(desc: DescMessage, json: JsonValue): JsonValue {
  if (!isObject(json)) return json;
  const out: JsonObject = {};
  for (const field of desc.fields) {
    const v = json[field.jsonName];
    if (v === undefined) continue;
    const n = fieldOf(field, v);
    if (n !== undefined) out[field.jsonName] = n;
  }
  return out;
}

/**
 * The typed content of an evaluation report from its JSON document (the evaluator's stored report:
 * `report_json`, or the object before it is serialized). The proto's JSON names are the report's,
 * so this is the one converter between the two: the evaluator fills `EvaluationReport.details`
 * with it, and a client reading a report from an evaluator older than `details` uses it on
 * `report_json`. Fields the proto does not have (runId, pipeline, verdict, rowsTest: top-level
 * fields of EvaluationReport) are ignored.
 */
export function evaluationDetailsFromJson(report: unknown): EvaluationDetails {
  const json = JSON.parse(JSON.stringify(report ?? {})) as JsonValue;
  return fromJson(EvaluationDetailsSchema, normalize(EvaluationDetailsSchema, json), { ignoreUnknownFields: true });
}

/**
 * The typed details of an evaluation report: its `details`, or, for a report stored before that
 * field existed, those converted from its `report_json` (empty when that is missing or unreadable).
 * The CLI and the console read reports through this.
 */
export function evaluationDetailsOf(report: { details?: EvaluationDetails; reportJson: string }): EvaluationDetails {
  if (report.details) return report.details;
  try {
    return evaluationDetailsFromJson(report.reportJson ? JSON.parse(report.reportJson) : {});
  } catch {
    return evaluationDetailsFromJson({});
  }
}
