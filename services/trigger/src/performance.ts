import { createSequentialState, mergeMeanStats, sequentialLook, type MeanStats, type SequentialResult, type SequentialState } from '@refit/ml';
import type { TriggerPolicy } from '@refit/spec';
import type { Evaluation } from './policies.js';
import { windowRows, type OutcomeValues, type PerformanceWindow } from './performance-rows.js';

export type { PerformanceWindow } from './performance-rows.js';

type Performance = Extract<TriggerPolicy, { kind: 'performance' }>;

/**
 * What a performance policy remembers about one served version (kept per pipeline, policy and
 * version in `performance_tests`): the reference and the sequential test's totals. Plain JSON.
 */
export type PerformanceState = {
  /** The policy settings this state was built under; other settings start afresh. */
  policy: string;
  /** Windows counted. */
  windows: number;
  /** End of the last window counted (a window ending no later is not counted twice). */
  lastWindowEnd: string | null;
  /** The reference's value once known (its rows' mean for a live reference). */
  reference: { source: 'live' | 'evaluation' | 'declared'; value: number | null; labeled: number };
  /** Rows of the warm-up while a live reference is being built. */
  warmup: MeanStats;
  /** The sequential test (per-row metrics), once the reference is known. */
  test: SequentialState | null;
  /** For metrics that are not means of per-row values: labelled-weighted sums of the window values since the reference. */
  pooled: { labeled: number; sum: number };
  /** How the metric is judged: a sequential test of per-row values, or a point comparison (AUC, ratios of counts); null before the first window. */
  method: 'sequential' | 'point' | null;
};

/** What the evaluation needs besides the window. */
export type PerformanceContext = {
  /** The metric's orientation (a business metric's goal). */
  lowerIsBetter: boolean;
  /** The served version's metric at evaluation (for `reference: evaluation`). */
  evaluationValue?: number;
  /** Per-outcome values when the metric is a business metric that is a mean per row. */
  business: OutcomeValues | null;
};

const f4 = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(4));

/** The policy settings a state depends on. */
export function policyKey(p: Performance): string {
  return JSON.stringify({ metric: p.metric, maxDrop: p.maxDrop, minLabeled: p.minLabeled, reference: p.reference, alpha: p.alpha });
}

function freshState(p: Performance): PerformanceState {
  const source = p.reference === 'live' ? 'live' : p.reference === 'evaluation' ? 'evaluation' : 'declared';
  return { policy: policyKey(p), windows: 0, lastWindowEnd: null, reference: { source, value: typeof p.reference === 'object' ? p.reference.value : null, labeled: 0 }, warmup: { n: 0, mean: 0, m2: 0 }, test: null, pooled: { labeled: 0, sum: 0 }, method: null };
}

function describeReference(s: PerformanceState, metric: string): string {
  const r = s.reference;
  if (r.source === 'live') return `its live reference ${f4(r.value)} (its first ${r.labeled} labeled predictions)`;
  return r.source === 'evaluation' ? `${f4(r.value)} at evaluation` : `the declared ${metric} ${f4(r.value)}`;
}

/**
 * One monitoring window of one served version, for a performance policy: builds the reference
 * (a warm-up of `minLabeled` labelled predictions, the evaluation's metric or a declared value),
 * then adds every later window's labelled rows to an always-valid sequential test of "live
 * quality is no worse than the reference by more than maxDrop" (libs/ml `sequentialLook`, level
 * `alpha`, mixing sd maxDrop). It fires when that test rejects — false alarms do not pile up over
 * the windows. AUC and business metrics that are not means of per-row values have no such test:
 * their pooled live value is compared with the reference as a point, and the evidence says so.
 * A window of a retired champion (`retired`: late labels of a replaced model) is counted but
 * never fires.
 * @returns the evaluation to decide on and the state to keep.
 */
