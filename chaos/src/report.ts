import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from './result.js';

/** Seconds with one decimal, or `—`. */
const secs = (ms: number | undefined): string => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The results as a text table: scenario, fault, time from fault to completed run, outcome, problems. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const rows = results.map((r) => [
    r.scenario,
    cut(r.fault, 46),
    r.faultToCompletedMs !== undefined ? secs(r.faultToCompletedMs) : r.runs.length ? `(runs ${r.runs.map((x) => secs(x.durationMs)).join(', ')})` : '—',
    r.pass ? 'pass' : 'FAIL',
    r.problems.length === 0 ? (Object.keys(r.restarts).length ? `restarted: ${Object.entries(r.restarts).map(([p, n]) => `${p}×${n}`).join(', ')}` : '') : `${r.problems.length}: ${cut(r.problems[0], 90)}`,
  ]);
  const head = ['scenario', 'fault', 'fault → completed', 'outcome', 'problems'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Every problem of every failed scenario, one per line. */
export function formatProblems(results: readonly ScenarioResult[]): string {
  return results
    .filter((r) => r.problems.length > 0)
    .map((r) => `${r.scenario}:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`)
    .join('\n');
}

/**
 * Saves each result as `<dir>/<scenario>.json` and merges them into `<dir>/chaos.json` (the
 * latest result of every scenario ever run, so `--only` refreshes its rows and keeps the others).
 */
export function saveResults(dir: string, results: readonly ScenarioResult[]): string {
  mkdirSync(dir, { recursive: true });
  for (const r of results) writeFileSync(join(dir, `${r.scenario}.json`), `${JSON.stringify(r, null, 2)}\n`);
  const file = join(dir, 'chaos.json');
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { scenarios?: ScenarioResult[] }).scenarios ?? [] : [];
  const byName = new Map(previous.map((r) => [r.scenario, r]));
  for (const r of results) byName.set(r.scenario, r);
  const summary = { suite: 'chaos', date: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, scenarios: [...byName.values()] };
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  return file;
}
