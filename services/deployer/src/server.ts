import { randomUUID } from 'node:crypto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { DeployerService, RolloutSchema } from '@refit/contracts';
import type { RawRow } from '@refit/modeling';
import { InvalidInputError, NotFoundError, type PgPool, type ServiceHandlers } from '@refit/platform';
import type { FeatureWindows } from './feature-window.js';
import { joinFeedback, type PredictionLog } from './prediction-log.js';
import type { Rollouts } from './rollout.js';
import type { RolloutRow } from './rollout-store.js';
import { isVariantScoringError, type RoutedResult, type ServingTable } from './serving.js';

/** Most rows one Predict call may carry. */
export const MAX_ROWS_PER_CALL = 10_000;

/** gRPC handlers of the deployer service. */
export function createDeployerHandlers(
  table: ServingTable,
  log: PredictionLog,
  pool: PgPool,
  windows: FeatureWindows,
  rollouts: Rollouts,
): ServiceHandlers<typeof DeployerService> {
  return {
    async predict(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      const started = performance.now();
      const columnar = req.rows.length === 0 && req.columns.length > 0;
      const rows = columnar ? columnarRows(req.columns, req.values) : (req.rows as RawRow[]);
      if (rows.length === 0) throw new InvalidInputError('rows is empty: send at least one row of raw features');
      if (rows.length > MAX_ROWS_PER_CALL) throw new InvalidInputError(`${rows.length} rows in one call; at most ${MAX_ROWS_PER_CALL}`);
      const ids = rows.map(() => randomUUID());
      let r: RoutedResult;
      try {
        r = table.predictRouted(req.pipeline, rows, ids);
      } catch (err) {
        if (!isVariantScoringError(err)) throw err;
        // Counted against the variant that failed; the caller gets the original error.
        log.addFailure({ pipeline: req.pipeline, ...err.failure, at: new Date() });
        throw err.cause;
      }
      const at = new Date();
      for (const f of r.failures ?? []) log.addFailure({ pipeline: req.pipeline, ...f, at });
      // A row's latency: its share of the call's time outside the answering models, plus the
      // scoring time per row of the variant that answered it.
      const own = r.rows.reduce((t, x) => t + (r.scoringMsPerRow[x.variant] ?? 0), 0);
      const shared = Math.max(0, performance.now() - started - own) / rows.length;
      windows.add(req.pipeline, rows);
      const shadow = r.shadow;
      log.add(
        r.rows.map((x, i) => ({
          id: ids[i],
          pipeline: req.pipeline,
          version: x.version,
          variant: x.variant,
          probability: x.probability,
          latencyMs: shared + (r.scoringMsPerRow[x.variant] ?? 0),
          at,
          shadowVersion: shadow?.version,
          shadowProbability: shadow?.probabilities[i],
          threshold: x.threshold,
          shadowThreshold: shadow?.threshold,
          shadowLatencyMs: shadow && shared + shadow.msPerRow,
          championProbability: x.championProbability,
        })),
      );
      if (columnar) {
        // Packed fields: encoding 1,000 Prediction messages costs more than scoring them.
        const cand = r.rows.find((x) => x.variant !== 'champion');
        return {
          modelVersion: r.champion,
          predictionIds: ids,
          probabilities: r.rows.map((x) => x.probability),
          fromCandidate: cand ? r.rows.map((x) => x.variant !== 'champion') : [],
          candidateVersion: cand?.version ?? '',
          candidateVariant: cand?.variant ?? '',
        };
      }
      // Each version labels at the decision threshold stored with it (0.5 when none was).
      const predictions = r.rows.map((x, i) => ({ predictionId: ids[i], probability: x.probability, label: x.probability >= x.threshold ? 1 : 0, value: x.probability, modelVersion: x.version, variant: x.variant }));
      return { modelVersion: r.champion, predictions };
    },
    async sendFeedback(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      if (req.feedback.length === 0) throw new InvalidInputError('feedback is empty');
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
      req.feedback.forEach((f, i) => {
        if (!uuid.test(f.predictionId)) throw new InvalidInputError(`feedback[${i}].prediction_id '${f.predictionId}' is not a prediction id`);
        if (f.label !== 0 && f.label !== 1) throw new InvalidInputError(`feedback[${i}].label must be 0 or 1, got ${f.label}`);
      });
      // A prediction made a moment ago may still be in the log's buffer.
      await log.flush();
      const r = await joinFeedback(pool, req.pipeline, req.feedback, new Date());
      return { joined: BigInt(r.joined), unknown: r.unknown };
    },
    async getDeployment(req) {
      const d = table.current(req.pipeline);
      if (!d) throw new NotFoundError(`no model is serving for pipeline '${req.pipeline}'`);
      return { deployment: { pipeline: d.pipeline, modelVersion: d.version, runId: d.runId, loadedAtMs: BigInt(d.loadedAt) } };
    },
    async getRollout(req) {
      return { rollout: toWireRollout(await rollouts.get(required(req.pipeline))) };
    },
    async promoteRollout(req) {
      return { rollout: toWireRollout(await rollouts.promote(required(req.pipeline), req.actor || 'unknown', req.reason || 'no reason given')) };
    },
    async abortRollout(req) {
      return { rollout: toWireRollout(await rollouts.abort(required(req.pipeline), req.actor || 'unknown', req.reason || 'no reason given')) };
    },
  };
}

/** Rows of the columnar fast path (`columns` + row-major `values`, NaN for a missing value). */
export function columnarRows(columns: string[], values: ArrayLike<number>): RawRow[] {
  const d = columns.length;
  if (values.length % d !== 0) throw new InvalidInputError(`${values.length} values do not fill rows of ${d} columns (${columns.join(', ')})`);
  const rows: RawRow[] = new Array<RawRow>(values.length / d);
  for (let i = 0; i < rows.length; i++) {
    const row: RawRow = {};
    for (let j = 0; j < d; j++) {
      const v = values[i * d + j];
      row[columns[j]] = Number.isNaN(v) ? null : v;
    }
    rows[i] = row;
  }
  return rows;
}

function required(pipeline: string): string {
  if (!pipeline) throw new InvalidInputError('pipeline is required');
  return pipeline;
}

function toWireRollout(r: RolloutRow): MessageInitShape<typeof RolloutSchema> {
  return {
    pipeline: r.pipeline,
    strategy: r.strategy,
    candidateVersion: r.candidate_version,
    championVersion: r.champion_version,
    runId: r.run_id,
    status: r.status,
    step: r.step,
    weight: r.weight,
    steps: r.strategy === 'canary' ? r.config.steps : [],
    startedAtMs: BigInt(r.started_at.getTime()),
    stepStartedAtMs: BigInt(r.step_started_at.getTime()),
    lastOutcome: r.last_outcome,
    lastReason: r.last_reason,
    lastAnalysisJson: r.last_analysis ? JSON.stringify(r.last_analysis) : '',
  };
}
