import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { StructSchema } from '@bufbuild/protobuf/wkt';
import { ApplyPipelineRequestSchema, ListModelsResponseSchema, ModelEvaluatedSchema, SetAliasRequestSchema, Verdict } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { isInvalidInput } from './errors.js';
import { checkMessage } from './proto-checks.js';

const roundTrip = <T>(schema: Parameters<typeof toBinary>[0], m: T): T => fromBinary(schema, toBinary(schema, m as never)) as T;

describe('checkMessage', () => {
  it('passes defined enum numbers and refuses an undefined one, naming the path and the allowed values', () => {
    const ok = roundTrip(ModelEvaluatedSchema, create(ModelEvaluatedSchema, { verdict: Verdict.FAIL }));
    expect(checkMessage(ModelEvaluatedSchema, ok)).toBe(ok);
    const bad = roundTrip(ModelEvaluatedSchema, create(ModelEvaluatedSchema, { verdict: 99 as Verdict }));
    let err: unknown;
    try {
      checkMessage(ModelEvaluatedSchema, bad, { what: 'event e1' });
    } catch (e) {
      err = e;
    }
    expect(isInvalidInput(err)).toBe(true);
    expect((err as Error).message).toBe('event e1: verdict is 99, which is no Verdict: expected one of VERDICT_UNSPECIFIED (0), VERDICT_PASS (1), VERDICT_FAIL (2), VERDICT_INCONCLUSIVE (3)');
  });
  it('finds an enum inside a list of messages', () => {
    const list = create(ListModelsResponseSchema, { models: [{ verdict: Verdict.PASS }, { verdict: -3 as Verdict }] });
    expect(() => checkMessage(ListModelsResponseSchema, list)).toThrow(/models\[1\]\.verdict is -3/);
  });
  it('does not walk JSON payloads (Struct)', () => {
    const s = create(StructSchema, { fields: {} });
    expect(checkMessage(StructSchema, s, { maxText: 1 })).toBe(s);
  });
  it('with maxText, refuses a string field longer than its limit, naming it; a spec has its own limits', () => {
    const long = 'x'.repeat(5000);
    expect(checkMessage(SetAliasRequestSchema, create(SetAliasRequestSchema, { reason: long }))).toBeDefined();
    expect(() => checkMessage(SetAliasRequestSchema, create(SetAliasRequestSchema, { pipeline: 'p', reason: long }), { what: 'the request', maxText: 4096 })).toThrow(
      'the request: reason is 5,000 characters long; at most 4,096 (REFIT_MAX_TEXT_CHARS): shorten it',
    );
    expect(checkMessage(ApplyPipelineRequestSchema, create(ApplyPipelineRequestSchema, { specYaml: long }), { maxText: 4096 }).specYaml).toBe(long);
  });
});
