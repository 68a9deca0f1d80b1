import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  ConflictError,
  FailedPreconditionError,
  InvalidInputError,
  NotFoundError,
  PermissionDeniedError,
  RefitError,
  UnauthenticatedError,
  UnavailableError,
  asRefitError,
  isRefitError,
  type ErrorKind,
} from '../errors.js';
import { ERROR_DOMAIN, STATUS_DETAILS_KEY, encodeStatusDetails, isValidMetadataKey, isValidReason, readStatusDetails, reasonOfKind, type StatusDetails } from './status-details.js';
import type { GrpcLogger } from './types.js';

/**
 * Trailing-metadata key carrying `RefitError.details` as UTF-8 JSON (binary so any text is safe).
 * Deprecated: kept for backward compatibility for one release, next to the standard
 * `grpc-status-details-bin` (google.rpc.Status, see status-details.ts) that replaces it; clients
 * of this release read both, the release after this one stops sending it.
 */
export const ERROR_DETAILS_KEY = 'refit-error-details-bin';

/** How long an UNAVAILABLE answer tells the caller to wait (RetryInfo) when the error does not say. */
export const DEFAULT_RETRY_DELAY_MS = 1000;

/** Metadata key a caller may set to correlate its request with the server's logs. */
export const REQUEST_ID_KEY = 'x-request-id';

/** A status ready to hand to grpc-js (unary callback or `call.emit('error', …)`). */
export type GrpcStatus = { code: status; details: string; metadata: Metadata };

/**
 * An error thrown by a Refit gRPC client: the matching `RefitError` subclass (so `isNotFound(e)`
 * and `instanceof NotFoundError` work across the wire) plus the raw gRPC code and method.
 */
export type GrpcCallError = RefitError & {
  /** The gRPC status code the call ended with. */
  readonly grpcCode: status;
  /** The method path that failed, when known. */
  readonly grpcMethod?: string;
  /** The standard google.rpc.Status the server sent (`grpc-status-details-bin`), when it sent one. */
  readonly statusDetails?: StatusDetails;
};

const codeByKind: Record<ErrorKind, status> = {
  invalid_input: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  failed_precondition: status.FAILED_PRECONDITION,
  unauthenticated: status.UNAUTHENTICATED,
  permission_denied: status.PERMISSION_DENIED,
  unavailable: status.UNAVAILABLE,
  internal: status.INTERNAL,
};

/** What `toStatus` may know about the call, for logs and the internal-error message. */
export type StatusCallInfo = { method?: string; requestId?: string; signal?: AbortSignal };

/**
 * Maps an error thrown by a handler to the status sent to the caller. `RefitError`s keep their
 * message (it is written for the caller) and their `details` (as JSON in the
 * `refit-error-details-bin` trailer, for one more release); every answer also carries the
 * standard `grpc-status-details-bin` trailer (see {@link standardStatus}). Anything else,
 * including `RefitError`s of kind `internal`, becomes INTERNAL with "internal error (see the <service> log, request id …)" while the real
 * error is logged, so internals never leak. Client errors are logged at debug, unavailable at
 * warn, internal at error; an error after the call was cancelled is logged at debug only.
 */
export function toStatus(err: unknown, logger: GrpcLogger, service: string, call: StatusCallInfo = {}): GrpcStatus {
  const metadata = new Metadata();
  const requestId = call.requestId ?? 'none';
  const where = { method: call.method, requestId };
  if (call.signal?.aborted) {
    // The client is gone (or the deadline passed and grpc-js already answered): nobody reads this.
    logger.debug({ ...where, err }, 'gRPC call ended after cancellation');
    return { code: status.CANCELLED, details: 'call cancelled', metadata };
  }
  const known = asRefitError(err);
  if (known && known.kind !== 'internal') {
    const details = encodeDetails(known.details);
    if (details) metadata.set(ERROR_DETAILS_KEY, details);
    metadata.set(STATUS_DETAILS_KEY, encodeStatusDetails(standardStatus(known, codeByKind[known.kind], known.message, service, call)));
    if (known.kind === 'unavailable') logger.warn({ ...where, err }, 'gRPC call failed: a dependency is unavailable');
    else if (known.kind === 'unauthenticated' || known.kind === 'permission_denied') logger.warn({ ...where, kind: known.kind, msg: known.message }, 'gRPC call refused');
    else logger.debug({ ...where, kind: known.kind, msg: known.message }, 'gRPC call rejected');
    return { code: codeByKind[known.kind], details: known.message, metadata };
  }
  logger.error({ ...where, err }, 'gRPC handler failed');
  const message = `internal error (see the ${service} log, request id ${requestId})`;
  metadata.set(STATUS_DETAILS_KEY, encodeStatusDetails(standardStatus(undefined, status.INTERNAL, message, service, call)));
  return { code: status.INTERNAL, details: message, metadata };
}

