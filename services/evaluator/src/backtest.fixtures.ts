// Shared by the backtest tests: the weather-rain spec with a backtest, and Seattle's history.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawRow } from '@refit/modeling';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import { weatherRows } from '@refit/testing';

const here = fileURLToPath(new URL('.', import.meta.url));
const base = parseSpec(readFileSync(join(here, '../../../examples/weather-rain.yaml'), 'utf8'));

/** The weather-rain spec with a backtest over the last 16 windows of 91 days (four years of quarters). */
export const backtestSpec: PipelineSpec = {
  ...base,
  evaluation: { ...base.evaluation, backtest: { windows: 16, days: 91, minRows: 30 } },
  gates: { ...base.gates, backtest: { rule: 'most-windows', metric: 'auc', margin: 0 } },
};

/** The pipeline's history as ingestion stores it: every Seattle day 2012–2015. */
export const history = weatherRows('Seattle');

/** The history's days in [from, to). */
export const during = (from: string, to: string): RawRow[] => history.filter((r) => String(r.date) >= from && String(r.date) < to);

/** A 70/15/15 split like the ingestion service's (deterministic): train, validation, test. */
export function split(rows: RawRow[]): [RawRow[], RawRow[], RawRow[]] {
  const out: [RawRow[], RawRow[], RawRow[]] = [[], [], []];
  rows.forEach((r, i) => out[i % 20 < 14 ? 0 : i % 20 < 17 ? 1 : 2].push(r));
  return out;
}
