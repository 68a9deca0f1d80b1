import type { FeatureService } from '@refit/contracts';
import { InvalidInputError, NotFoundError, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { getTransform } from './store.js';

/** gRPC handlers of the feature service. */
export function createFeatureHandlers(rt: ServiceRuntime): ServiceHandlers<typeof FeatureService> {
  return {
    async getTransform(req) {
      if (!req.runId) throw new InvalidInputError('run_id is required');
      const t = await getTransform(rt.pool, req.runId);
      if (!t) throw new NotFoundError(`no transform was fitted for run '${req.runId}'`);
      const body = await rt.store.get(t.transform_key);
      return {
        runId: t.run_id,
        pipeline: t.pipeline,
        transform: { bucket: t.transform_bucket, key: t.transform_key, sha256: t.transform_sha256, sizeBytes: BigInt(body.length) },
        transformJson: body.toString('utf8'),
        featureNames: t.feature_names,
      };
    },
  };
}