export function evaluatePerformance(policy: Performance, previous: PerformanceState | undefined, w: PerformanceWindow, ctx: PerformanceContext): { evaluation: Evaluation; state: PerformanceState } {
  const judged = judgeWindow(policy, previous, w, ctx);
  // Late labels of a replaced champion still count in its test, but a retrain answers for what
  // serves: evidence against a model already replaced is recorded, never acted on.
  if (!w.retired || !judged.evaluation.fired) return judged;
  const reason = `${judged.evaluation.reason}; but ${w.version} no longer serves as the champion, so no run starts for it`;
  return { state: judged.state, evaluation: { ...judged.evaluation, fired: false, reason, measured: { ...judged.evaluation.measured, retired: true } } };
}

function judgeWindow(policy: Performance, previous: PerformanceState | undefined, w: PerformanceWindow, ctx: PerformanceContext): { evaluation: Evaluation; state: PerformanceState } {
  const { metric } = policy;
  const prior = previous && previous.policy === policyKey(policy) ? previous : freshState(policy);
  const thresholds = { metric, maxDrop: policy.maxDrop, minLabeled: policy.minLabeled, reference: policy.reference, alpha: policy.alpha };
  const evidenceKey = `window:${w.version}:${w.windowEnd}`;
  const head = { version: w.version, windowEnd: w.windowEnd, labeled: w.labeled };
  if (prior.lastWindowEnd !== null && w.windowEnd <= prior.lastWindowEnd) {
    const evaluation = { fired: false, reason: `${w.version}: the window ending ${w.windowEnd} was already counted`, measured: head, thresholds, evidenceKey };
    return { evaluation, state: prior };
  }
  const state: PerformanceState = { ...prior, windows: prior.windows + 1, lastWindowEnd: w.windowEnd, reference: { ...prior.reference } };
  if (state.reference.source === 'evaluation' && state.reference.value === null && ctx.evaluationValue !== undefined) state.reference.value = ctx.evaluationValue;
  const done = (fired: boolean, reason: string, extra: Record<string, unknown>) => ({
    evaluation: { fired, reason: `${w.version}: ${reason}`, measured: { ...head, metric, reference: state.reference, ...extra }, thresholds, evidenceKey },
    state,
  });
  if (state.reference.source === 'evaluation' && state.reference.value === null) {
    return done(false, `no ${metric} from its evaluation to compare with (reference: evaluation)`, {});
  }
  const rows = windowRows(metric, w, ctx.business);
  if (rows.kind !== 'missing') state.method = rows.kind === 'rows' ? 'sequential' : 'point';
  if (rows.kind === 'missing' && w.labeled > 0) return done(false, `${w.labeled} labeled predictions, but ${rows.why}: not counted`, {});
  if (rows.kind === 'not-a-mean') return pointComparison(policy, state, w, rows.value, ctx, done);
  const added: MeanStats = rows.kind === 'rows' ? rows.rows : { n: 0, mean: 0, m2: 0 };
  const empty = w.labeled === 0 ? 'no labeled predictions in this window yet; ' : '';

  // A live reference: the warm-up's rows, until there are minLabeled of them.
  if (state.reference.source === 'live' && state.test === null) {
    state.warmup = mergeMeanStats(state.warmup, added);
    if (state.warmup.n < policy.minLabeled) {
      return done(false, `${empty}warming up: ${state.warmup.n} of ${policy.minLabeled} labeled predictions for its live reference (${metric} so far ${state.warmup.n ? f4(state.warmup.mean) : 'n/a'})`, { warmup: state.warmup.n });
    }
    state.reference = { source: 'live', value: state.warmup.mean, labeled: state.warmup.n };
    state.test = { ...createSequentialState(), reference: state.warmup };
    return done(false, `reference set: live ${metric} ${f4(state.warmup.mean)} on its first ${state.warmup.n} labeled predictions; later windows are tested against it`, {});
  }
  const test = state.test ?? createSequentialState();
  const candidate = mergeMeanStats(test.candidate, added);
  if (state.reference.source !== 'live' && candidate.n < policy.minLabeled) {
    state.test = { ...test, candidate };
    return done(false, `${empty}${candidate.n} of ${policy.minLabeled} labeled predictions before the first test against ${describeReference(state, metric)}`, { live: { labeled: candidate.n } });
  }
  if (w.labeled === 0 && test.looks > 0) {
    // Nothing new to look at: report where the test stands.
    return done(false, `no labeled predictions in this window yet; the test stands at ${standing(test, state, policy, ctx.lowerIsBetter)}; always-valid p ${formatP(test.pValue)}`, testEvidence(test, state, null, ctx.lowerIsBetter));
  }
  const reference = state.reference.source === 'live' ? test.reference : (state.reference.value as number);
  const r = sequentialLook(test, { candidate, reference }, { higherIsBetter: !ctx.lowerIsBetter, margin: policy.maxDrop, alpha: policy.alpha, variance: rows.kind === 'rows' ? rows.variance : 'sample' });
  state.test = r.state;
  const note = rows.kind === 'rows' && rows.note ? ` (${rows.note})` : '';
  if (r.pending) return done(false, `${empty}${r.pending}: no test yet`, testEvidence(r.state, state, r, ctx.lowerIsBetter));
  const verdict = r.rejected ? `≤ ${policy.alpha} — performance dropped by more than ${policy.maxDrop}` : `> ${policy.alpha} — no evidence of a drop beyond ${policy.maxDrop}`;
  return done(r.rejected, `${empty}${standing(r.state, state, policy, ctx.lowerIsBetter)}${note}; always-valid p ${formatP(r.pValue)} ${verdict}`, testEvidence(r.state, state, r, ctx.lowerIsBetter));
}

