import { create, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromMs, type Timestamp } from '@bufbuild/protobuf/wkt';
import {
  AlertRaisedSchema,
  AliasChangedSchema,
  DataIngestedSchema,
  DataRejectedSchema,
  DatasetPreparedSchema,
  DriftReportSchema,
  ExternalDataAnnouncedSchema,
  ExternalMetricReportedSchema,
  ExternalRetrainRequestedSchema,
  MonitoringWindowSchema,
  FeaturesReadySchema,
  LineageSchema,
  ModelEvaluatedSchema,
  ModelRegisteredSchema,
  ModelServingSchema,
  ModelTrainedSchema,
  PipelineAppliedSchema,
  RunCancelledSchema,
  RunCompletedSchema,
  RunFailedSchema,
  RunRequestedSchema,
  RolloutDecidedSchema,
  RolloutRequestedSchema,
  TrainingProgressSchema,
} from '@refit/contracts';
import type { Lineage } from '@refit/contracts';

/** One kind of event: its subject (below the deployment's prefix) and its protobuf payload. */
export type EventDef<S extends DescMessage = DescMessage> = { readonly name: string; readonly schema: S };

const def = <S extends DescMessage>(name: string, schema: S): EventDef<S> => ({ name, schema });

/**
 * Every event Refit publishes, `refit.<domain>.<event>` with the default prefix. The payload of
 * each is the named message of `refit.events.v1`; the subject list is documented in the README.
 */
export const EVENTS = {
  pipelineApplied: def('pipeline.applied', PipelineAppliedSchema),
  runRequested: def('run.requested', RunRequestedSchema),
  dataIngested: def('data.ingested', DataIngestedSchema),
  dataRejected: def('data.rejected', DataRejectedSchema),
  datasetPrepared: def('dataset.prepared', DatasetPreparedSchema),
  featuresReady: def('features.ready', FeaturesReadySchema),
  driftReport: def('drift.report', DriftReportSchema),
  modelTrained: def('model.trained', ModelTrainedSchema),
  modelEvaluated: def('model.evaluated', ModelEvaluatedSchema),
  modelRegistered: def('model.registered', ModelRegisteredSchema),
  aliasChanged: def('alias.changed', AliasChangedSchema),
  modelServing: def('deployment.serving', ModelServingSchema),
  runFailed: def('run.failed', RunFailedSchema),
  runCompleted: def('run.completed', RunCompletedSchema),
  runCancelled: def('run.cancelled', RunCancelledSchema),
  trainingProgress: def('training.progress', TrainingProgressSchema),
  externalRetrain: def('external.retrain', ExternalRetrainRequestedSchema),
  monitoringWindow: def('monitoring.window', MonitoringWindowSchema),
  externalData: def('external.data', ExternalDataAnnouncedSchema),
  externalMetric: def('external.metric', ExternalMetricReportedSchema),
  rolloutRequested: def('rollout.requested', RolloutRequestedSchema),
  rolloutDecided: def('rollout.decided', RolloutDecidedSchema),
  alertRaised: def('alert.raised', AlertRaisedSchema),
} as const;

/** The full subject of an event under a deployment's subject prefix. */
export function subjectOf(prefix: string, event: EventDef): string {
  return `${prefix}.${event.name}`;
}

/** The event definition whose payload type is `typeName`, if any. */
export function eventByType(typeName: string): EventDef | undefined {
  return Object.values(EVENTS).find((e) => e.schema.typeName === typeName);
}

/** The wire form of a stored object's reference. */
export function wireRef(a: { bucket: string; key: string; sha256: string; size: number }): { bucket: string; key: string; sha256: string; sizeBytes: bigint } {
  return { bucket: a.bucket, key: a.key, sha256: a.sha256, sizeBytes: BigInt(a.size) };
}

/** A stage's own timing, from its start (epoch ms) to now, for the event it emits. */
export function stageTiming(stage: string, startedMs: number): { stage: string; computeMs: bigint; startedAt: Timestamp; finishedAt: Timestamp } {
  const finished = Date.now();
  return { stage, computeMs: BigInt(finished - startedMs), startedAt: timestampFromMs(startedMs), finishedAt: timestampFromMs(finished) };
}

/** A run's lineage with the fields a stage adds (later fields win). */
export function extendLineage(prev: Lineage | undefined, add: MessageInitShape<typeof LineageSchema>): Lineage {
  const { $typeName: _t, $unknown: _u, ...fields } = prev ?? create(LineageSchema);
  return create(LineageSchema, { ...fields, ...add });
}