/**
 * The google.rpc.Status of an error answer: its code and message, an ErrorInfo (the error's own
 * `reason` or its kind's — `INVALID_INPUT`, `NOT_FOUND`… —, domain `refit.dev`, metadata: the
 * service, the method, the request id and the error's scalar `details`), a BadRequest with the
 * field violations of an invalid input that names its fields, and a RetryInfo for an unavailable
 * dependency. `err` undefined: an internal error, whose details are never sent.
 */
export function standardStatus(err: RefitError | undefined, code: status, message: string, service: string, call: StatusCallInfo = {}): StatusDetails {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(err?.details ?? {})) {
    if ((typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && isValidMetadataKey(k)) metadata[k] = String(v).slice(0, 1024);
  }
  metadata.service = service;
  if (call.method) metadata.method = call.method;
  if (call.requestId) metadata.requestId = call.requestId;
  const reason = err?.reason !== undefined && isValidReason(err.reason) ? err.reason : reasonOfKind(err?.kind ?? 'internal');
  const out: StatusDetails = { code, message, errorInfo: { reason, domain: ERROR_DOMAIN, metadata } };
  if (err instanceof InvalidInputError && err.violations.length > 0) out.badRequest = { fieldViolations: [...err.violations] };
  if (err?.kind === 'unavailable') out.retryInfo = { retryDelayMs: (err as UnavailableError).retryAfterMs ?? DEFAULT_RETRY_DELAY_MS };
  return out;
}

/**
 * Turns a failed call's status into the matching `RefitError` subclass, keeping the server's
 * message and details: INVALID_ARGUMENT/OUT_OF_RANGE → InvalidInputError, NOT_FOUND →
 * NotFoundError, ALREADY_EXISTS/ABORTED → ConflictError, FAILED_PRECONDITION →
 * FailedPreconditionError, UNAUTHENTICATED → UnauthenticatedError, PERMISSION_DENIED →
 * PermissionDeniedError, UNAVAILABLE/DEADLINE_EXCEEDED/CANCELLED/RESOURCE_EXHAUSTED →
 * UnavailableError (tell a deadline apart with `isDeadlineExceeded`), anything else → a
 * `RefitError` of kind `internal`. The original `ServiceError` is the `cause`.
 */
export function toRefitError(err: ServiceError, method?: string): GrpcCallError {
  const message = err.details || err.message;
  const standard = readStatusDetails(err.metadata);
  const reason = standard?.errorInfo?.reason || undefined;
  const options = { cause: err, details: decodeDetails(err.metadata), reason };
  let e: RefitError;
  switch (err.code) {
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE:
      // The server's BadRequest; from a server without it, the legacy `details.field` (see InvalidInputError).
      e = new InvalidInputError(message, { ...options, violations: standard?.badRequest?.fieldViolations });
      break;
    case status.NOT_FOUND:
      e = new NotFoundError(message, options);
      break;
    case status.ALREADY_EXISTS:
    case status.ABORTED:
      e = new ConflictError(message, options);
      break;
    case status.FAILED_PRECONDITION:
      e = new FailedPreconditionError(message, options);
      break;
    case status.UNAUTHENTICATED:
      e = new UnauthenticatedError(message, options);
      break;
    case status.PERMISSION_DENIED:
      e = new PermissionDeniedError(message, options);
      break;
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.CANCELLED:
    case status.RESOURCE_EXHAUSTED:
      e = new UnavailableError(message, { ...options, retryAfterMs: standard?.retryInfo?.retryDelayMs });
      break;
    default:
      e = new RefitError('internal', message, options);
  }
  Object.defineProperty(e, 'grpcCode', { value: err.code, enumerable: true });
  if (method !== undefined) Object.defineProperty(e, 'grpcMethod', { value: method, enumerable: true });
  if (standard) Object.defineProperty(e, 'statusDetails', { value: standard, enumerable: false });
  return e as GrpcCallError;
}

/** The gRPC status code of an error thrown by a Refit client; undefined for any other error. */
export function grpcCodeOf(e: unknown): status | undefined {
  if (!isRefitError(e) || !('grpcCode' in e)) return undefined;
  return typeof e.grpcCode === 'number' ? (e.grpcCode as status) : undefined;
}

/** True when a client call failed because its deadline passed (it is also an `UnavailableError`). */
export const isDeadlineExceeded = (e: unknown): boolean => grpcCodeOf(e) === status.DEADLINE_EXCEEDED;

/** True for a `ServiceError` as grpc-js reports failed calls. */
export function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number' && 'metadata' in e;
}

function encodeDetails(details: Record<string, unknown> | undefined): Buffer | undefined {
  if (!details || Object.keys(details).length === 0) return undefined;
  try {
    return Buffer.from(JSON.stringify(details), 'utf8');
  } catch {
    // Details with a bigint or a cycle cannot be sent; the message alone still says what failed.
    return undefined;
  }
}

function decodeDetails(metadata: Metadata | undefined): Record<string, unknown> | undefined {
  const [raw] = metadata?.get(ERROR_DETAILS_KEY) ?? [];
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : raw);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
