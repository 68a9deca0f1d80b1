import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { TrainerService } from '@refit/contracts';
import { InvalidInputError, NotFoundError, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { getJob } from './store.js';

/** gRPC handlers of the trainer service. */
export function createTrainerHandlers(rt: ServiceRuntime): ServiceHandlers<typeof TrainerService> {
  return {
    async getJob(req) {
      if (!req.runId) throw new InvalidInputError('run_id is required');
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
        },
      };
    },
  };
}