function formatP(p: number): string {
  return p >= 0.001 ? p.toFixed(4) : p.toExponential(2);
}

/** How much worse the live rows are than the reference, in the metric's units (positive = worse). */
function dropOf(test: SequentialState, s: PerformanceState, lowerIsBetter: boolean): number | null {
  if (test.candidate.n === 0 || s.reference.value === null) return null;
  const d = test.candidate.mean - s.reference.value;
  return lowerIsBetter ? d : -d;
}

/** "live accuracy 0.7012 on 1450 labeled predictions vs …: worse by 0.1111 (one-sided 95 % bounds of the drop [0.0712, 0.1510])". */
function standing(test: SequentialState, s: PerformanceState, p: Performance, lowerIsBetter: boolean): string {
  const drop = dropOf(test, s, lowerIsBetter) ?? 0;
  const bounds = test.lower !== null && test.upper !== null ? ` (one-sided ${Math.round((1 - p.alpha) * 100)} % bounds of the drop [${f4(test.lower)}, ${f4(test.upper)}])` : '';
  return `live ${p.metric} ${f4(test.candidate.mean)} on ${test.candidate.n} labeled predictions vs ${describeReference(s, p.metric)}: ${drop >= 0 ? 'worse' : 'better'} by ${f4(Math.abs(drop))}${bounds}`;
}

function testEvidence(test: SequentialState, s: PerformanceState, r: SequentialResult | null, lowerIsBetter: boolean): Record<string, unknown> {
  return {
    test: 'sequential',
    live: { value: test.candidate.n ? test.candidate.mean : null, labeled: test.candidate.n },
    drop: dropOf(test, s, lowerIsBetter),
    lower: test.lower,
    upper: test.upper,
    pValue: test.pValue,
    looks: test.looks,
    ...(r && r.logE !== null ? { logE: r.logE, standardError: r.standardError } : {}),
    warmup: s.reference.source === 'live' ? s.reference.labeled : undefined,
  };
}

/**
 * AUC and business metrics that are not means of per-row values: the labelled-weighted mean of
 * the window values since the reference against it, once `minLabeled` labelled predictions are
 * in — a point comparison, not a test.
 */
