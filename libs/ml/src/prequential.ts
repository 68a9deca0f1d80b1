// Prequential (test-then-train) comparison of an online learner with the champion it shadows, by
// the always-valid normal-mixture tests of sequential.ts: checked after every labelled row or
// micro-batch, as often as one likes, without inflating the chance of a wrong promotion.
import { MlRangeError } from './errors.js';
import { EMPTY_MEAN_STATS, mergeMeanStats, type MeanStats } from './mean-stats.js';
import { alwaysValidHalfWidth, createSequentialState, oneSampleSequential, type SequentialResult, type SequentialState, type SequentialTestOptions } from './sequential.js';
import { assertFinite, assertOption, assertSameLength } from './validate.js';

/** What the models predict: probabilities of 1 for 0/1 labels, or values for a numeric target. */
export type PrequentialHead = 'binary' | 'regression';

/** Options of {@link prequentialLook}. Keep them fixed for the life of a state. */
export interface PrequentialOptions {
  /** `binary`: y is 0/1, predictions are probabilities, the loss is log loss; `regression`: squared error. */
  head: PrequentialHead;
  /** Level of every test (each one-sided bound), in (0, 0.5). Default 0.05. */
  alpha?: number;
  /**
   * Standard deviation of the normal mixture, in loss units per row: differences of about this
   * size are shown soonest; validity never depends on it. Default 0.05.
   */
  tau?: number;
  /** Skill over the base rate (loss units per row) below which the labels count as carrying no signal the learner can use. Default 0.01. */
  skillMargin?: number;
  /** Rows of a window of the skill tests: they restart every this many rows. Default 200. */
  resetWindow?: number;
  /**
   * Rows the base rate must have seen before a row enters the skill tests. Default 100. A
   * running mean of few rows is a poor predictor (its excess log loss over the true rate is about
   * 1/(2n) at row n), so early on any model near the rate would seem to have skill.
   */
  baseRateWarmup?: number;
}

/** Running totals of one window of the skill tests (part of {@link PrequentialState}). */
export interface PrequentialWindow {
  /** Index of this window since the state was created (0 for the first). */
  index: number;
  /** Rows in this window so far. */
  rows: number;
  /** The learner's skill over the base rate (baseline loss − learner loss) in this window. */
  learner: SequentialState;
  /** The champion's skill over the base rate in this window. */
  champion: SequentialState;
}

/** Everything the judge remembers between looks; plain JSON (finite numbers only), so it can be checkpointed. */
export interface PrequentialState {
  /** Rows judged since the state was created. */
  rows: number;
  /** Rows and Σy seen so far in the stream (carried over from state to state): the prequential base rate of the next row. */
  base: { n: number; sum: number };
  /** Per-row losses of either model since creation. */
  learnerLoss: MeanStats;
  championLoss: MeanStats;
  /** Rows each model classified right (binary head, threshold 0.5). */
  learnerCorrect: number;
  championCorrect: number;
  /** The test of improvement = champion loss − learner loss > 0, over every row since creation. */
  improvement: SequentialState;
  /** The test of the learner's skill = base-rate loss − learner loss > 0, over the same rows (after the base rate's warm-up). */
  skill: SequentialState;
  /** The current window of the skill tests. */
  window: PrequentialWindow;
}

/** Bounds of a test at one look: ∓Number.MAX_VALUE before it could test. */
export type PrequentialBounds = { lower: number; upper: number };

