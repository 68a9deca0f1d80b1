// Real data for the replay's tests: slices of vega-datasets' NOAA weather (Seattle and New York,
// 2012–2015) and the example spec with other triggers, hygiene and a smaller training budget.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseSpec, type PipelineSpec } from '@refit/spec';
import type { DataFile } from './records.js';

const root = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..');
const [header, ...lines] = readFileSync(join(root, 'data', 'weather.csv'), 'utf8').trim().split('\n');
const example = readFileSync(new URL('../../examples/weather-rain.yaml', import.meta.url), 'utf8');

/** A slice of the weather rows: a location's days in [from, until). */
export type Slice = { location: 'Seattle' | 'New York'; from: string; until: string };

/** The rows of the slices, in the order given, as one CSV file. */
export function weather(name: string, ...slices: Slice[]): DataFile {
  const rows = slices.flatMap((s) =>
    lines.filter((l) => {
      const [location, date] = l.split(',');
      return location === s.location && date >= s.from && date < s.until;
    }),
  );
  return { name, text: `${header}\n${rows.join('\n')}\n` };
}

/** What to change in the example spec (examples/weather-rain.yaml). */
export type SpecEdit = { window?: string; epochs?: number; learningRate?: number; triggers: string[]; tail?: string; gates?: string };

/** The example spec's YAML with other triggers (after `manual`), window, training budget and gates. */
export function specYaml(e: SpecEdit): string {
  let y = example.replace('window: { lastBatches: 1 }', `window: ${e.window ?? 'all'}`);
  if (e.epochs !== undefined) y = y.replace('epochs: 60', `epochs: ${e.epochs}`);
  if (e.learningRate !== undefined) y = y.replace('learningRate: 0.05', `learningRate: ${e.learningRate}`);
  if (e.gates) y = y.replace(/\ngates:\n[\s\S]*?\ntriggers:/, `\n${e.gates}\ntriggers:`);
  y = y.replace(/triggers:\n\s+- kind: manual\n?$/, `triggers:\n  - kind: manual\n${e.triggers.map((t) => `  - ${t}\n`).join('')}`);
  return `${y.trimEnd()}\n${e.tail ? `${e.tail}\n` : ''}`;
}

/** The parsed spec of {@link specYaml}. */
export function spec(e: SpecEdit): PipelineSpec {
  return parseSpec(specYaml(e));
}
