import { EVENTS, extendLineage, stageTiming, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import { fitFeatures } from './fit.js';
import { checkDrift } from './drift-check.js';
import { computeStats } from './stats.js';
import type { LiveDriftOptions } from './config.js';
import { checkLiveDrift } from './live-drift.js';
import { insertDriftReport, insertModelVersion, insertStats, insertTransform } from './store.js';

/** Consumes `dataset.prepared`: fit the transform, write the transformed splits, emit `features.ready`. */
export async function consumeFeatureEvents(rt: ServiceRuntime): Promise<void> {
  await rt.consume({
    name: 'dataset-prepared',
    event: EVENTS.datasetPrepared,
    handle: async (ev, tx, { logger }) => {
      const started = Date.now();
      const e = ev.decode(EVENTS.datasetPrepared.schema);
      if (!e.context || !e.lineage) return;
      const spec = specFromJson(e.context.specJson);
      const fit = await fitFeatures(rt, spec, e.lineage);
      const runId = e.context.runId;
      // Statistics first: the drift below reads the previous run's, and the next run reads these.
      const snapshotSha256 = e.lineage.snapshotSha256 ?? '';
      const stats = computeStats(spec, fit.trainRows, { runId, snapshotSha256 });
      const statsRef = await rt.store.putContentAddressed(`pipelines/${spec.name}/stats`, Buffer.from(JSON.stringify(stats)), '.json');
      const drift = await checkDrift(rt, tx, spec, runId, fit.trainRows);
      await insertStats(tx, { runId, pipeline: spec.name, snapshotSha256, ref: statsRef });
      await insertTransform(tx, {
        runId,
        pipeline: spec.name,
        ref: fit.transformRef,
        featureNames: fit.transform.outputNames,
        rowsFitted: fit.transform.fittedOnRows,
        rawTrainKey: e.lineage.rawTrain?.key ?? '',
      });
      if (drift) {
        await insertDriftReport(tx, { runId, pipeline: spec.name, referenceRunId: drift.referenceRunId, status: drift.status, share: drift.share, reportKey: drift.report?.key ?? '' });
        await rt.publish(tx, EVENTS.driftReport, drift, { runId, traceId: ev.traceId });
      }
      await rt.publish(
        tx,
        EVENTS.featuresReady,
        {
          context: e.context,
          lineage: extendLineage(e.lineage, fit.lineage),
          timing: stageTiming('feature', started),
          drift,
        },
        { runId: e.context.runId, traceId: ev.traceId },
      );
      logger.info({ features: fit.transform.outputNames.length, transform: fit.transformRef.key }, 'features ready');
    },
  });
}

/**
 * Consumes `model.registered` (remembers which run made each version: a served version's drift
 * reference) and `monitoring.window` (measures the served feature sample against that reference
 * and emits a live `drift.report`).
 */
export async function consumeLiveDriftEvents(rt: ServiceRuntime, opts: LiveDriftOptions): Promise<void> {
  await rt.consume({
    name: 'model-registered',
    event: EVENTS.modelRegistered,
    handle: async (ev, tx) => {
      const e = ev.decode(EVENTS.modelRegistered.schema);
      if (!e.context?.runId || !e.version) return;
      await insertModelVersion(tx, { pipeline: e.context.pipeline, version: e.version, runId: e.context.runId });
    },
  });
  await rt.consume({
    name: 'monitoring-window',
    event: EVENTS.monitoringWindow,
    handle: async (ev, tx, { logger }) => {
      const w = ev.decode(EVENTS.monitoringWindow.schema);
      if (!w.features?.key) return;
      const report = await checkLiveDrift(rt, tx, w, opts);
      if ('skipped' in report) {
        logger.warn({ pipeline: w.pipeline, version: w.version, reason: report.skipped }, 'live drift not measured');
        return;
      }
      await rt.publish(tx, EVENTS.driftReport, report, { traceId: ev.traceId });
      logger.info({ pipeline: w.pipeline, version: w.version, status: report.status, share: report.share }, 'live drift measured');
    },
  });
}
