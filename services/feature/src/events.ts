import type { DriftReport, Lineage, RunContext } from '@refit/contracts';
import { EVENTS, extendLineage, stageTiming, type ArtifactRef, type HandlerContext, type ReceivedEvent, type ServiceRuntime } from '@refit/platform';
import { specFromJson } from '@refit/spec';
import { fitFeatures } from './fit.js';
import { checkDrift } from './drift-check.js';
import { computeStats } from './stats.js';
import type { LiveDriftOptions } from './config.js';
import { checkLiveDrift } from './live-drift.js';
import { insertDriftReport, insertModelVersion, insertStats, insertTransform } from './store.js';
import { showDrift } from './metrics.js';

/** What preparing a run's features produced, for its effects (rows and events). */
type Prepared = {
  context: RunContext;
  pipeline: string;
  /** The run's lineage with the transform and the transformed splits. */
  lineage: Lineage;
  started: number;
  snapshotSha256: string;
  statsRef: ArtifactRef;
  transform: { ref: ArtifactRef; featureNames: string[]; rowsFitted: number; rawTrainKey: string };
  drift: DriftReport | undefined;
};

/**
 * Fits the transform of a `dataset.prepared` run, writes the transformed splits and the training
 * split's statistics, and measures drift against the previous run's statistics — outside any
 * transaction. Every object is content-addressed, so doing it again after a crash or a hand-back
 * writes the same objects.
 */
async function prepareFeatures(rt: Pick<ServiceRuntime, 'store' | 'pool'>, ev: ReceivedEvent, { signal }: HandlerContext): Promise<Prepared | undefined> {
  const started = Date.now();
  const e = ev.decode(EVENTS.datasetPrepared.schema);
  if (!e.context || !e.lineage) return undefined;
  const spec = specFromJson(e.context.specJson);
  const fit = await fitFeatures(rt, spec, e.lineage);
  signal.throwIfAborted();
  const runId = e.context.runId;
  const snapshotSha256 = e.lineage.snapshotSha256 ?? '';
  const stats = computeStats(spec, fit.trainRows, { runId, snapshotSha256 });
  const statsRef = await rt.store.putContentAddressed(`pipelines/${spec.name}/stats`, Buffer.from(JSON.stringify(stats)), '.json');
  signal.throwIfAborted();
  // The previous run's statistics: one run of a pipeline is in flight at a time, so it is the same whenever this runs.
  const drift = await checkDrift(rt, rt.pool, spec, runId, fit.trainRows);
  return {
    context: e.context,
    pipeline: spec.name,
    lineage: extendLineage(e.lineage, fit.lineage),
    started,
    snapshotSha256,
    statsRef,
    transform: { ref: fit.transformRef, featureNames: fit.transform.outputNames, rowsFitted: fit.transform.fittedOnRows, rawTrainKey: e.lineage.rawTrain?.key ?? '' },
    drift,
  };
}

/**
 * Consumes `dataset.prepared`: fit the transform, write the transformed splits, emit
 * `features.ready`. The fitting and the object store I/O run outside any transaction; only their
 * effects (rows, `drift.report`, `features.ready`) take a short one.
 */
export async function consumeFeatureEvents(rt: Pick<ServiceRuntime, 'consume' | 'publish' | 'metrics' | 'store' | 'pool'>): Promise<void> {
  await rt.consume<Prepared | undefined>({
    name: 'dataset-prepared',
    event: EVENTS.datasetPrepared,
    concurrency: 2,
    work: (ev, ctx) => prepareFeatures(rt, ev, ctx),
    effects: async (prepared, tx, { ev, logger, afterCommit }) => {
      if (!prepared) return;
      const { context, drift, transform, pipeline } = prepared;
      const runId = context.runId;
      await insertStats(tx, { runId, pipeline, snapshotSha256: prepared.snapshotSha256, ref: prepared.statsRef });
      await insertTransform(tx, { runId, pipeline, ...transform });
      if (drift) {
        await insertDriftReport(tx, { runId, pipeline, referenceRunId: drift.referenceRunId, status: drift.status, share: drift.share, reportKey: drift.report?.key ?? '' });
        await rt.publish(tx, EVENTS.driftReport, drift, { runId, traceId: ev.traceId });
        afterCommit(() => showDrift(rt.metrics, pipeline, 'training', drift));
      }
      await rt.publish(tx, EVENTS.featuresReady, { context, lineage: prepared.lineage, timing: stageTiming('feature', prepared.started), drift }, { runId, traceId: ev.traceId });
      logger.info({ features: transform.featureNames.length, transform: transform.ref.key }, 'features ready');
    },
  });
}

/**
 * Consumes `model.registered` (remembers which run made each version: a served version's drift
 * reference) and `monitoring.window` (measures the served feature sample against that reference
 * and emits a live `drift.report`).
 */
export async function consumeLiveDriftEvents(rt: Pick<ServiceRuntime, 'consume' | 'publish' | 'metrics' | 'store'>, opts: LiveDriftOptions): Promise<void> {
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
    handle: async (ev, tx, { logger, afterCommit }) => {
      const w = ev.decode(EVENTS.monitoringWindow.schema);
      if (!w.features?.key) return;
      const report = await checkLiveDrift(rt, tx, w, opts);
      if ('skipped' in report) {
        logger.warn({ pipeline: w.pipeline, version: w.version, reason: report.skipped }, 'live drift not measured');
        return;
      }
      await rt.publish(tx, EVENTS.driftReport, report, { traceId: ev.traceId });
      afterCommit(() => showDrift(rt.metrics, w.pipeline, 'live', report));
      logger.info({ pipeline: w.pipeline, version: w.version, status: report.status, share: report.share }, 'live drift measured');
    },
  });
}
