// Benchmark of model training. Run from the repo root:
//   node --conditions=@refit/source --import tsx bench/train.ts
// Prints a table and writes bench/results/train.json: samples/s of the logistic model and an MLP on
// 100,000 rows × 20 features on the wasm and cpu backends side by side, peak memory, and the wall
// time of a 20-trial random search on the Seattle weather task.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyTransform, fitTransform, initBackend, labelsOf, searchModel, trainModel, type ModelSpec, type RawRow } from '../libs/modeling/src/index.js';
import { mulberry32 } from '../libs/modeling/src/random.js';
import { tf } from '../libs/modeling/src/tf.js';

const here = dirname(fileURLToPath(import.meta.url));
const MB = 1024 * 1024;
const ROWS = 100_000;
const COLS = 20;
const EPOCHS = 2;

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

// y = [w·x + noise > 0] with fixed random weights: learnable, not trivial.
const rng = mulberry32(7);
const X = new Float32Array(ROWS * COLS);
const y = new Float32Array(ROWS);
const w = Array.from({ length: COLS }, () => rng() * 2 - 1);
for (let i = 0; i < ROWS; i++) {
  let s = 0;
  for (let j = 0; j < COLS; j++) {
    const v = rng() * 4 - 2;
    X[i * COLS + j] = v;
    s += w[j] * v;
  }
  y[i] = s + (rng() - 0.5) > 0 ? 1 : 0;
}
const inputMB = (X.byteLength + y.byteLength) / MB;

const models: Record<string, ModelSpec> = {
  // Adam, whose throughput per backend this table compares (Newton's fitting time is bench/fit.ts's).
  logistic: { kind: 'logistic', epochs: EPOCHS, solver: 'adam' },
  // [64, 64] at batch 256 is the configuration whose wasm/cpu figures match the design brief (63k vs 23k).
  mlp: { kind: 'mlp', hidden: [64, 64], epochs: EPOCHS },
};
// 64 is the spec default; tfjs's per-batch overhead dominates there, so 256 is measured too.
const BATCHES = [64, 256];

// Samples/s from wall time, and from this process's CPU time: the machine is shared (2 cores), and
// other jobs stretch wall time but not CPU time.
type Row = { backend: string; model: string; batchSize: number; samplesPerSec: number; samplesPerCpuSec: number; computeMs: number; finalLoss: number };
const rows: Row[] = [];
for (const backend of ['wasm', 'cpu'] as const) {
  const chosen = await initBackend({ prefer: backend });
  if (chosen.backend !== backend) throw new Error(`wanted ${backend}, got ${chosen.backend}`);
  for (const [name, spec] of Object.entries(models)) {
    for (const batchSize of BATCHES) {
      const cpu = process.cpuUsage();
      const r = await trainModel({ X, y, n: ROWS, d: COLS, spec: { ...spec, batchSize } });
      const used = process.cpuUsage(cpu);
      const samples = ROWS * r.epochs;
      rows.push({
        backend,
        model: name,
        batchSize,
        samplesPerSec: samples / (r.computeMs / 1000),
        samplesPerCpuSec: samples / ((used.user + used.system) / 1e6),
        computeMs: r.computeMs,
        finalLoss: r.history.at(-1)?.loss ?? Number.NaN,
      });
      r.model.dispose();
    }
  }
}
const rate = (b: string, m: string, bs: number, cpuTime = false): number => {
  const r = rows.find((x) => x.backend === b && x.model === m && x.batchSize === bs);
  return (cpuTime ? r?.samplesPerCpuSec : r?.samplesPerSec) ?? Number.NaN;
};
const speedup = BATCHES.map((bs) => ({ batchSize: bs, wall: rate('wasm', 'mlp', bs) / rate('cpu', 'mlp', bs), cpu: rate('wasm', 'mlp', bs, true) / rate('cpu', 'mlp', bs, true) }));

