/**
 * Stored JSON documents (evaluation reports, feature statistics, transforms, trigger evidence) and
 * the typed messages whose JSON names are their keys: the pieces every converter between the two
 * shares.
 */
import { fromJson, ScalarType, type DescField, type DescMessage, type JsonObject, type JsonValue, type MessageShape } from '@bufbuild/protobuf';

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

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

/** A document as it is stored: plain JSON (Dates as strings, non-finite numbers as null; nothing: `{}`). */
export const asJson = (doc: unknown): JsonValue => JSON.parse(JSON.stringify(doc ?? {})) as JsonValue;

/** A stored `*_json` field parsed: `{}` when it is empty or not JSON. */
export function parseStored(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : {};
  } catch {
    return {};
  }
}

/** The message of `schema` from a stored document, through {@link normalize}; keys the message lacks are ignored. */
export function messageFromDoc<Desc extends DescMessage>(schema: Desc, doc: unknown): MessageShape<Desc> {
  return fromJson(schema, normalize(schema, asJson(doc)), { ignoreUnknownFields: true });
}
