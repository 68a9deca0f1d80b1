// What a logistic training costs, by solver. Run from the repo root:
//   node --conditions=@refit/source --import tsx bench/fit.ts
// Prints a table and writes bench/results/fit.json: the wall time of one whole trainModel call
// (backend ready, validation loss every epoch, as the trainer calls it) for full-batch Newton and
// for the spec-default mini-batch Adam (50 epochs of 64 rows), on synthetic data of 1,000, 10,000
// and 100,000 rows × 20 columns and on the weather task (Seattle + New York, 2,922 rows); three
// runs each, min / median / max, and the validation log loss each reaches.
// Target (issue 22): a logistic model on ≤ 10,000 rows under 300 ms.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyTransform, fitTransform, initBackend, labelsOf, trainModel, type ModelSpec } from '../libs/modeling/src/index.js';
import { mulberry32 } from '../libs/modeling/src/random.js';
import { weatherRows } from '../libs/testing/src/index.js';
import { spreadOf } from './spread.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPEATS = 3;
const COLS = 20;

type Data = { name: string; X: Float32Array; y: Float32Array; n: number; d: number; val: { X: Float32Array; y: Float32Array; n: number } };

/** y = [w·x + noise > 0] with fixed random weights; every 4th row validates. */
function synthetic(rows: number): Data {
  const rng = mulberry32(7);
  const w = Array.from({ length: COLS }, () => rng() * 2 - 1);
  const all = new Float32Array(rows * COLS);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < COLS; j++) {
      const v = rng() * 4 - 2;
      all[i * COLS + j] = v;
      s += w[j] * v;
    }
    labels[i] = s + (rng() - 0.5) * 2 > 0 ? 1 : 0;
  }
  return split(`synthetic ${rows.toLocaleString('en')} × ${COLS}`, all, labels, rows, COLS);
}

function split(name: string, all: Float32Array, labels: Float32Array, rows: number, d: number): Data {
  const t = Array.from({ length: rows }, (_, i) => i).filter((i) => i % 4 !== 3);
  const v = Array.from({ length: rows }, (_, i) => i).filter((i) => i % 4 === 3);
  const pick = (idx: number[]) => ({ X: Float32Array.from(idx.flatMap((i) => Array.from(all.subarray(i * d, i * d + d)))), y: Float32Array.from(idx.map((i) => labels[i])), n: idx.length });
  const tr = pick(t);
  return { name, ...tr, d, val: pick(v) };
}

function weather(): Data {
  const rows = [...weatherRows('Seattle'), ...weatherRows('New York')];
  const features = [
    { name: 'temp_max', type: 'number' as const },
    { name: 'temp_min', type: 'number' as const },
    { name: 'wind', type: 'number' as const },
    { name: 'location', type: 'category' as const },
    { name: 'date', type: 'date' as const },
  ];
  const m = applyTransform(fitTransform(rows, features), rows);
  return split(`weather ${rows.length.toLocaleString('en')} × ${m.d}`, m.X, labelsOf(rows, { column: 'precipitation', positive: { gt: 0 } }), m.n, m.d);
}

await initBackend({ prefer: 'wasm' });
const before = loadavg();
const sets = [synthetic(1_000), synthetic(10_000), weather(), synthetic(100_000)];
const solvers: Array<[string, ModelSpec]> = [
  ['newton', { kind: 'logistic', solver: 'newton' }],
  ['adam', { kind: 'logistic', solver: 'adam' }],
];
type Row = { data: string; rows: number; solver: string; ms: { min: number; median: number; max: number }; epochs: number; valLoss: number };
const results: Row[] = [];
for (const data of sets) {
  for (const [solver, spec] of solvers) {
    // 50 epochs of Adam on 100,000 rows is minutes of the same arithmetic: once is enough to compare.
    const repeats = solver === 'adam' && data.n > 20_000 ? 1 : REPEATS;
    const times: number[] = [];
    let last: Awaited<ReturnType<typeof trainModel>> | undefined;
    for (let r = 0; r < repeats; r++) {
      last?.model.dispose();
      const started = performance.now();
      last = await trainModel({ X: data.X, y: data.y, n: data.n, d: data.d, spec, validation: data.val });
      times.push(performance.now() - started);
    }
    const t = spreadOf(times);
    const row: Row = {
      data: data.name,
      rows: data.n,
      solver,
      ms: { min: Math.round(t.min), median: Math.round(t.median), max: Math.round(t.max) },
      epochs: last!.epochs,
      valLoss: Math.round(last!.history.at(-1)!.valLoss! * 10_000) / 10_000,
    };
    last!.model.dispose();
    results.push(row);
    console.log(`${row.data.padEnd(26)} ${solver.padEnd(7)} ${String(row.ms.median).padStart(7)} ms (min ${row.ms.min}, max ${row.ms.max}, ${repeats} run${repeats > 1 ? 's' : ''})  ${String(row.epochs).padStart(3)} epochs  val log loss ${row.valLoss.toFixed(4)}`);
  }
}
const after = loadavg();
console.log(`load average before ${before.map((l) => l.toFixed(2)).join(' ')}, after ${after.map((l) => l.toFixed(2)).join(' ')}`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'fit.json'),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadAverage: { before, after }, backend: 'wasm', results }, null, 2) + '\n',
);
