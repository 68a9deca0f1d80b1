import { ScalarType, type DescField, type DescMessage, type Message } from '@bufbuild/protobuf';
import { InvalidInputError } from './errors.js';

// Struct, Value and ListValue carry arbitrary JSON (their one enum, NullValue, is read as null);
// what is in them is the receiver's to check (a Predict row, a spec).
const OPAQUE = new Set(['google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue']);

/** Characters a string field of a request may hold unless {@link TEXT_LIMITS} says otherwise (REFIT_MAX_TEXT_CHARS). */
export const DEFAULT_MAX_TEXT_CHARS = 4096;

/**
 * String fields held to their own limit, by full name: a spec has its own limits (size, depth,
 * columns…) checked by its parser; a decision's details carry a rollout's evidence.
 */
export const TEXT_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  'refit.trigger.v1.ApplyPipelineRequest.spec_yaml': Number.POSITIVE_INFINITY,
  'refit.registry.v1.RecordDecisionRequest.details_json': 256 * 1024,
});

/** What {@link checkMessage} checks besides enums. */
export type MessageChecks = {
  /** Names the message in a refusal (`the request`, `event … on …`). Default its type name. */
  what?: string;
  /** Most characters of a string field (not in {@link TEXT_LIMITS}); none: strings are not checked. */
  maxText?: number;
};

const isString = (f: DescField): boolean => (f.fieldKind === 'scalar' || (f.fieldKind === 'list' && f.listKind === 'scalar')) && f.scalar === ScalarType.STRING;

const reach = new WeakMap<DescMessage, { enums: boolean; strings: boolean }>();

/** Whether a message of `schema` can hold an enum value, or a string, anywhere (memoised per schema). */
function reachOf(schema: DescMessage, visiting = new Set<DescMessage>()): { enums: boolean; strings: boolean } {
  const known = reach.get(schema);
  if (known) return known;
  const found = { enums: false, strings: false };
  if (OPAQUE.has(schema.typeName) || visiting.has(schema)) return found;
  visiting.add(schema);
  for (const f of schema.fields) {
    const kind = f.fieldKind === 'list' ? f.listKind : f.fieldKind === 'map' ? f.mapKind : f.fieldKind;
    if (kind === 'enum') found.enums = true;
    if (isString(f)) found.strings = true;
    if (kind === 'message' && f.message) {
      const inner = reachOf(f.message, visiting);
      found.enums ||= inner.enums;
      found.strings ||= inner.strings;
    }
  }
  visiting.delete(schema);
  // A cycle in progress may still find more further on: remember only what is settled.
  if (visiting.size === 0 || (found.enums && found.strings)) reach.set(schema, found);
  return found;
}

/** A field's value in a message, oneof members included (undefined when another member is set). */
function valueOf(message: Message, f: DescField): unknown {
  const m = message as unknown as Record<string, unknown>;
  if (f.oneof) {
    const o = m[f.oneof.localName] as { case?: string; value?: unknown } | undefined;
    return o?.case === f.localName ? o.value : undefined;
  }
  return m[f.localName];
}

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * Refuses a decoded message that holds an enum number its schema does not define (proto3 enums are
 * open, so `verdict: 99` decodes; code that switches on the enum then fails with a TypeError, and an
 * event is retried until dead-lettered with no reason a person can read), or, with `maxText`, a
 * string longer than its limit (a 1 MB `reason` was stored whole in the run and the ledger).
 * Walks iteratively, only into fields that can reach what is checked, never into Struct payloads,
 * so a Predict of 10,000 rows costs nothing.
 * @throws InvalidInputError naming the field path, what it holds and what it may hold.
 */
export function checkMessage<T extends Message>(schema: DescMessage, message: T, checks: MessageChecks = {}): T {
  const what = checks.what ?? schema.typeName;
  const texts = checks.maxText !== undefined;
  const wanted = (s: DescMessage): boolean => {
    const r = reachOf(s);
    return r.enums || (texts && r.strings);
  };
  if (!wanted(schema)) return message;
  const stack: Array<{ schema: DescMessage; message: Message; path: string }> = [{ schema, message, path: '' }];
  while (stack.length > 0) {
    const top = stack.pop();
    if (!top) break;
    for (const f of top.schema.fields) {
      const v = valueOf(top.message, f);
      if (v === undefined || v === null) continue;
      const path = top.path ? `${top.path}.${f.name}` : f.name;
      const max = texts && isString(f) ? (TEXT_LIMITS[`${top.schema.typeName}.${f.name}`] ?? checks.maxText ?? Number.POSITIVE_INFINITY) : undefined;
      const check = (x: unknown, at: string): void => {
        if (f.enum && typeof x === 'number' && !f.enum.values.some((e) => e.number === x)) {
          const allowed = f.enum.values.map((e) => `${e.name} (${e.number})`).join(', ');
          throw new InvalidInputError(`${what}: ${at} is ${x}, which is no ${f.enum.name}: expected one of ${allowed}`, { details: { field: at, value: x } });
        }
        if (max !== undefined && typeof x === 'string' && x.length > max) {
          throw new InvalidInputError(`${what}: ${at} is ${count(x.length)} characters long; at most ${count(max)} (REFIT_MAX_TEXT_CHARS): shorten it`, { details: { field: at, length: x.length, limit: max } });
        }
        if (f.message && typeof x === 'object' && x !== null && wanted(f.message)) stack.push({ schema: f.message, message: x as Message, path: at });
      };
      if (f.fieldKind === 'list') (v as unknown[]).forEach((x, i) => check(x, `${path}[${i}]`));
      else if (f.fieldKind === 'map') for (const [k, x] of Object.entries(v as Record<string, unknown>)) check(x, `${path}[${k}]`);
      else check(v, path);
    }
  }
  return message;
}
