import { readFileSync, writeFileSync } from 'node:fs';
import { weatherCsvPath } from '@refit/testing';

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
