import { create } from '@bufbuild/protobuf';
import { RolloutSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { formatRollout } from './rollout-commands.js';

describe('refit rollout status', () => {
  it('says strategy, versions, step of the declared steps, weight and the last analysis', () => {
    const r = create(RolloutSchema, {
      pipeline: 'weather-rain',
      strategy: 'canary',
      candidateVersion: 'v3',
      championVersion: 'v2',
      runId: 'r-3',
      status: 'active',
      step: 1,
      weight: 50,
      steps: [10, 50, 100],
      stepStartedAtMs: 0n,
      lastReason: 'inconclusive: accuracy 0.70 (n=80) vs champion 0.71 (n=900)',
    });
    expect(formatRollout(r)).toBe(
      [
        'weather-rain: canary of v3 against champion v2 (run r-3): active',
        '  step 2 of [10, 50, 100], candidate weight 50%, step started 1970-01-01T00:00:00.000Z',
        '  last analysis: inconclusive: accuracy 0.70 (n=80) vs champion 0.71 (n=900)',
      ].join('\n'),
    );
  });
});
