// Repeated-look false alarms and power of @refit/ml's always-valid sequential test, against a
// fixed-level test repeated at every look. Run from the repo root:
//   node --import tsx bench/sequential.ts
// Prints a table and writes bench/results/sequential.json. Seeded: the numbers are reproducible.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalMixtureBound, normalQuantile } from '../libs/ml/src/index.js';
import { bernoulliDraw, simulateRepeatedLooks, type Draw, type RepeatedLooksScenario } from '../libs/ml/src/sequential-simulation.js';

const here = dirname(fileURLToPath(import.meta.url));
const STREAMS = 10_000;
const ALPHA = 0.05;
const loss = (mean: number): Draw => (rng) => -Math.log(1 - rng()) * mean;
const accuracy = { higherIsBetter: true, alpha: ALPHA, variance: 'bernoulli' as const };

type Case = { name: string; kind: 'null' | 'no change' | 'drop'; scenario: Omit<RepeatedLooksScenario, 'streams' | 'seed'> };
const cases: Case[] = [
  { name: 'trigger: accuracy 0.80 → 0.75, warm-up 500, 100 looks of 50', kind: 'null', scenario: { looks: 100, candidatePerLook: 50, candidate: bernoulliDraw(0.75), reference: { warmup: 500, draw: bernoulliDraw(0.8) }, options: { ...accuracy, margin: 0.05 } } },
  { name: 'trigger: accuracy 0.80 → 0.75, warm-up 100, 100 looks of 50', kind: 'null', scenario: { looks: 100, candidatePerLook: 50, candidate: bernoulliDraw(0.75), reference: { warmup: 100, draw: bernoulliDraw(0.8) }, options: { ...accuracy, margin: 0.05 } } },
  { name: 'trigger: accuracy 0.95 → 0.90, warm-up 500, 100 looks of 50', kind: 'null', scenario: { looks: 100, candidatePerLook: 50, candidate: bernoulliDraw(0.9), reference: { warmup: 500, draw: bernoulliDraw(0.95) }, options: { ...accuracy, margin: 0.05 } } },
  { name: 'trigger: accuracy 0.75 vs declared 0.80, 100 looks of 50', kind: 'null', scenario: { looks: 100, candidatePerLook: 50, candidate: bernoulliDraw(0.75), reference: { value: 0.8 }, options: { ...accuracy, margin: 0.05 } } },
  { name: 'trigger: accuracy 0.80 → 0.75, warm-up 500, 300 looks of 10', kind: 'null', scenario: { looks: 300, candidatePerLook: 10, candidate: bernoulliDraw(0.75), reference: { warmup: 500, draw: bernoulliDraw(0.8) }, options: { ...accuracy, margin: 0.05 } } },
  { name: 'trigger: log loss 0.50 → 0.55 (exponential rows), warm-up 500, 100 looks of 50', kind: 'null', scenario: { looks: 100, candidatePerLook: 50, candidate: loss(0.55), reference: { warmup: 500, draw: loss(0.5) }, options: { higherIsBetter: false, alpha: ALPHA, margin: 0.05 } } },
  { name: 'canary 10 %: 0.78 → 0.76 (margin 0.02), 100 ticks of 20 + 180 rows', kind: 'null', scenario: { looks: 100, candidatePerLook: 20, candidate: bernoulliDraw(0.76), reference: { perLook: 180, draw: bernoulliDraw(0.78) }, options: { ...accuracy, margin: 0.02 } } },
  { name: 'trigger: accuracy stable at 0.80, warm-up 500, 100 looks of 50', kind: 'no change', scenario: { looks: 100, candidatePerLook: 50, candidate: bernoulliDraw(0.8), reference: { warmup: 500, draw: bernoulliDraw(0.8) }, options: { ...accuracy, margin: 0.05 } } },
  ...[0.7, 0.65, 0.6].map((p): Case => ({ name: `trigger: accuracy 0.80 → ${p.toFixed(2)}, warm-up 500, 100 looks of 50`, kind: 'drop', scenario: { looks: 100, candidatePerLook: 50, candidate: bernoulliDraw(p), reference: { warmup: 500, draw: bernoulliDraw(0.8) }, options: { ...accuracy, margin: 0.05 } } })),
  ...[0.7, 0.65].map((p): Case => ({ name: `trigger: accuracy 0.80 → ${p.toFixed(2)}, declared 0.80, 100 looks of 50`, kind: 'drop', scenario: { looks: 100, candidatePerLook: 50, candidate: bernoulliDraw(p), reference: { value: 0.8 }, options: { ...accuracy, margin: 0.05 } } })),
];

const results = cases.map((c, i) => {
  const t = performance.now();
  const r = simulateRepeatedLooks({ ...c.scenario, streams: STREAMS, seed: 1000 + i });
  const ms = performance.now() - t;
  const row = { name: c.name, kind: c.kind, ...r, ms: Math.round(ms) };
  console.log(
    `${c.name.padEnd(82)} ${c.kind.padEnd(9)} always-valid ${r.alwaysValid.toFixed(4)}  repeated fixed-level ${r.repeatedFixed.toFixed(4)}  last look only ${r.lastLookFixed.toFixed(4)}${r.medianRejectionLook !== null ? `  median look ${r.medianRejectionLook}` : ''}`,
  );
  return row;
});

// The price of looking at any time: the one-sided boundary's half-width over a fixed-n one-sided
// z-interval's, at the same information, for the trigger's default mixing (τ = maxDrop = 0.05)
// and per-row variance 0.16 (accuracy near 0.8).
const tau = 0.05;
const z = normalQuantile(1 - ALPHA);
const widths = [50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000].map((n) => {
  const information = n / 0.16;
  const ratio = normalMixtureBound(information, ALPHA, 1 / (tau * tau)) / information / (z / Math.sqrt(information));
  return { rows: n, halfWidth: normalMixtureBound(information, ALPHA, 1 / (tau * tau)) / information, fixedHalfWidth: z / Math.sqrt(information), ratio };
});
console.log('\nrows   always-valid half-width   fixed-n half-width   ratio   (τ = 0.05, per-row variance 0.16, α = 0.05 one-sided)');
for (const w of widths) console.log(`${String(w.rows).padStart(6)}   ${w.halfWidth.toFixed(4).padStart(10)}   ${w.fixedHalfWidth.toFixed(4).padStart(18)}   ${w.ratio.toFixed(2).padStart(8)}`);

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'sequential.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, streams: STREAMS, alpha: ALPHA, results, widths }, null, 2)}\n`,
);
console.log(`\nwrote ${join('bench', 'results', 'sequential.json')}`);
