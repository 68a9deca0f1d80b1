/**
 * The metric names that the deploy/ dashboards and alerting rules use, and those README.md
 * documents: so tests can check them against each other and against what the services register.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './stack.js';

/** A Prometheus alerting rule as deploy/prometheus/alerts.yml writes it. */
export type AlertRule = { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };

const METRIC = /\b(?:refit|process|nodejs)_[a-z0-9_]+\b/g;
/** A histogram's series are named after its family with these suffixes. */
const SERIES_SUFFIX = /_(bucket|count|sum)$/;

/** The metric families a PromQL expression reads. */
export function metricsOf(expr: string): string[] {
  return [...new Set([...expr.matchAll(METRIC)].map(([m]) => m.replace(SERIES_SUFFIX, '')))];
}

/** The rules of deploy/prometheus/alerts.yml. */
export function alertRules(): AlertRule[] {
  const doc = parse(readFileSync(join(REPO_ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ name: string; rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules);
}

/** Every PromQL expression of deploy/grafana/refit.json (panel targets and template queries). */
export function dashboardExprs(): string[] {
  const dash = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/grafana/refit.json'), 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ definition?: string }> };
  };
  return [...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dash.templating.list.flatMap((v) => (v.definition ? [v.definition] : []))];
}

/** Every metric family the dashboard and the alerting rules use. */
export function deployMetricNames(): string[] {
  return [...new Set([...dashboardExprs(), ...alertRules().map((r) => r.expr)].flatMap(metricsOf))].sort();
}

/** The `refit_*` families the README's Metrics table documents. */
export function documentedMetricNames(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Metrics'), readme.indexOf('## Configuration'));
  const rows = section.split('\n').filter((l) => l.startsWith('| `refit_'));
  return [...new Set(rows.flatMap((l) => [...l.split('|')[1].matchAll(/`(refit_[a-z0-9_]+)`/g)].map(([, n]) => n)))].sort();
}
