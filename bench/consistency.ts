// Benchmark of the consistency score (exact brute-force kNN). Run from the repo root:
// node --import tsx bench/consistency.ts — prints a table and writes bench/results/consistency.json.
// Above 5,000 rows a seeded sample of 5,000 query rows is searched against all rows.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { consistencyOf, createRng, nearestNeighbours } from '../libs/ml/src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const rng = createRng(42);
const D = Number(process.env.BENCH_D ?? 20);
const sizes = (process.env.BENCH_N ?? '1000,5000,20000,100000').split(',').map(Number);

const results = sizes.map((n) => {
  // Standardized features with a few one-hot columns, as a transform produces them.
  const X = Float64Array.from({ length: n * D }, (_, i) => (i % D < D - 5 ? rng() * 2 - 1 : rng() < 0.2 ? 1 : 0));
  const y = Float64Array.from({ length: n }, (_, i) => (X[i * D] + 0.5 * rng() > 0.2 ? 0.9 : 0.1));
  const c = process.cpuUsage();
  const t = performance.now();
  const nb = nearestNeighbours(X, n, D, { k: 5 });
  const report = consistencyOf(nb, y);
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(c);
  const row = { n, d: D, k: 5, queries: report.queries, sampled: report.sampled, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), score: report.score };
  console.log(`n ${String(n).padStart(7)}  d ${D}  queries ${String(row.queries).padStart(5)}${row.sampled ? ' (sampled)' : '          '}  ${String(row.ms).padStart(7)} ms  cpu ${row.cpuMs} ms`);
  return row;
});
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'consistency.json'), `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
