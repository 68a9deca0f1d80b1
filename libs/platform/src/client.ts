/**
 * The client side of Refit's plumbing, for programs that only call the services (the `refit`
 * CLI): errors, service addresses, gRPC clients and the credentials they present. It loads none
 * of the server side (Postgres, NATS, object storage, metrics, the tracing SDK, certificate
 * issuing), so such a program starts in a fraction of the time the whole library takes.
 */
export * from './errors.js';
export { DEFAULT_PORTS, serviceAddress, type ServiceName } from './service-address.js';
export { callOptionsFrom, createClient, type CallOptions, type Client, type ClientControls, type ClientMethod, type ClientOptions } from './grpc/client.js';
export { grpcCodeOf, isDeadlineExceeded, toRefitError, type GrpcCallError } from './grpc/status.js';
export { ERROR_DOMAIN, STATUS_DETAILS_KEY, decodeStatusDetails, readStatusDetails, type ErrorInfoDetail, type StatusDetails } from './grpc/status-details.js';
export { clientCredentialsFromEnv, findRefitHome, type ClientCredentialSource } from './auth/client-credentials.js';
