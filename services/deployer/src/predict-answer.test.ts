import { randomUUID } from 'node:crypto';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { PredictResponseSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { encodeColumnarAnswer, type ColumnarAnswer } from './predict-answer.js';

/** What the generated code decodes from our bytes and from its own encoding of the same answer. */
function both(a: ColumnarAnswer) {
  const ours = fromBinary(PredictResponseSchema, encodeColumnarAnswer(a).bytes);
  const theirs = fromBinary(PredictResponseSchema, toBinary(PredictResponseSchema, create(PredictResponseSchema, { ...a, predictionIds: [...a.predictionIds], probabilities: [...a.probabilities], fromCandidate: [...a.fromCandidate] })));
  return { ours, theirs };
}

describe('encodeColumnarAnswer', () => {
  it('decodes to what the generic encoder sends: ids, probabilities, candidate flags and imputed counts', () => {
    const n = 1000;
    const a: ColumnarAnswer = {
      modelVersion: 'v12',
      predictionIds: Array.from({ length: n }, () => randomUUID()),
      probabilities: Array.from({ length: n }, (_, i) => (i === 0 ? 0 : i === 1 ? 1 : i === 2 ? Number.MIN_VALUE : Math.sin(i) ** 2)),
      fromCandidate: Array.from({ length: n }, (_, i) => i % 3 === 0),
      candidateVersion: 'v13',
      candidateVariant: 'canary',
      imputed: { wind: 17, 'température ✓': 300, zero: 0 },
    };
    const { ours, theirs } = both(a);
    expect(ours).toEqual(theirs);
    expect(ours.probabilities).toEqual(a.probabilities);
    expect(ours.imputed).toEqual({ wind: 17, 'température ✓': 300, zero: 0 });
  });

  it('leaves out what is empty, as proto3 does: one row, no candidate, nothing imputed, and a long multi-byte version', () => {
    const a: ColumnarAnswer = { modelVersion: 'ü'.repeat(200), predictionIds: [randomUUID()], probabilities: [0.25], fromCandidate: [], candidateVersion: '', candidateVariant: '', imputed: {} };
    const { ours, theirs } = both(a);
    expect(ours).toEqual(theirs);
    expect(Buffer.from(encodeColumnarAnswer(a).bytes)).toEqual(Buffer.from(toBinary(PredictResponseSchema, create(PredictResponseSchema, { ...a, predictionIds: [...a.predictionIds], probabilities: [...a.probabilities], fromCandidate: [...a.fromCandidate] }))));
  });
});
