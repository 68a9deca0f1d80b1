import { describe, expect, it } from 'vitest';
import { alertRules, dashboardExprs, deployMetricNames, documentedMetricNames, metricsOf } from './metric-refs.js';

describe('deploy/grafana and deploy/prometheus', () => {
  it('reads the families of PromQL expressions, histogram series included', () => {
    expect(metricsOf('histogram_quantile(0.9, sum by (le) (rate(refit_stage_duration_seconds_bucket{pipeline="a"}[5m]))) / refit_runs_total')).toEqual([
      'refit_stage_duration_seconds',
      'refit_runs_total',
    ]);
  });

  it('has the alerts that need a person, each with a severity and a summary', () => {
    const rules = alertRules();
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['RefitRunsFailing', 'RefitDeadLetters', 'RefitConsumerLag', 'RefitRolloutHeld', 'RefitLiveQualityBelowEvaluation']));
    for (const r of rules) {
      expect(metricsOf(r.expr).length, r.alert).toBeGreaterThan(0);
      expect(r.labels?.severity, r.alert).toMatch(/^(warning|critical)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
  });

  it('uses only metrics the README documents (and the end-to-end test finds every one registered)', () => {
    expect(dashboardExprs().length).toBeGreaterThan(20);
    const documented = new Set(documentedMetricNames());
    expect(documented.size).toBeGreaterThan(30);
    const undocumented = deployMetricNames().filter((n) => n.startsWith('refit_') && !documented.has(n));
    expect(undocumented).toEqual([]);
  });
});