/** What one look found: the evidence, and whether it is enough to promote or to reset the learner. */
export interface PrequentialLook {
  /** The state to keep (and checkpoint) for the next look. */
  state: PrequentialState;
  evidence: {
    /** Rows judged since the state was created. */
    rows: number;
    /** Mean per-row loss of the learner and the champion (log loss, or squared error for a regression head). */
    learnerLogLoss: number;
    championLogLoss: number;
    /** Mean of champion loss − learner loss: positive when the learner is better. */
    improvement: number;
    /** Anytime-valid bounds of the improvement at this look (one-sided at alpha each); ∓Number.MAX_VALUE before a test was possible. */
    lower: number;
    upper: number;
    /** Anytime-valid p-value of "improvement ≤ 0" at this look (1 / the mixture's e-value); ≤ alpha exactly when `lower` > 0. */
    pValue: number;
    alpha: number;
    /** Share of rows classified right at 0.5 (binary head; 0 for regression). */
    learnerAccuracy: number;
    championAccuracy: number;
    /** Mean of base-rate loss − learner loss since the state was created (rows after the base rate's warm-up). */
    skill: number;
    /** Anytime-valid lower bound of that skill at this look; −Number.MAX_VALUE before a test was possible. */
    skillLower: number;
    /** The learner's and the champion's skill over the base rate on the current window. */
    windowSkill: PrequentialBounds;
    championWindowSkill: PrequentialBounds;
    /** Rows in the current window, and its index (0 for the first window of the state). */
    windowRows: number;
    window: number;
  };
  /** Promote: the learner is shown better than the champion and than the base rate. */
  better: boolean;
  /** Reset: the learner is shown worse than the champion, or the labels carry no signal it can learn. */
  worse: boolean;
  /** One sentence with the numbers. */
  why: string;
}

const P_MIN = 1e-7;
/**
 * Rows a test needs before it looks: its variance is a plug-in estimate, and from a handful of
 * rows that estimate can be near 0 and make a bound absurd.
 */
export const PREQUENTIAL_MIN_ROWS = 30;
const UNTESTED = Number.MAX_VALUE;

/**
 * The state before the first row. After a promotion or a reset pass the last state: the new one
 * keeps its base rate (a property of the stream, not of the models compared), and nothing else.
 */
export function createPrequentialState(carry?: PrequentialState): PrequentialState {
  return {
    rows: 0,
    base: carry ? { n: carry.base.n, sum: carry.base.sum } : { n: 0, sum: 0 },
    learnerLoss: { ...EMPTY_MEAN_STATS },
    championLoss: { ...EMPTY_MEAN_STATS },
    learnerCorrect: 0,
    championCorrect: 0,
    improvement: createSequentialState(),
    skill: createSequentialState(),
    window: newWindow(0),
  };
}

function newWindow(index: number): PrequentialWindow {
  return { index, rows: 0, learner: createSequentialState(), champion: createSequentialState() };
}

type Resolved = { head: PrequentialHead; alpha: number; tau: number; skillMargin: number; resetWindow: number; warmup: number; test: SequentialTestOptions };

function resolve(opts: PrequentialOptions): Resolved {
  const fn = 'prequentialLook';
  if (opts === null || typeof opts !== 'object' || (opts.head !== 'binary' && opts.head !== 'regression')) throw new MlRangeError(`${fn}: option head must be binary or regression`);
  const alpha = opts.alpha ?? 0.05;
  const tau = opts.tau ?? 0.05;
  const skillMargin = opts.skillMargin ?? 0.01;
  const resetWindow = opts.resetWindow ?? 200;
  const warmup = opts.baseRateWarmup ?? 100;
  assertOption(warmup, (w) => Number.isInteger(w) && w >= 1, fn, 'baseRateWarmup', 'an integer >= 1');
  assertOption(alpha, (a) => a > 0 && a < 0.5, fn, 'alpha', 'in (0, 0.5)');
  assertOption(tau, (t) => t > 0 && Number.isFinite(t), fn, 'tau', 'a finite number > 0');
  assertOption(skillMargin, (m) => m >= 0 && Number.isFinite(m), fn, 'skillMargin', 'a finite number >= 0');
  assertOption(resetWindow, (w) => Number.isInteger(w) && w >= 2, fn, 'resetWindow', 'an integer >= 2');
  // Per-row values are differences of losses, tested against 0: "higher is worse" makes the
  // sequential test's worsening the mean difference itself, so its bounds are the mean's.
  return { head: opts.head, alpha, tau, skillMargin, resetWindow, warmup, test: { higherIsBetter: false, margin: 0, alpha, tau } };
}

function loss(head: PrequentialHead, y: number, p: number): number {
  if (head === 'regression') return (y - p) * (y - p);
  const q = Math.min(Math.max(p, P_MIN), 1 - P_MIN);
  return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
}

