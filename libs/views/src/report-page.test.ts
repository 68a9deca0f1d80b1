import { describe, expect, it } from 'vitest';
import { loadUplotAssets } from './assets.js';
import { driftViewFromReport } from './drift.js';
import { renderRunReport } from './report-page.js';
import { drift, report, run } from './views.fixtures.js';

describe('the standalone run report', () => {
  const { js, css } = loadUplotAssets();
  const page = renderRunReport({ assets: { kind: 'standalone', uplotJs: js, uplotCss: css } }, { run, report, drift: [driftViewFromReport(drift)], generatedAtMs: 0 }).value;

  it('inlines uPlot and holds no web address at all', () => {
    expect(page).toContain('uPlot');
    expect(page).toContain('.uplot');
    expect(page).not.toMatch(/https?:\/\//i);
    expect(page).not.toMatch(/\b(src|href)="(?!#|data:)/);
  });

  it('holds the evaluation, the drift and the decision', () => {
    expect(page).toContain('data-testid="roc-chart"');
    expect(page).toContain('data-testid="drift-report"');
    expect(page).toContain('data-testid="decision"');
    expect(page).not.toContain('<body data-poll');
  });
});
