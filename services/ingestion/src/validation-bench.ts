// The in-process part of bench/data.ts: CSV reading, row validation, profiling and typed JSON lines
// for a generated 10-column file, with no I/O. Reads a pipeline spec (YAML) on stdin, takes the
// row count as its argument, prints {rows, rowsPerSec, cpuRowsPerSec} as JSON.
import { readFileSync } from 'node:fs';
import { parseSpec } from '@refit/spec';
import { CsvReader } from './csv-reader.js';
import { RowChecker } from './row-check.js';
import { mapHeader } from './validate.js';

const spec = parseSpec(readFileSync(0, 'utf8'));
const rows = Number(process.argv[2] ?? 1_000_000);
const CITIES = ['Seattle', 'New York', 'Austin', 'Boston', 'Denver', 'Miami', 'Chicago', 'Portland'];
const CHANNELS = ['web', 'app', 'store'];
// Same rows as bench/data.ts's end-to-end file.
const line = (i: number): string =>
  `${i},${new Date(Date.UTC(2014, 0, 1) + (i % 1000) * 86_400_000).toISOString().slice(0, 10)},${((i * 7919) % 100000) / 100},${(((i * 31) % 700) / 10 - 20).toFixed(1)},${i % 13 === 0 ? '' : ((i % 97) / 7).toFixed(2)},${Math.sin(i).toFixed(4)},${i % 50},${CITIES[i % 8]},${CHANNELS[i % 3]},${i % 5 === 0}`;
const text = Buffer.from(`${spec.schema.columns.map((c) => c.name).join(',')}\n${Array.from({ length: rows }, (_, i) => line(i)).join('\n')}\n`);

const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const reader = new CsvReader();
const checker = new RowChecker(spec.schema.columns);
let header: string[] | undefined;
let indexes: number[] = [];
let ok = 0;
let written = 0;
const c0 = cpu();
const t0 = performance.now();
for (let p = 0; p <= text.length; p += 64 * 1024) {
  let out = '';
  for (const r of reader.feed(p < text.length ? text.subarray(p, p + 64 * 1024) : undefined)) {
    if (!header) {
      header = r.fields;
      indexes = mapHeader(header, spec.schema.columns).indexes;
      continue;
    }
    const res = checker.check(r.fields, indexes, header.length, r.raw, r.line);
    if ('json' in res) {
      ok++;
      out += `${res.json}\n`;
    }
  }
  written += out.length;
}
const ms = performance.now() - t0;
if (ok !== rows || written === 0) throw new Error(`validation bench: ${ok} of ${rows} rows passed`);
console.log(JSON.stringify({ rows, rowsPerSec: (rows / ms) * 1000, cpuRowsPerSec: (rows / (cpu() - c0)) * 1000 }));