// 20-trial random search on the Seattle weather task (shared/DATA.md), wasm.
await initBackend({ prefer: 'wasm' });
const csv = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data', 'seattle-weather.csv');
const [header, ...lines] = readFileSync(csv, 'utf8').trim().split('\n');
const names = header.split(',');
const weather = lines.map((l) => Object.fromEntries(l.split(',').map((c, i) => [names[i], c])) as RawRow);
const features = [
  { name: 'temp_max', type: 'number' as const },
  { name: 'temp_min', type: 'number' as const },
  { name: 'wind', type: 'number' as const },
];
const label = { column: 'precipitation', positive: { gt: 0 } };
const train = weather.filter((r) => String(r.date) < '2014-01-01');
const valid = weather.filter((r) => String(r.date) >= '2014-01-01' && String(r.date) < '2015-01-01');
const t = fitTransform(train, features);
const [tr, va] = [applyTransform(t, train), applyTransform(t, valid)];
const tensorsBefore = tf.memory().numTensors;
const started = performance.now();
const search = await searchModel({
  X: tr.X,
  y: labelsOf(train, label),
  n: tr.n,
  d: tr.d,
  validation: { X: va.X, y: labelsOf(valid, label), n: va.n },
  spec: { kind: 'mlp', epochs: 30, earlyStopping: { patience: 3 } },
  search: {
    strategy: 'random',
    trials: 20,
    seed: 1,
    space: { kind: { choices: ['logistic', 'mlp'] }, hidden: { choices: [[8], [16, 8], [32]] }, learningRate: { logRange: [0.001, 0.1] }, l2: { logRange: [1e-5, 1e-2] } },
  },
});
const searchMs = performance.now() - started;
search.model.dispose();
const tensorsAfter = tf.memory().numTensors;
clearInterval(sampler);

const k = (x: number): string => Math.round(x).toLocaleString('en').padStart(9);
console.log(`${EPOCHS} epochs of ${ROWS.toLocaleString('en')} rows × ${COLS} features; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('backend model     batch  samples/s  samples/cpu-s  final loss');
for (const r of rows) {
  console.log(`${r.backend.padEnd(7)} ${r.model.padEnd(9)} ${String(r.batchSize).padStart(5)}  ${k(r.samplesPerSec)}  ${k(r.samplesPerCpuSec).padStart(13)}  ${r.finalLoss.toFixed(4)}`);
}
for (const s of speedup) console.log(`mlp wasm/cpu at batch ${s.batchSize}: ${s.wall.toFixed(2)}× wall, ${s.cpu.toFixed(2)}× cpu time (brief: >= 2.5×)`);
console.log(
  `20-trial random search (Seattle weather, wasm): ${(searchMs / 1000).toFixed(2)} s, ${search.trials.reduce((a, x) => a + x.epochs, 0)} epochs in all, ` +
    `best val loss ${search.best.score?.toFixed(4)} ${JSON.stringify(search.best.params)}; tensors ${tensorsBefore} → ${tensorsAfter}`,
);
console.log(`memory: input ${inputMB.toFixed(1)} MB, peak RSS ${(peakRss / MB).toFixed(0)} MB`);

const out = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  loadAverage: loadavg(),
  data: { rows: ROWS, cols: COLS, epochs: EPOCHS, batchSizes: BATCHES, mlpHidden: models.mlp.hidden },
  throughput: rows.map((r) => ({ ...r, samplesPerSec: Math.round(r.samplesPerSec), samplesPerCpuSec: Math.round(r.samplesPerCpuSec), computeMs: Math.round(r.computeMs) })),
  mlpWasmOverCpu: speedup.map((s) => ({ batchSize: s.batchSize, wall: Math.round(s.wall * 100) / 100, cpu: Math.round(s.cpu * 100) / 100 })),
  search: {
    trials: search.trials.length,
    wallMs: Math.round(searchMs),
    epochs: search.trials.reduce((a, x) => a + x.epochs, 0),
    bestScore: search.best.score,
    bestParams: search.best.params,
    tensorsBefore,
    tensorsAfter,
  },
  memory: { inputMB: Math.round(inputMB * 10) / 10, peakRssMB: Math.round(peakRss / MB) },
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'train.json'), JSON.stringify(out, null, 2) + '\n');
