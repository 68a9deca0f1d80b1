import { randomUUID } from 'node:crypto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { DeployerService, RolloutSchema, RolloutStepSchema } from '@refit/contracts';
import { InvalidInputError, NotFoundError, type PgPool, type ServiceHandlers } from '@refit/platform';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { FeatureWindows } from './feature-window.js';
import type { DeployerMetrics } from './metrics.js';
import { listFeedbackRows, MAX_PREDICTED_ROWS, predictedRows, type FeedbackPipelines } from './feedback-rows.js';
import { encodeColumnarAnswer } from './predict-answer.js';
import { requestRows, type PredictLimits } from './predict-input.js';
import { joinFeedback, type PredictionLog } from './prediction-log.js';
import type { Rollouts } from './rollout.js';
import { rolloutSteps, type RolloutRow } from './rollout-store.js';
import { wireAnalysisFields } from './rollout-wire.js';
import { listWindows, windowQuery } from './window-history.js';
import { isVariantScoringError, type RoutedPrediction, type RoutedResult, type ServingTable } from './serving.js';

/** A prediction id as Predict answers it. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** gRPC handlers of the deployer service. */
export function createDeployerHandlers(
  table: ServingTable,
  log: PredictionLog,
  pool: PgPool,
  windows: FeatureWindows,
  rollouts: Rollouts,
  feedback: FeedbackPipelines,
  limits: PredictLimits,
  metrics?: DeployerMetrics,
): ServiceHandlers<typeof DeployerService> {
  return {
    async predict(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      const started = performance.now();
      const { rows, columnar } = requestRows(req, limits);
      if (rows.length === 0) throw new InvalidInputError('rows is empty: send at least one row of raw features');
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
      if (metrics) countPredict(metrics, req.pipeline, r.rows, (performance.now() - started) / 1000);
      const shadow = r.shadow;
      // A pipeline that trains on feedback or reads a stream keeps each row, so a labeled prediction can become a training row.
      const keepRows = feedback.has(req.pipeline);
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
          championThreshold: x.championThreshold,
          row: keepRows ? rows[i] : undefined,
        })),
      );
      if (columnar) {
        // Packed fields: encoding 1,000 Prediction messages costs more than scoring them.
        const cand = r.rows.find((x) => x.variant !== 'champion');
        return encodeColumnarAnswer({
          modelVersion: r.champion,
          predictionIds: ids,
          probabilities: r.rows.map((x) => x.probability),
          fromCandidate: cand ? r.rows.map((x) => x.variant !== 'champion') : [],
          candidateVersion: cand?.version ?? '',
          candidateVariant: cand?.variant ?? '',
          imputed: imputedCounts(r.rows),
        });
      }
      // Each version labels at the decision threshold stored with it (0.5 when none was).
      const predictions = r.rows.map((x, i) => ({ predictionId: ids[i], probability: x.probability, label: x.probability >= x.threshold ? 1 : 0, value: x.probability, modelVersion: x.version, variant: x.variant, imputed: x.imputed }));
      return { modelVersion: r.champion, predictions, imputed: imputedCounts(r.rows) };
    },
    async sendFeedback(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      if (req.feedback.length === 0) throw new InvalidInputError('feedback is empty');
      if (req.feedback.length > limits.maxRows) throw new InvalidInputError(`${req.feedback.length} labels in one call; at most ${limits.maxRows} (REFIT_PREDICT_MAX_ROWS): split the request`);
      req.feedback.forEach((f, i) => {
        if (!UUID.test(f.predictionId)) throw new InvalidInputError(`feedback[${i}].prediction_id '${f.predictionId}' is not a prediction id`);
        if (f.label !== 0 && f.label !== 1) throw new InvalidInputError(`feedback[${i}].label must be 0 or 1, got ${f.label}`);
        if (f.labelValue.length > 256) throw new InvalidInputError(`feedback[${i}].label_value is ${f.labelValue.length} characters long; at most 256`);
      });
      // A prediction made a moment ago may still be in the log's buffer.
      await log.flush();
      const r = await joinFeedback(pool, req.pipeline, req.feedback, new Date());
      return { joined: BigInt(r.joined), unknown: r.unknown, duplicate: BigInt(r.duplicate), conflict: BigInt(r.conflict), conflicting: r.conflicting };
    },
    async *listFeedbackRows(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      if (req.limit < 0) throw new InvalidInputError(`limit must be 0 or more, got ${req.limit}`);
      await log.flush();
      for await (const r of listFeedbackRows(pool, req.pipeline, req.after ? timestampDate(req.after) : undefined, req.limit || Number.MAX_SAFE_INTEGER)) {
        yield {
          predictionId: r.predictionId,
          rowJson: JSON.stringify(r.row),
          label: r.label,
          labelValue: r.labelValue ?? '',
          predictedAt: timestampFromDate(r.predictedAt),
          feedbackAt: timestampFromDate(r.feedbackAt),
        };
      }
    },
    async getPredictedRows(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required', { field: 'pipeline' });
      const ids = req.predictionIds;
      if (ids.length > MAX_PREDICTED_ROWS) throw new InvalidInputError(`${ids.length} prediction ids in one call; at most ${MAX_PREDICTED_ROWS.toLocaleString('en-US')}: split the request`, { field: 'prediction_ids' });
      const bad = ids.findIndex((id) => !UUID.test(id));
      if (bad >= 0) throw new InvalidInputError(`prediction_ids[${bad}] '${ids[bad].slice(0, 64)}' is not a prediction id (a UUID)`, { field: `prediction_ids[${bad}]` });
      // A prediction answered a moment ago may still be in the log's buffer.
      await log.flush();
      const rows = await predictedRows(pool, req.pipeline, ids);
      return { rows: rows.map((r) => ({ predictionId: r.predictionId, rowJson: r.rowJson, predictedAt: timestampFromDate(r.predictedAt), version: r.version })) };
    },
    async listWindows(req) {
      return { windows: await listWindows(pool, windowQuery(req)) };
    },
    async getDeployment(req) {
      const d = table.current(req.pipeline);
      if (!d) throw new NotFoundError(`no model is serving for pipeline '${req.pipeline}'`);
      return { deployment: { pipeline: d.pipeline, modelVersion: d.version, runId: d.runId, loadedAtMs: BigInt(d.loadedAt) } };
    },
    async getRollout(req) {
      return { rollout: await wireRollout(pool, await rollouts.get(required(req.pipeline))) };
    },
    // The actor is the authenticated caller; the request's `actor` field is ignored.
    async promoteRollout(req, ctx) {
      return { rollout: await wireRollout(pool, await rollouts.promote(required(req.pipeline), ctx.identity, req.reason || 'no reason given')) };
    },
    async abortRollout(req, ctx) {
      return { rollout: await wireRollout(pool, await rollouts.abort(required(req.pipeline), ctx.identity, req.reason || 'no reason given')) };
    },
  };
}