/** Adds one value to running statistics (Welford). */
function push(s: MeanStats, x: number): void {
  s.n++;
  const d = x - s.mean;
  s.mean += d / s.n;
  s.m2 += d * (x - s.mean);
}

function checkRows(rows: { y: ArrayLike<number>; learner: ArrayLike<number>; champion: ArrayLike<number> }, head: PrequentialHead): number {
  const fn = 'prequentialLook';
  const n = assertFinite(rows.y, fn, 'rows.y', true);
  assertFinite(rows.learner, fn, 'rows.learner', true);
  assertFinite(rows.champion, fn, 'rows.champion', true);
  assertSameLength(rows.y, rows.learner, fn, 'rows.y', 'rows.learner');
  assertSameLength(rows.y, rows.champion, fn, 'rows.y', 'rows.champion');
  if (head === 'binary') {
    for (let i = 0; i < n; i++) {
      if (rows.y[i] !== 0 && rows.y[i] !== 1) throw new MlRangeError(`${fn}: rows.y[${i}] is ${rows.y[i]}, expected 0 or 1`);
      for (const [name, p] of [['rows.learner', rows.learner[i]], ['rows.champion', rows.champion[i]]] as const) {
        if (p < 0 || p > 1) throw new MlRangeError(`${fn}: ${name}[${i}] is ${p}, expected a probability in [0, 1]`);
      }
    }
  }
  return n;
}

/** This look's bounds of a test, not intersected over looks (see {@link prequentialLook}). */
function currentBounds(r: SequentialResult, alpha: number, tau: number): { lower: number; upper: number } {
  if (r.state.candidate.n < PREQUENTIAL_MIN_ROWS || r.standardError === null || r.worsening === null || r.pending !== undefined) return { lower: -UNTESTED, upper: UNTESTED };
  const half = alwaysValidHalfWidth(r.standardError, alpha, tau);
  return { lower: r.worsening - half, upper: r.worsening + half };
}

/**
 * Judges the rows just labelled, each scored by the learner and by the champion BEFORE the
 * learner learns from it, and says whether the learner should replace the champion (`better`)
 * or be reset to the champion's weights (`worse`). Call it after every labelled row or
 * micro-batch; after a promotion or a reset start again from {@link createPrequentialState}.
 *
 * Per row: the loss of either model (log loss with p clipped to [1e-7, 1 − 1e-7], or squared
 * error), and of a no-skill baseline, the prequential base rate — the mean of y over the rows
 * seen before this one (since the first state of the stream: see {@link createPrequentialState}),
 * Laplace-smoothed for 0/1 labels ((ones + 1) / (n + 2)). Rows before the base rate has seen
 * `baseRateWarmup` rows are left out of the skill tests.
 *
 * `better` needs three things:
 * - the improvement (champion loss − learner loss) shown positive by the anytime-valid
 *   one-sample test of {@link oneSampleSequential} over EVERY row since the state was created
 *   (the learner started from this champion then): a false promotion serves a worse model, so this
 *   test is strict — valid however often it is looked at;
 * - the learner's skill over the base rate shown positive (lower bound > 0) on the same rows, and
 * - not shown below `skillMargin` on the current window (see `worse`).
 *   With shuffled labels the best predictor is the base rate, so a learner drifting to it WOULD
 *   beat a confident champion on log loss: it must not be promoted for that.
 *   Why the positive skill is asked over all the rows and not on the current window alone: on the
 *   daily weather replay (replay/src/stream-replay.ts) the learner's skill is about 0.06 nats a
 *   row and a 200-row window's bounds are ±0.15 or wider, so a window could never show it and no
 *   learner would ever be promoted. The window still blocks a promotion as soon as it shows the
 *   skill gone (labels turned to noise), which takes few rows because a learner near the base rate
 *   has per-row losses close to the base rate's (small variance).
 *
 * `worse` is either
 * - the learner shown worse than the champion (improvement upper bound < 0), or
 * - on the current window (a test restarted every `resetWindow` rows) the learner's skill shown
 *   below `skillMargin` (upper bound < skillMargin) while the champion's skill there is not
 *   established either (its lower bound ≤ 0): the labels carry no signal the learner can learn.
 *   This check waits for the second window, so a learner that starts unskilled after a shift has
 *   `resetWindow` rows to learn before it is judged.
 * A reset only costs relearning, so its window test may restart (each window has its own alpha);
 * a promotion is strict.
 *
 * Every bound is this look's, not intersected over the looks: the quantities judged move (a
 * learner learns, labels change), and the normal-mixture sequence covers the running mean at
 * every look at once, while an intersection would keep the bound of a mean that has since moved.
 * So `better` asks that the evidence holds NOW — a rejection at this look, which under "the
 * improvement has never been positive" happens at any look with probability at most alpha (Ville's
 * inequality) — and never promotes on evidence the learner has since lost. Plug-in variances make
 * every guarantee asymptotic, as in `sequentialLook`; no test looks before it has
 * {@link PREQUENTIAL_MIN_ROWS} rows.
 * @param state - the previous state ({@link createPrequentialState} at first).
 * @param rows - the labelled rows: y (0/1 for binary), the learner's and the champion's predictions.
 * @param opts - see {@link PrequentialOptions}.
 * @throws MlRangeError on bad options, lengths that differ, non-finite values, labels other than 0/1 or probabilities outside [0, 1] (binary).
 */
