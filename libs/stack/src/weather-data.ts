import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The vega-datasets weather file (Seattle and New York daily weather, 2012–2015). */
export function weatherCsvPath(): string {
  // The package exports only its JS entry (build/index.js); the data folder sits beside build/.
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('vega-datasets')), '..', 'data', 'weather.csv');
}

/** Writes the rows of one location and year range to `out` (CSV with the header) and returns them parsed. */
export function writeWeatherSlice(out: string, location: string, fromYear: number, toYear: number): Array<Record<string, string>> {
  const [header, ...lines] = readFileSync(weatherCsvPath(), 'utf8').trim().split('\n');
  const names = header.split(',');
  const keep = lines.filter((l) => {
    const [loc, date] = l.split(',');
    const year = Number(date.slice(0, 4));
    return loc === location && year >= fromYear && year <= toYear;
  });
  writeFileSync(out, `${[header, ...keep].join('\n')}\n`);
  return keep.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
}
