import { describe, expect, it } from 'vitest';
import type { RolloutConfig } from '../../services/deployer/src/rollout-store.js';
import { PredictionLog, type Prediction } from './prediction-log.js';
import { beginRollout, decideRollout } from './rollout-sim.js';
import type { ReplayModel } from './train.js';

const MIN = 60_000;
const model = (version: string) => ({ version, threshold: 0 }) as ReplayModel;
const config: RolloutConfig = { strategy: 'canary', steps: [50, 100], minLabeled: 20, metric: 'accuracy', margin: 0.02, alpha: 0.05, holdMinutes: 60, onInconclusive: 'rollback', split: 50 };

/** `n` labeled rows made at `t`, fed back at `back`: the candidate (canary) right, the champion's background score wrong. */
function rows(n: number, t: number, back: number, variant: 'canary' | 'champion'): Prediction[] {
  return Array.from({ length: n }, (_, i) => {
    const y = (i % 2) as 0 | 1;
    const right = y === 1 ? 0.9 : 0.1;
    const wrong = 1 - right;
    const base = { id: `p${t}-${i}`, t, y, feedbackAt: back, threshold: 0 };
    return variant === 'canary' ? { ...base, version: 'v2', variant, p: right, champion: { p: wrong, threshold: 0 } } : { ...base, version: 'v1', variant, p: i % 4 < 2 ? right : wrong };
  });
}

describe('a rollout decided on the virtual clock as the deployer decides it', () => {
  it('passes a canary step on concurrent arms, then promotes on the paired last step', () => {
    const log = new PredictionLog();
    const r = beginRollout('r2', model('v2'), model('v1'), config, 0);
    log.add([...rows(60, 10, 100, 'canary'), ...rows(60, 10, 100, 'champion')]);
    expect(decideRollout(r, log, 50).kind).toBe('hold');
    const first = decideRollout(r, log, 100);
    expect(first).toMatchObject({ kind: 'advance', step: 1, weight: 100 });
    expect(first.reason).toMatch(/^step 1\/2: pass: accuracy 1\.0000 \(n=60\) vs champion 0\.5000 \(n=60\)/);
    Object.assign(r, { step: 1, weight: 100, stepStartedAt: 100 });
    log.add(rows(60, 110, 200, 'canary'));
    const last = decideRollout(r, log, 200);
    expect(last.kind).toBe('promote');
    expect(last.analysis).toMatchObject({ paired: true, nCandidate: 60, candidate: 1, champion: 0 });
  });

  it('rolls back a step still short of feedback once its hold in virtual minutes ran out', () => {
    const r = beginRollout('r2', model('v2'), model('v1'), config, 0);
    const log = new PredictionLog();
    log.add(rows(4, 10, 20, 'canary'));
    expect(decideRollout(r, log, 60 * MIN).kind).toBe('hold');
    const late = decideRollout(r, log, 60 * MIN + 1);
    expect(late.kind).toBe('rollback');
    expect(late.reason).toBe('step 1/2: still short of feedback after the 60-min hold: 4 candidate and 0 champion labeled predictions in this step, 20 needed on each side (onInconclusive: rollback)');
  });

  it('rolls back on a guardrail before any feedback', () => {
    const r = beginRollout('r2', model('v2'), model('v1'), { ...config, guardrails: { maxDivergence: 0.5, minPredictions: 5 } }, 0);
    const log = new PredictionLog();
    log.add(rows(6, 10, Infinity, 'canary'));
    const a = decideRollout(r, log, 20);
    expect(a.kind).toBe('rollback');
    expect(a.reason).toBe('step 1/2: guardrail: mean divergence from the champion 0.8000 on 6 rows is above the limit 0.5');
  });
});
