/**
 * Refit's gRPC layer: protobuf-es services served and called over grpc-js, with deadlines,
 * cancellation, Refit errors mapped to status codes and back, health and reflection.
 */
export { status as grpcStatus } from '@grpc/grpc-js';
export type { CallContext, GrpcLogger } from './types.js';
export {
  implement,
  type BidiStreamingHandler,
  type ClientStreamingHandler,
  type MethodHandler,
  type ServerStreamingHandler,
  type ServiceHandlers,
  type ServiceImplementation,
  type UnaryHandler,
  type UntypedHandler,
} from './handlers.js';
export { createGrpcServer, type GrpcServer, type GrpcServerOptions } from './server.js';
export { callOptionsFrom, createClient, type CallOptions, type Client, type ClientControls, type ClientMethod, type ClientOptions } from './client.js';
export {
  DEFAULT_RETRY_DELAY_MS,
  ERROR_DETAILS_KEY,
  REQUEST_ID_KEY,
  standardStatus,
  grpcCodeOf,
  isDeadlineExceeded,
  toRefitError,
  toStatus,
  type GrpcCallError,
  type GrpcStatus,
  type StatusCallInfo,
} from './status.js';
export {
  ERROR_DOMAIN,
  STATUS_DETAILS_KEY,
  decodeStatusDetails,
  encodeStatusDetails,
  readStatusDetails,
  reasonOfKind,
  type ErrorInfoDetail,
  type StatusDetails,
} from './status-details.js';
export { checkHealth, type HealthStatus } from './health.js';
export { Encoded, toServiceDefinition, type ServiceDefinitionOptions } from './codec.js';
