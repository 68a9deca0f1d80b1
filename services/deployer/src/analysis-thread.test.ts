import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisThread, INLINE_ROWS } from './analysis-thread.js';
import { analyseStep } from './rollout-analysis.js';

// Paired shadow rows: the candidate a little worse than the champion.
function rows(n: number) {
  const y = Array.from({ length: n }, (_, i) => (Math.sin(i) > 0 ? 1 : 0));
  const clamp = (x: number) => Math.min(0.99, Math.max(0.01, x));
  return {
    y,
    candidate: y.map((v, i) => clamp(0.5 + (v ? 0.15 : -0.15) + Math.sin(i * 11) * 0.3)),
    champion: y.map((v, i) => clamp(0.5 + (v ? 0.2 : -0.2) + Math.sin(i * 7) * 0.3)),
  };
}

describe('rollout analysis off the serving thread', () => {
  const thread = new AnalysisThread();
  afterAll(() => thread.close());
  const spec = { metric: 'logLoss' as const, margin: 0.02, alpha: 0.05, minLabeled: 50 };

  it('small steps are analysed inline, without starting a worker', async () => {
    const r = rows(500);
    const a = await thread.analyse(spec, { y: r.y, p: r.candidate }, { y: r.y, p: r.champion, threshold: 0.4 }, true);
    expect(a).toEqual(analyseStep(spec, { y: r.y, p: r.candidate }, { y: r.y, p: r.champion, threshold: 0.4 }, true));
    expect(thread.started).toBe(false);
  });

  it('large steps run on the worker and answer exactly what the inline analysis does', async () => {
    const r = rows(INLINE_ROWS + 1000);
    const candidate = { y: r.y, p: r.candidate, threshold: 0.45 };
    const champion = { y: r.y, p: r.champion };
    const [paired, accuracy] = await Promise.all([thread.analyse(spec, candidate, champion, true), thread.analyse({ ...spec, metric: 'accuracy' }, candidate, champion, false)]);
    expect(thread.started).toBe(true);
    expect(paired).toEqual(analyseStep(spec, candidate, champion, true));
    expect(accuracy).toEqual(analyseStep({ ...spec, metric: 'accuracy' }, candidate, champion, false));
    expect(paired.outcome).toBe('fail');
  });

  it('AUC and a business metric of counts are analysed on the worker exactly as inline', async () => {
    const r = rows(INLINE_ROWS + 1000);
    const candidate = { y: r.y, p: r.candidate, threshold: 0.45 };
    const champion = { y: r.y, p: r.champion };
    const cost = { ...spec, metric: 'costPer1000', business: { expr: '1000 * cost / n', goal: 'minimize' as const, costs: { fp: 1, fn: 5, tp: 0, tn: 0 } } };
    const [auc, business] = await Promise.all([thread.analyse({ ...spec, metric: 'auc' }, candidate, champion, false), thread.analyse(cost, candidate, champion, true)]);
    expect(auc).toEqual(analyseStep({ ...spec, metric: 'auc' }, candidate, champion, false));
    expect(auc.test).toBe('delong-unpaired');
    expect(business).toEqual(analyseStep(cost, candidate, champion, true));
    expect(business.test).toBe('paired-bootstrap');
  });
});