function pointComparison(
  policy: Performance,
  state: PerformanceState,
  w: PerformanceWindow,
  value: number | null,
  ctx: PerformanceContext,
  done: (fired: boolean, reason: string, extra: Record<string, unknown>) => { evaluation: Evaluation; state: PerformanceState },
): { evaluation: Evaluation; state: PerformanceState } {
  const { metric } = policy;
  const caveat = `(${metric} is not a mean of per-row values: compared as a point, without a sequential test)`;
  if (w.labeled === 0 || value === null) return done(false, `${w.labeled === 0 ? 'no labeled predictions in this window yet' : `no ${metric} in the window`} ${caveat}`, { test: 'point' });
  if (state.reference.source === 'live' && state.reference.value === null) {
    state.pooled = { labeled: state.pooled.labeled + w.labeled, sum: state.pooled.sum + value * w.labeled };
    if (state.pooled.labeled < policy.minLabeled) return done(false, `warming up: ${state.pooled.labeled} of ${policy.minLabeled} labeled predictions for its live reference ${caveat}`, { test: 'point' });
    state.reference = { source: 'live', value: state.pooled.sum / state.pooled.labeled, labeled: state.pooled.labeled };
    state.pooled = { labeled: 0, sum: 0 };
    return done(false, `reference set: live ${metric} ${f4(state.reference.value)} on its first ${state.reference.labeled} labeled predictions ${caveat}`, { test: 'point' });
  }
  state.pooled = { labeled: state.pooled.labeled + w.labeled, sum: state.pooled.sum + value * w.labeled };
  const live = state.pooled.sum / state.pooled.labeled;
  const ref = state.reference.value as number;
  const drop = ctx.lowerIsBetter ? live - ref : ref - live;
  const measured = { test: 'point', live: { value: live, labeled: state.pooled.labeled }, drop };
  if (state.pooled.labeled < policy.minLabeled) return done(false, `${state.pooled.labeled} of ${policy.minLabeled} labeled predictions before comparing with ${describeReference(state, metric)} ${caveat}`, measured);
  const fired = drop > policy.maxDrop;
  return done(fired, `live ${metric} ${f4(live)} on ${state.pooled.labeled} labeled predictions vs ${describeReference(state, metric)}: ${drop >= 0 ? 'worse' : 'better'} by ${f4(Math.abs(drop))}, limit ${policy.maxDrop}${fired ? ' — performance dropped' : ''} ${caveat}`, measured);
}

/** The policy in words and where its latest test stands, for `triggers explain`. */
export function performanceSummary(p: Performance, latest: { version: string; state: PerformanceState } | undefined): string {
  const reference = p.reference === 'live' ? `its live reference (its first ${p.minLabeled} labeled predictions)` : p.reference === 'evaluation' ? `its evaluation` : `the declared ${p.reference.value}`;
  const point = latest?.state.method === 'point';
  const how = point ? `(${p.metric} is not a mean of per-row values: compared as a point)` : `by an always-valid sequential test at level ${p.alpha}`;
  const rule = `fires when live ${p.metric} from feedback is worse than ${reference} by more than ${p.maxDrop}, ${how}`;
  if (!latest || latest.state.policy !== policyKey(p)) return `${rule}; no window yet`;
  const { version, state } = latest;
  if (point) return `${rule}; ${version}: ${state.reference.value === null ? `warming up, ${state.pooled.labeled} of ${p.minLabeled} labeled predictions` : `reference ${f4(state.reference.value)}, live ${state.pooled.labeled ? f4(state.pooled.sum / state.pooled.labeled) : 'n/a'} on ${state.pooled.labeled} labeled predictions`}`;
  const test = state.test;
  if (state.reference.source === 'live' && !test) return `${rule}; ${version}: warming up, ${state.warmup.n} of ${p.minLabeled} labeled predictions`;
  if (!test || test.looks === 0) return `${rule}; ${version}: ${test?.candidate.n ?? 0} labeled predictions since the reference, no test yet`;
  return `${rule}; ${version}: ${test.candidate.n} labeled predictions since the reference over ${test.looks} looks, always-valid p ${formatP(test.pValue)}${test.lower !== null ? `, drop bounds [${f4(test.lower)}, ${f4(test.upper)}]` : ''}`;
}
