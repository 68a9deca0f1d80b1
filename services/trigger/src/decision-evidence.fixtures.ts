/** Test helper: a decision's typed evidence is its JSON evidence, key by key. */
import type { TriggerEvidence, TriggerThresholds } from '@refit/contracts';
import { expect } from 'vitest';

type Plain = { [k: string]: unknown };
const isEmpty = (v: unknown): boolean => (Array.isArray(v) ? v.length === 0 : v !== null && typeof v === 'object' && !('$typeName' in v) && Object.keys(v).length === 0);
/** A message as plain data: no $typeName, an int64 a number, an unset field, empty map or empty list absent. */
export const plainOf = (m: object): Plain =>
  Object.fromEntries(
    Object.entries(m)
      .filter(([k, v]) => !k.startsWith('$') && v !== undefined && !isEmpty(v))
      .map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v !== null && typeof v === 'object' && !Array.isArray(v) ? plainOf(v as object) : v]),
  );
/** JSON evidence as stored (measured_json, thresholds_json): a null (not measured) absent. */
export const storedOf = (o: unknown): Plain => plainOf(JSON.parse(JSON.stringify(o ?? {}), (_k, v: unknown) => (v === null ? undefined : v)) as Plain);

/**
 * The typed evidence equals the JSON evidence: every key of the JSON is in the message with the
 * same value (a null unset); a declared performance reference, `{"value": x}` in the JSON, is
 * reference "declared" with referenceValue x.
 */
export function expectTypedEvidence(typed: { measured?: TriggerEvidence; thresholds?: TriggerThresholds }, json: { measured: unknown; thresholds: unknown }): void {
  expect(typed.measured).toBeDefined();
  expect(typed.thresholds).toBeDefined();
  expect(plainOf(typed.measured!)).toStrictEqual(storedOf(json.measured));
  const thresholds = storedOf(json.thresholds);
  const ref = thresholds.reference;
  const expected = ref !== null && typeof ref === 'object' ? { ...thresholds, reference: 'declared', referenceValue: (ref as { value: number }).value } : thresholds;
  expect(plainOf(typed.thresholds!)).toStrictEqual(expected);
}

/** The same for a decision on the wire: its typed fields against its JSON fields. */
export function expectTypedDecision(d: { measured?: TriggerEvidence; measuredJson: string; thresholds?: TriggerThresholds; thresholdsJson: string }): void {
  expectTypedEvidence(d, { measured: JSON.parse(d.measuredJson) as unknown, thresholds: JSON.parse(d.thresholdsJson) as unknown });
}