export function prequentialLook(state: PrequentialState, rows: { y: ArrayLike<number>; learner: ArrayLike<number>; champion: ArrayLike<number> }, opts: PrequentialOptions): PrequentialLook {
  const o = resolve(opts);
  const n = checkRows(rows, o.head);
  const next: PrequentialState = structuredClone(state);
  const diffs: MeanStats = { ...EMPTY_MEAN_STATS };
  const skills: MeanStats = { ...EMPTY_MEAN_STATS };
  let learnerSkill: MeanStats = { ...EMPTY_MEAN_STATS };
  let championSkill: MeanStats = { ...EMPTY_MEAN_STATS };
  let learnerLook = oneSampleSequential(next.window.learner, learnerSkill, 0, o.test);
  let championLook = oneSampleSequential(next.window.champion, championSkill, 0, o.test);
  const closeSegment = (): void => {
    learnerLook = oneSampleSequential(next.window.learner, learnerSkill, 0, o.test);
    championLook = oneSampleSequential(next.window.champion, championSkill, 0, o.test);
    next.window.learner = learnerLook.state;
    next.window.champion = championLook.state;
    learnerSkill = { ...EMPTY_MEAN_STATS };
    championSkill = { ...EMPTY_MEAN_STATS };
  };
  for (let i = 0; i < n; i++) {
    if (next.window.rows === o.resetWindow) {
      closeSegment();
      next.window = newWindow(next.window.index + 1);
    }
    const y = rows.y[i];
    const lLoss = loss(o.head, y, rows.learner[i]);
    const cLoss = loss(o.head, y, rows.champion[i]);
    push(next.learnerLoss, lLoss);
    push(next.championLoss, cLoss);
    push(diffs, cLoss - lLoss);
    if (o.head === 'binary') {
      next.learnerCorrect += (rows.learner[i] >= 0.5 ? 1 : 0) === y ? 1 : 0;
      next.championCorrect += (rows.champion[i] >= 0.5 ? 1 : 0) === y ? 1 : 0;
    }
    const { n: seen, sum } = next.base;
    if (seen >= o.warmup) {
      const baseline = o.head === 'binary' ? (sum + 1) / (seen + 2) : sum / seen;
      const bLoss = loss(o.head, y, baseline);
      push(skills, bLoss - lLoss);
      push(learnerSkill, bLoss - lLoss);
      push(championSkill, bLoss - cLoss);
    }
    next.base = { n: seen + 1, sum: sum + y };
    next.rows++;
    next.window.rows++;
  }
  closeSegment();
  const imp = lookAfterMinRows(next.improvement, diffs, o.test);
  const skill = lookAfterMinRows(next.skill, skills, o.test);
  next.improvement = imp.state;
  next.skill = skill.state;
  const bounds = (r: SequentialResult): PrequentialBounds => currentBounds(r, o.alpha, o.tau);
  return verdict(next, { improvement: bounds(imp), improvementLook: imp, skill: bounds(skill), window: bounds(learnerLook), championWindow: bounds(championLook) }, o);
}

