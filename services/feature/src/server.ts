import { fittedTransformFromJson, snapshotStatsFromJson, type FeatureService } from '@refit/contracts';
import { InvalidInputError, NotFoundError, type ServiceHandlers, type ServiceRuntime } from '@refit/platform';
import { driftQuery, listDriftReports } from './drift-history.js';
import { getStats, getTransform } from './store.js';

/** gRPC handlers of the feature service. */
export function createFeatureHandlers(rt: Pick<ServiceRuntime, 'pool' | 'store'>): ServiceHandlers<typeof FeatureService> {
  return {
    async getTransform(req) {
      if (!req.runId) throw new InvalidInputError('run_id is required');
      const t = await getTransform(rt.pool, req.runId);
      if (!t) throw new NotFoundError(`no transform was fitted for run '${req.runId}'`);
      const body = await rt.store.get(t.transform_key);
      const json = body.toString('utf8');
      return {
        runId: t.run_id,
        pipeline: t.pipeline,
        transform: { bucket: t.transform_bucket, key: t.transform_key, sha256: t.transform_sha256, sizeBytes: BigInt(body.length) },
        // The JSON for one release (clients before the typed field), then only `transformDetails`.
        transformJson: json,
        featureNames: t.feature_names,
        transformDetails: fittedTransformFromJson(JSON.parse(json)),
      };
    },
    async getStats(req) {
      if (!req.runId) throw new InvalidInputError('run_id is required');
      const s = await getStats(rt.pool, req.runId);
      if (!s) throw new NotFoundError(`no statistics were computed for run '${req.runId}'`);
      const body = await rt.store.get(s.stats_key);
      const json = body.toString('utf8');
      return {
        runId: s.run_id,
        pipeline: s.pipeline,
        snapshotSha256: s.snapshot_sha256,
        stats: { bucket: s.stats_bucket, key: s.stats_key, sha256: s.stats_sha256, sizeBytes: BigInt(body.length) },
        // The JSON for one release (clients before the typed field), then only `statsDetails`.
        statsJson: json,
        statsDetails: snapshotStatsFromJson(JSON.parse(json)),
      };
    },
    async listDrift(req) {
      return { reports: await listDriftReports({ pool: rt.pool, store: rt.store }, driftQuery(req)) };
    },
  };
}