/** Counts one Predict call for each version and variant that answered rows of it. */
function countPredict(metrics: DeployerMetrics, pipeline: string, rows: readonly RoutedPrediction[], seconds: number): void {
  const answered = new Map<string, { version: string; variant: string; rows: number }>();
  for (const x of rows) {
    const key = `${x.version}\u0000${x.variant}`;
    const a = answered.get(key) ?? { version: x.version, variant: x.variant, rows: 0 };
    a.rows++;
    answered.set(key, a);
  }
  for (const a of answered.values()) {
    const labels = { pipeline, version: a.version, variant: a.variant };
    metrics.requests.inc(labels);
    metrics.rows.inc(labels, a.rows);
    metrics.latency.observe(labels, seconds);
  }
}

/** Per feature, how many rows of the answer it was filled in (missing, imputed as the spec declares). */
function imputedCounts(rows: readonly RoutedPrediction[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rows) for (const f of r.imputed ?? []) counts[f] = (counts[f] ?? 0) + 1;
  return counts;
}

function required(pipeline: string): string {
  if (!pipeline) throw new InvalidInputError('pipeline is required');
  return pipeline;
}

/** A rollout on the wire, with the history of its steps. */
async function wireRollout(pool: PgPool, r: RolloutRow): Promise<MessageInitShape<typeof RolloutSchema>> {
  const history = (await rolloutSteps(pool, r.run_id)).map((x) => {
    const analysis = wireAnalysisFields(x.analysis);
    return {
      step: x.step,
      weight: x.weight,
      startedAtMs: BigInt(x.started_at.getTime()),
      endedAtMs: BigInt(x.ended_at?.getTime() ?? 0),
      outcome: x.outcome,
      reason: x.reason,
      // The JSON for one release (clients before the typed field), then only `analysis`.
      analysisJson: analysis.json,
      analysis: analysis.typed,
    };
  });
  return toWireRollout(r, history);
}

function toWireRollout(r: RolloutRow, history: MessageInitShape<typeof RolloutStepSchema>[]): MessageInitShape<typeof RolloutSchema> {
  const analysis = wireAnalysisFields(r.last_analysis);
  return {
    history,
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
    // The JSON for one release (clients before the typed field), then only `lastAnalysis`.
    lastAnalysisJson: analysis.json,
    lastAnalysis: analysis.typed,
  };
}
