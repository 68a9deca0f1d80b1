import { binaryMetrics, binaryRowSums, storedThreshold } from '@refit/ml';
import { applyTransform, type RawRow } from '@refit/modeling';
import { lowerIsBetterIn, isBusinessMetric, type PipelineSpec } from '@refit/spec';
import type { LiveDriftOptions } from '../../services/feature/src/config.js';
import { measureLiveDrift } from '../../services/feature/src/live-drift.js';
import { candidateAnswers } from '../../services/deployer/src/routing.js';
import { withBusinessMetrics } from '../../services/trigger/src/live-business.js';
import { evaluatePerformance, type PerformanceState, type PerformanceWindow } from '../../services/trigger/src/performance.js';
import { outcomeValues } from '../../services/trigger/src/performance-rows.js';
import type { Evaluation, LiveDrift } from '../../services/trigger/src/policies.js';
import type { Prediction, PredictionLog } from './prediction-log.js';
import { routingAt, type ActiveRollout } from './rollout-sim.js';
import type { ReplayModel, VersionFacts } from './train.js';

/** A row as a client sends it for a prediction, with what the replay knows about it. */
export type Request = {
  id: string;
  t: number;
  /** The request's columns: the features (and the entity column of an A/B rollout). */
  row: RawRow;
  y: 0 | 1 | undefined;
  feedbackAt: number;
};

/** Every model's probabilities for the requests, in order. */
function scores(m: ReplayModel, rows: readonly RawRow[]): Float32Array {
  const t = applyTransform(m.transform, rows);
  return m.model.predict(t.X, t.n);
}

/**
 * Serves requests as the deployer does: the champion answers, or — during a rollout — the
 * candidate answers the rows the deployer's own `candidateAnswers` routes to it (canary by the
 * prediction id's bucket, A/B by the entity's), the champion scoring them in the background; in
 * shadow mode the candidate scores every row the champion answers. Without a champion nothing is
 * served.
 */
export function serve(champion: ReplayModel | undefined, rollout: ActiveRollout | undefined, requests: readonly Request[]): Prediction[] {
  if (!champion || requests.length === 0) return [];
  const rows = requests.map((r) => r.row);
  const ch = scores(champion, rows);
  const cand = rollout ? scores(rollout.candidate, rows) : undefined;
  const routing = rollout ? routingAt(rollout.config, rollout.step) : undefined;
  return requests.map((r, i): Prediction => {
    const base = { id: r.id, t: r.t, y: r.y, feedbackAt: r.feedbackAt };
    const own = { version: champion.version, variant: 'champion' as const, p: ch[i], threshold: champion.threshold };
    if (!rollout || !cand || !routing) return { ...base, ...own };
    const c = rollout.candidate;
    if (routing.strategy === 'shadow') return { ...base, ...own, shadow: { version: c.version, p: cand[i], threshold: c.threshold } };
    if (!candidateAnswers(routing, r.id, r.row)) return { ...base, ...own };
    return { ...base, version: c.version, variant: routing.strategy === 'ab' ? 'b' : 'canary', p: cand[i], threshold: c.threshold, champion: { p: ch[i], threshold: champion.threshold } };
  });
}

/**
 * The champion variant's monitoring windows of (since, now], one per version, as the deployer
 * emits them: predictions made, labeled rows whose feedback arrived, their metrics at the
 * version's threshold with the confusion counts, the per-row sums, and the spec's business metrics
 * of counts (the trigger service adds them). Candidates are judged by their rollout.
 */
export function championWindows(spec: PipelineSpec, log: PredictionLog, since: number, now: number, champion: string | undefined): PerformanceWindow[] {
  const made = log.made(since, now).filter((r) => r.variant === 'champion');
  const fed = log.fedBack(since, now).filter((r) => r.variant === 'champion');
  const versions = [...new Set([...made, ...fed].map((r) => r.version))];
  return versions.map((version) => {
    const rows = fed.filter((r) => r.version === version);
    const metrics: Record<string, number> = {};
    let rowSums = {};
    if (rows.length > 0) {
      const threshold = storedThreshold(rows[0].threshold);
      const y = Float64Array.from(rows, (r) => r.y as number);
      const p = Float64Array.from(rows, (r) => r.p);
      const b = binaryMetrics(y, p, { threshold });
      rowSums = binaryRowSums(y, p, { threshold });
      Object.assign(metrics, { accuracy: b.accuracy, logLoss: b.logLoss, brier: b.brier, threshold, ...b.confusion });
      if (b.rocAuc !== null) metrics.auc = b.rocAuc;
    }
    return { version, windowEnd: new Date(now).toISOString(), labeled: rows.length, metrics: withBusinessMetrics(spec, metrics), rowSums, retired: champion !== undefined && version !== champion };
  });
}

/** One performance policy's evaluation of a window, with the state to keep for the version (the trigger's `onMonitoringWindow`). */
export function performanceOn(
  spec: PipelineSpec,
  policy: Extract<PipelineSpec['triggers'][number], { kind: 'performance' }>,
  previous: PerformanceState | undefined,
  w: PerformanceWindow,
  model: VersionFacts | undefined,
): { evaluation: Evaluation; state: PerformanceState } {
  const evaluationValue = policy.reference === 'evaluation' ? model?.metrics[policy.metric] : undefined;
  const business = isBusinessMetric(spec, policy.metric) ? outcomeValues(spec, policy.metric) : null;
  return evaluatePerformance(policy, previous, w, { lowerIsBetter: lowerIsBetterIn(spec, policy.metric), evaluationValue, business });
}

/**
 * The feature service's live drift of a window's feature sample against the training statistics
 * of the version it goes with (its `measureLiveDrift`, PSI on the reference's deciles), as the
 * trigger's drift policy reads the `drift.report`.
 */
export function liveDrift(model: VersionFacts, sample: RawRow[], windowEnd: number, opts: LiveDriftOptions): LiveDrift {
  const r = measureLiveDrift(model.stats, sample, opts);
  return {
    version: model.version,
    windowEnd: new Date(windowEnd).toISOString(),
    referenceRunId: model.runId,
    status: r.status,
    share: r.share ?? 0,
    columns: r.columns.map((c) => ({ column: c.column, psi: c.statistic ?? null, status: c.status, referenceSize: c.referenceSize, currentSize: c.currentSize })),
  };
}
