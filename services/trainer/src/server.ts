import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { TrainerService } from '@refit/contracts';
import { InvalidInputError, NotFoundError, wireRef, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { getJob, getProgress, listTrials } from './store.js';
import { getLearner } from './stream-store.js';

/** gRPC handlers of the trainer service. */
export function createTrainerHandlers(rt: Pick<ServiceRuntime, 'pool'>): ServiceHandlers<typeof TrainerService> {
  const need = (runId: string): void => {
    if (!runId) throw new InvalidInputError('run_id is required');
  };
  return {
    async getJob(req) {
      need(req.runId);
      const j = await getJob(rt.pool, req.runId);
      if (!j) throw new NotFoundError(`no training job finished for run '${req.runId}'`);
      return {
        job: {
          runId: j.run_id,
          pipeline: j.pipeline,
          model: { bucket: j.model_bucket, key: j.model_key, sha256: j.model_sha256, sizeBytes: BigInt(j.model_size) },
          backend: j.backend,
          epochs: j.epochs,
          computeMs: BigInt(j.compute_ms),
          finalLoss: j.final_loss,
          trainingConfigJson: JSON.stringify(j.training_config),
          seed: BigInt(j.seed),
          finishedAt: timestampFromDate(j.finished_at),
          searchStrategy: j.search_strategy,
          bestTrial: j.best_trial,
          trialCount: j.trial_count,
          stopReason: j.stop_reason,
          warmStartModel: j.warm_start_model ? wireRef(j.warm_start_model) : undefined,
          codeVersion: j.code_version,
        },
      };
    },
    async listTrials(req) {
      need(req.runId);
      const [job, rows] = await Promise.all([getJob(rt.pool, req.runId), listTrials(rt.pool, req.runId)]);
      return {
        trials: rows.map((t) => ({
          runId: t.run_id,
          trial: t.trial,
          rung: t.rung,
          paramsJson: JSON.stringify(t.params),
          status: t.status,
          epochs: t.epochs,
          bestEpoch: t.best_epoch,
          score: t.score ?? undefined,
          curve: t.curve.map((c) => ({ epoch: c.epoch, loss: c.loss ?? Number.NaN, valLoss: c.valLoss ?? undefined })),
          durationMs: BigInt(t.duration_ms),
          error: t.error,
          best: job?.search_strategy !== '' && job?.best_trial === t.trial,
        })),
      };
    },
    async getProgress(req) {
      need(req.runId);
      const p = await getProgress(rt.pool, req.runId);
      if (!p) throw new NotFoundError(`run '${req.runId}' has not started training`);
      return {
        progress: {
          runId: p.run_id,
          pipeline: p.pipeline,
          trial: p.trial,
          trials: p.trials,
          rung: p.rung,
          epoch: p.epoch,
          epochs: p.epochs,
          loss: p.loss,
          valLoss: p.val_loss ?? undefined,
          at: timestampFromDate(p.updated_at),
          done: p.done,
        },
      };
    },
    async getLearner(req) {
      if (!req.pipeline) throw new InvalidInputError('pipeline is required');
      const l = await getLearner(rt.pool, req.pipeline);
      if (!l) throw new NotFoundError(`pipeline '${req.pipeline}' has no stream learner yet: it starts with the first segment of a pipeline whose data.source is a stream (see 'refit stream status')`);
      const e = l.evidence;
      const minuteNow = Math.floor(Date.now() / 60_000);
      // Rows per second over the last full minutes the learner kept (up to five).
      const recent = l.recent.filter(([m]) => m >= minuteNow - 4);
      const span = recent.length === 0 ? 1 : Math.max(1, minuteNow - recent[0][0] + 1) * 60;
      return {
        pipeline: l.pipeline,
        championVersion: l.champion_version,
        segment: BigInt(l.segment),
        updates: BigInt(l.updates),
        rowsLearned: BigInt(l.rows_learned),
        evidence: e
          ? { ...e, rows: BigInt(e.rows), updates: BigInt(l.updates), firstSegment: BigInt(l.first_segment), lastSegment: BigInt(l.segment) }
          : undefined,
        state: l.state,
        lastDecision: l.last_decision,
        lastDecisionAt: l.last_decision_at ? timestampFromDate(l.last_decision_at) : undefined,
        labeledRowsPerSecond: recent.reduce((a, [, n]) => a + n, 0) / span,
        learningRate: l.learning_rate,
        updatedAt: timestampFromDate(l.updated_at),
        resets: BigInt(l.resets),
        replacements: BigInt(l.replacements),
        transformDrift: l.transform_drift,
      };
    },
  };
}
