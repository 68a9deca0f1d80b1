import { createRng, decisionsAt, quantileSorted, storedThreshold } from '@refit/ml';
import { compileExpression, evaluateOnCounts, type CompiledExpression, type ConfusionCounts, type Costs } from '@refit/spec';
import type { Evidence, Labeled } from './rollout-bounds.js';

/**
 * A business metric as a rollout compares it: the spec's expression (of confusion counts only:
 * live feedback carries no column values), its goal and the spec's cost matrix.
 */
export type BusinessMetric = { expr: string; goal: 'minimize' | 'maximize'; costs: Costs };

const RESAMPLES = 1000;

// A row's outcome for one model at its own threshold: 2·label + decision (0 tn, 1 fp, 2 fn, 3 tp).
function outcomes(s: Labeled): Uint8Array {
  const d = decisionsAt(s.p, storedThreshold(s.threshold));
  return Uint8Array.from(s.y, (y, i) => 2 * (y === 1 ? 1 : 0) + d[i]);
}

const counts = (h: ArrayLike<number>): ConfusionCounts => ({ tn: h[0], fp: h[1], fn: h[2], tp: h[3] });

function histogram(cells: Uint8Array, k: number): Float64Array {
  const h = new Float64Array(k);
  for (const c of cells) h[c]++;
  return h;
}

// One bootstrap resample of the rows, as a histogram of their cells.
function resample(cells: Uint8Array, k: number, rng: () => number): Float64Array {
  const h = new Float64Array(k);
  const n = cells.length;
  for (let i = 0; i < n; i++) h[cells[Math.floor(rng() * n)]]++;
  return h;
}

function valueOf(expr: CompiledExpression, m: BusinessMetric, h: ArrayLike<number>): number {
  return evaluateOnCounts(expr, counts(h), m.costs);
}

/** One side's business metric at its own threshold (NaN where undefined, e.g. a division by zero). */
export function businessEstimate(m: BusinessMetric, s: Labeled): number {
  return s.y.length === 0 ? Number.NaN : valueOf(compileExpression(m.expr), m, histogram(outcomes(s), 4));
}

/**
 * A business metric of confusion counts, each model deciding at its own stored threshold (as the
 * evaluator computes it). An expression of counts depends on a model's rows only through their four
 * outcomes, so resampling rows is resampling outcomes: paired rows (shadow, the last canary step)
 * are resampled together, keeping both models' outcomes of a row; independent arms are each
 * resampled on their own. The gain is oriented by the goal; the bounds are the alpha and 1 − alpha
 * percentiles of the resampled gains (seeded, 1,000 resamples; those where the metric is undefined
 * are skipped, and fewer than half defined leaves it undefined).
 */
export function businessBounds(m: BusinessMetric, alpha: number, candidate: Labeled, champion: Labeled, paired: boolean): Evidence {
  const expr = compileExpression(m.expr);
  if (expr.columns.length > 0) return { undefinedBecause: `the expression reads the column(s) ${expr.columns.join(', ')}, which live feedback does not carry` };
  const [oc, oh] = [outcomes(candidate), outcomes(champion)];
  const c = valueOf(expr, m, histogram(oc, 4));
  const h = valueOf(expr, m, histogram(oh, 4));
  if (!Number.isFinite(c) || !Number.isFinite(h)) return { undefinedBecause: `the metric is undefined on these rows (candidate ${c}, champion ${h})` };
  const sign = m.goal === 'maximize' ? 1 : -1;
  const rng = createRng(0);
  // Paired: one cell per row for both models (4·champion outcome + candidate outcome).
  const joint = paired ? Uint8Array.from(oc, (x, i) => 4 * oh[i] + x) : undefined;
  const gains: number[] = [];
  for (let b = 0; b < RESAMPLES; b++) {
    let rc: Float64Array;
    let rh: Float64Array;
    if (joint) {
      const j = resample(joint, 16, rng);
      rc = new Float64Array(4);
      rh = new Float64Array(4);
      j.forEach((n, cell) => {
        rc[cell % 4] += n;
        rh[Math.floor(cell / 4)] += n;
      });
    } else {
      rc = resample(oc, 4, rng);
      rh = resample(oh, 4, rng);
    }
    const g = sign * (valueOf(expr, m, rc) - valueOf(expr, m, rh));
    if (Number.isFinite(g)) gains.push(g);
  }
  if (gains.length < RESAMPLES / 2) return { undefinedBecause: `the metric is undefined on ${RESAMPLES - gains.length} of ${RESAMPLES} resamples` };
  const sorted = Float64Array.from(gains).sort();
  return { candidate: c, champion: h, gain: sign * (c - h), lower: quantileSorted(sorted, alpha), upper: quantileSorted(sorted, 1 - alpha), test: paired ? 'paired-bootstrap' : 'bootstrap' };
}
