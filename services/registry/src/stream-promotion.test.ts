import { create } from '@bufbuild/protobuf';
import { StreamUpdateProvenSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { streamClaimProblem } from './stream-promotion.js';

const claim = (evidence: Partial<{ pValue: number; alpha: number; lower: number; improvement: number; rows: bigint }> = {}, champion = 'v1') =>
  create(StreamUpdateProvenSchema, {
    championVersion: champion,
    lineage: { model: { key: 'pipelines/p/models/a.refitm' }, transform: { key: 'pipelines/p/transform.json' } },
    evidence: { pValue: 0.01, alpha: 0.05, lower: 0.02, upper: 0.2, improvement: 0.1, rows: 300n, ...evidence },
  });

describe('a stream learner claim', () => {
  it('holds with p ≤ α, a positive lower bound, against the champion that still is one', () => {
    expect(streamClaimProblem(claim(), 'v1')).toBeUndefined();
  });

  it('is refused when its evidence does not show it better, whatever it says', () => {
    expect(streamClaimProblem(claim({ pValue: 0.2 }), 'v1')).toMatch(/does not show it better/);
    expect(streamClaimProblem(claim({ lower: -0.01 }), 'v1')).toMatch(/does not show it better/);
    expect(streamClaimProblem(claim({ rows: 0n }), 'v1')).toMatch(/does not show it better/);
    expect(streamClaimProblem(claim({ alpha: 0.9, pValue: 0.5 }), 'v1')).toMatch(/outside \(0, 0.5\)/);
    expect(streamClaimProblem(claim({ pValue: Number.NaN }), 'v1')).toMatch(/does not show it better/);
  });

  it('is refused when the champion moved since it was judged', () => {
    expect(streamClaimProblem(claim({}, 'v1'), 'v2')).toBe('it was judged against v1, but the champion is v2 now');
    expect(streamClaimProblem(claim({}, 'v1'), undefined)).toMatch(/champion is none now/);
  });

  it('is refused without a model to register', () => {
    const c = claim();
    c.lineage = undefined;
    expect(streamClaimProblem(c, 'v1')).toBe('the learner named no model or transform');
  });
});
