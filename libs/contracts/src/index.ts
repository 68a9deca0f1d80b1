/**
 * Refit's wire contracts: the protobuf-es code generated from `proto/` (never edited by hand;
 * regenerate with `npm run gen`) plus the list of file descriptors servers use for reflection.
 */
import { file_google_rpc_error_details } from './gen/google/rpc/error_details_pb.js';
import { file_google_rpc_status } from './gen/google/rpc/status_pb.js';
import { file_refit_common_v1_common } from './gen/refit/common/v1/common_pb.js';
import { file_refit_deployer_v1_deployer } from './gen/refit/deployer/v1/deployer_pb.js';
import { file_refit_evaluator_v1_evaluator } from './gen/refit/evaluator/v1/evaluator_pb.js';
import { file_refit_evaluator_v1_report } from './gen/refit/evaluator/v1/report_pb.js';
import { file_refit_events_v1_alerts } from './gen/refit/events/v1/alerts_pb.js';
import { file_refit_events_v1_events } from './gen/refit/events/v1/events_pb.js';
import { file_refit_events_v1_external } from './gen/refit/events/v1/external_pb.js';
import { file_refit_events_v1_monitoring } from './gen/refit/events/v1/monitoring_pb.js';
import { file_refit_events_v1_rollout } from './gen/refit/events/v1/rollout_pb.js';
import { file_refit_events_v1_stream } from './gen/refit/events/v1/stream_pb.js';
import { file_refit_events_v1_training } from './gen/refit/events/v1/training_pb.js';
import { file_refit_feature_v1_feature } from './gen/refit/feature/v1/feature_pb.js';
import { file_refit_ingestion_v1_ingestion } from './gen/refit/ingestion/v1/ingestion_pb.js';
import { file_refit_registry_v1_registry } from './gen/refit/registry/v1/registry_pb.js';
import { file_refit_trainer_v1_trainer } from './gen/refit/trainer/v1/trainer_pb.js';
import { file_refit_trigger_v1_trigger } from './gen/refit/trigger/v1/trigger_pb.js';

// google.rpc.Status and its standard details (vendored from googleapis): the error model of the
// `grpc-status-details-bin` trailer (see libs/platform/src/grpc/status-details.ts).
export * from './gen/google/rpc/error_details_pb.js';
export * from './gen/google/rpc/status_pb.js';
export * from './gen/refit/common/v1/common_pb.js';
export * from './gen/refit/events/v1/alerts_pb.js';
export { alertDetailsFromJson, alertDetailsOf } from './alert-details.js';
export * from './gen/refit/events/v1/events_pb.js';
export * from './gen/refit/events/v1/external_pb.js';
export * from './gen/refit/events/v1/monitoring_pb.js';
export * from './gen/refit/events/v1/rollout_pb.js';
export { rolloutAnalysisDoc, rolloutAnalysisFromJson, rolloutAnalysisOf } from './rollout-analysis.js';
export * from './gen/refit/events/v1/stream_pb.js';
export * from './gen/refit/events/v1/training_pb.js';
export * from './gen/refit/trigger/v1/trigger_pb.js';
export * from './gen/refit/ingestion/v1/ingestion_pb.js';
export * from './gen/refit/feature/v1/feature_pb.js';
export { fittedTransformFromJson, snapshotStatsFromJson } from './feature-details.js';
export * from './gen/refit/trainer/v1/trainer_pb.js';
export * from './gen/refit/evaluator/v1/evaluator_pb.js';
export * from './gen/refit/evaluator/v1/report_pb.js';
export { evaluationDetailsFromJson, evaluationDetailsOf } from './evaluation-details.js';
export { triggerEvidenceFromJson, triggerEvidenceOf, triggerThresholdsFromJson } from './trigger-evidence.js';
export * from './gen/refit/registry/v1/registry_pb.js';
export * from './gen/refit/deployer/v1/deployer_pb.js';

/**
 * Every Refit proto file descriptor (imports are resolved by protobuf-es itself), plus the
 * google.rpc error details, so that reflection lets grpcurl decode the details of a failed call.
 */
export const refitFiles = [
  file_google_rpc_status,
  file_google_rpc_error_details,
  file_refit_common_v1_common,
  file_refit_events_v1_alerts,
  file_refit_events_v1_events,
  file_refit_events_v1_external,
  file_refit_events_v1_monitoring,
  file_refit_events_v1_rollout,
  file_refit_events_v1_stream,
  file_refit_events_v1_training,
  file_refit_trigger_v1_trigger,
  file_refit_ingestion_v1_ingestion,
  file_refit_feature_v1_feature,
  file_refit_trainer_v1_trainer,
  file_refit_evaluator_v1_evaluator,
  file_refit_evaluator_v1_report,
  file_refit_registry_v1_registry,
  file_refit_deployer_v1_deployer,
] as const;
