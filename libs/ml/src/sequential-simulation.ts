// Seeded simulation of monitoring that looks again and again: how often the always-valid test
// and a fixed-level test repeated at every look reject. Used by sequential-sim.test.ts and
// bench/sequential.ts; not part of the public API.
import { mergeMeanStats, type MeanStats } from './mean-stats.js';
import { createRng } from './random.js';
import { createSequentialState, sequentialLook, type SequentialTestOptions } from './sequential.js';
import { normalSf } from './special/gamma.js';

/** A row generator: one per-row value (0/1 correctness, a loss…) from the uniform generator. */
export type Draw = (rng: () => number) => number;

/** One monitoring set-up to simulate. */
export interface RepeatedLooksScenario {
  /** Streams (independent repetitions). */
  streams: number;
  /** Looks per stream; rows arrive between looks. */
  looks: number;
  /** New candidate rows before each look. */
  candidatePerLook: number;
  /** Draws a candidate row. */
  candidate: Draw;
  /**
   * The reference: a fixed value; or rows — `warmup` rows drawn before the first look (a
   * performance trigger's reference) and/or `perLook` more before each look (a champion).
   */
  reference: { value: number } | { warmup?: number; perLook?: number; draw: Draw };
  options: SequentialTestOptions;
  seed: number;
}

/** What the simulation measured. */
export interface RepeatedLooksResult {
  streams: number;
  looks: number;
  /** Share of streams in which the always-valid test rejected at some look. */
  alwaysValid: number;
  /** Median look of the first rejection among streams that rejected (null when none did). */
  medianRejectionLook: number | null;
  /** Share of streams in which a fixed-level one-sided z-test at α, repeated at every look, rejected at some look. */
  repeatedFixed: number;
  /** Share of streams in which that z-test rejected at the last look alone (one look: ≈ α under the null). */
  lastLookFixed: number;
}

/** Normal rows by Box–Muller (one draw per call keeps the stream simple). */
export function normalDraw(mean: number, sd: number): Draw {
  return (rng) => mean + sd * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** 0/1 rows that are 1 with probability p. */
export function bernoulliDraw(p: number): Draw {
  return (rng) => (rng() < p ? 1 : 0);
}

function drawStats(rng: () => number, draw: Draw, n: number): MeanStats {
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const x = draw(rng);
    const d = x - mean;
    mean += d / (i + 1);
    m2 += d * (x - mean);
  }
  return { n, mean, m2 };
}

/**
 * Runs `streams` independent streams of `looks` looks each and counts rejections of the
 * always-valid test ({@link sequentialLook}) and of a one-sided z-test at α on the same data and
 * the same plug-in standard error, repeated at every look.
 */
export function simulateRepeatedLooks(s: RepeatedLooksScenario): RepeatedLooksResult {
  const rng = createRng(s.seed);
  const alpha = s.options.alpha ?? 0.05;
  let always = 0;
  let repeated = 0;
  let last = 0;
  const firstLooks: number[] = [];
  for (let stream = 0; stream < s.streams; stream++) {
    let state = createSequentialState();
    let candidate: MeanStats = { n: 0, mean: 0, m2: 0 };
    const ref = s.reference;
    let reference: MeanStats | number = 'value' in ref ? ref.value : drawStats(rng, ref.draw, ref.warmup ?? 0);
    let rejectedAt = 0;
    let fixedRejected = false;
    let lastRejected = false;
    for (let look = 1; look <= s.looks; look++) {
      candidate = mergeMeanStats(candidate, drawStats(rng, s.candidate, s.candidatePerLook));
      if (typeof reference !== 'number' && !('value' in ref) && ref.perLook) reference = mergeMeanStats(reference, drawStats(rng, ref.draw, ref.perLook));
      const r = sequentialLook(state, { candidate, reference }, s.options);
      state = r.state;
      if (r.rejected && rejectedAt === 0) rejectedAt = look;
      if (r.worsening !== null && r.standardError !== null) {
        const hit = normalSf((r.worsening - s.options.margin) / r.standardError) <= alpha;
        fixedRejected ||= hit;
        if (look === s.looks) lastRejected = hit;
      }
    }
    if (rejectedAt > 0) {
      always++;
      firstLooks.push(rejectedAt);
    }
    if (fixedRejected) repeated++;
    if (lastRejected) last++;
  }
  firstLooks.sort((a, b) => a - b);
  return {
    streams: s.streams,
    looks: s.looks,
    alwaysValid: always / s.streams,
    medianRejectionLook: firstLooks.length ? firstLooks[Math.floor((firstLooks.length - 1) / 2)] : null,
    repeatedFixed: repeated / s.streams,
    lastLookFixed: last / s.streams,
  };
}