/** A test with the new rows; it only adds them to its totals until it has {@link PREQUENTIAL_MIN_ROWS}. */
function lookAfterMinRows(prev: SequentialState, diffs: MeanStats, test: SequentialTestOptions): SequentialResult {
  const candidate = mergeMeanStats(prev.candidate, diffs);
  if (candidate.n >= PREQUENTIAL_MIN_ROWS) return oneSampleSequential(prev, diffs, 0, test);
  const state = { ...prev, candidate };
  return { state, candidateMean: candidate.n > 0 ? candidate.mean : null, referenceMean: 0, worsening: null, standardError: null, lower: prev.lower, upper: prev.upper, pValue: prev.pValue, logE: null, rejected: false, information: 0, pending: `fewer than ${PREQUENTIAL_MIN_ROWS} rows` };
}

const fmt = (x: number): string => (Math.abs(x) >= UNTESTED ? 'untested' : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`);

type Bounds = { improvement: PrequentialBounds; improvementLook: SequentialResult; skill: PrequentialBounds; window: PrequentialBounds; championWindow: PrequentialBounds };

function verdict(state: PrequentialState, b: Bounds, o: Resolved): PrequentialLook {
  const { lower, upper } = b.improvement;
  const imp = b.improvementLook;
  const pValue = imp.logE === null || imp.pending !== undefined ? 1 : Math.min(1, Math.exp(-imp.logE));
  const rows = state.rows;
  const evidence: PrequentialLook['evidence'] = {
    rows,
    learnerLogLoss: state.learnerLoss.mean,
    championLogLoss: state.championLoss.mean,
    improvement: state.championLoss.mean - state.learnerLoss.mean,
    lower,
    upper,
    pValue,
    alpha: o.alpha,
    learnerAccuracy: o.head === 'binary' && rows > 0 ? state.learnerCorrect / rows : 0,
    championAccuracy: o.head === 'binary' && rows > 0 ? state.championCorrect / rows : 0,
    skill: state.skill.candidate.mean,
    skillLower: b.skill.lower,
    windowSkill: b.window,
    championWindowSkill: b.championWindow,
    windowRows: state.window.rows,
    window: state.window.index,
  };
  const shownBetter = lower > 0;
  const skilled = b.skill.lower > 0;
  const unskilledNow = b.window.upper < o.skillMargin;
  const better = shownBetter && skilled && !unskilledNow;
  const worseThanChampion = upper < 0;
  const noSignal = state.window.index >= 1 && unskilledNow && !(b.championWindow.lower > 0);
  const lossName = o.head === 'binary' ? 'log loss' : 'squared error';
  const e = evidence;
  const head = `${lossName} ${e.learnerLogLoss.toFixed(4)} vs champion ${e.championLogLoss.toFixed(4)} on ${rows} rows, improvement ${fmt(e.improvement)} (anytime-valid bounds [${fmt(lower)}, ${fmt(upper)}], p=${pValue.toPrecision(2)}, alpha ${o.alpha})`;
  const skill = `skill over the base rate ${fmt(e.skill)} (lower bound ${fmt(b.skill.lower)})`;
  const windowSkill = `skill on the current window of ${e.windowRows} rows in [${fmt(b.window.lower)}, ${fmt(b.window.upper)}]`;
  let why: string;
  if (better) why = `learner better than the champion: ${head}; ${skill}`;
  else if (worseThanChampion) why = `learner worse than the champion: ${head}`;
  else if (noSignal) why = `labels carry no signal the learner can use: ${windowSkill}, below the margin ${o.skillMargin}, and the champion's skill there not established either (lower bound ${fmt(b.championWindow.lower)}); ${head}`;
  else if (shownBetter) why = `learner better than the champion but not shown better than the base rate, so no promotion: ${head}; ${skill}; ${windowSkill}`;
  else why = `no decision yet: ${head}; ${skill}`;
  return { state, evidence, better, worse: worseThanChampion || noSignal, why };
}
