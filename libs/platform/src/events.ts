import { randomBytes } from 'node:crypto';
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
  StreamDriftedSchema,
  StreamSegmentWrittenSchema,
  StreamUpdateProvenSchema,
  TrainingProgressSchema,
} from '@refit/contracts';
import type { Lineage } from '@refit/contracts';

/**
 * Who may publish an event: the services named, `'any-service'` (run.failed: every stage fails
 * its runs), or `'external'` (other systems; unsigned, and never trusted beyond what they ask).
 */
export type EventProducers = readonly string[] | 'any-service' | 'external';

/** One kind of event: its subject (below the deployment's prefix), its protobuf payload and who emits it. */
export type EventDef<S extends DescMessage = DescMessage> = { readonly name: string; readonly schema: S; readonly from: EventProducers };

const def = <S extends DescMessage>(name: string, schema: S, from: EventProducers): EventDef<S> => ({ name, schema, from });

/**
 * Every event Refit publishes, `refit.<domain>.<event>` with the default prefix. The payload of
 * each is the named message of `refit.events.v1`; the subject list is documented in the README.
 */
export const EVENTS = {
  pipelineApplied: def('pipeline.applied', PipelineAppliedSchema, ['trigger']),
  runRequested: def('run.requested', RunRequestedSchema, ['trigger']),
  dataIngested: def('data.ingested', DataIngestedSchema, ['ingestion']),
  dataRejected: def('data.rejected', DataRejectedSchema, ['ingestion']),
  datasetPrepared: def('dataset.prepared', DatasetPreparedSchema, ['ingestion']),
  featuresReady: def('features.ready', FeaturesReadySchema, ['feature']),
  driftReport: def('drift.report', DriftReportSchema, ['feature']),
  modelTrained: def('model.trained', ModelTrainedSchema, ['trainer']),
  modelEvaluated: def('model.evaluated', ModelEvaluatedSchema, ['evaluator']),
  modelRegistered: def('model.registered', ModelRegisteredSchema, ['registry']),
  aliasChanged: def('alias.changed', AliasChangedSchema, ['registry']),
  modelServing: def('deployment.serving', ModelServingSchema, ['deployer']),
  runFailed: def('run.failed', RunFailedSchema, 'any-service'),
  runCompleted: def('run.completed', RunCompletedSchema, ['trigger']),
  runCancelled: def('run.cancelled', RunCancelledSchema, ['trigger']),
  trainingProgress: def('training.progress', TrainingProgressSchema, ['trainer']),
  externalRetrain: def('external.retrain', ExternalRetrainRequestedSchema, 'external'),
  monitoringWindow: def('monitoring.window', MonitoringWindowSchema, ['deployer']),
  externalData: def('external.data', ExternalDataAnnouncedSchema, 'external'),
  externalMetric: def('external.metric', ExternalMetricReportedSchema, 'external'),
  rolloutRequested: def('rollout.requested', RolloutRequestedSchema, ['registry']),
  rolloutDecided: def('rollout.decided', RolloutDecidedSchema, ['deployer']),
  alertRaised: def('alert.raised', AlertRaisedSchema, ['trigger']),
  streamSegment: def('stream.segment', StreamSegmentWrittenSchema, ['ingestion']),
  streamProven: def('stream.proven', StreamUpdateProvenSchema, ['trainer']),
  streamDrifted: def('stream.drifted', StreamDriftedSchema, ['trainer']),
} as const;

/** The event published on `<prefix>.<name>`, if any. */
export function eventByName(name: string): EventDef | undefined {
  return Object.values(EVENTS).find((e) => e.name === name);
}

/** A new run id: time-ordered, short and readable (`r-<base36 ms>-<6 hex>`); the trigger's runs and a stream learner's replacements. */
export function newRunId(): string {
  return `r-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

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
