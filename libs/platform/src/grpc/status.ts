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
import type { GrpcLogger } from './types.js';

/** Trailing-metadata key carrying `RefitError.details` as UTF-8 JSON (binary so any text is safe). */
export const ERROR_DETAILS_KEY = 'refit-error-details-bin';

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
 * `refit-error-details-bin` trailer); anything else, including `RefitError`s of kind `internal`,
 * becomes INTERNAL with "internal error (see the <service> log, request id …)" while the real
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
    if (known.kind === 'unavailable') logger.warn({ ...where, err }, 'gRPC call failed: a dependency is unavailable');
    else if (known.kind === 'unauthenticated' || known.kind === 'permission_denied') logger.warn({ ...where, kind: known.kind, msg: known.message }, 'gRPC call refused');
    else logger.debug({ ...where, kind: known.kind, msg: known.message }, 'gRPC call rejected');
    return { code: codeByKind[known.kind], details: known.message, metadata };
  }
  logger.error({ ...where, err }, 'gRPC handler failed');
  return { code: status.INTERNAL, details: `internal error (see the ${service} log, request id ${requestId})`, metadata };
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
  const options = { cause: err, details: decodeDetails(err.metadata) };
  let e: RefitError;
  switch (err.code) {
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE:
      e = new InvalidInputError(message, options);
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
      e = new UnavailableError(message, options);
      break;
    default:
      e = new RefitError('internal', message, options);
  }
  Object.defineProperty(e, 'grpcCode', { value: err.code, enumerable: true });
  if (method !== undefined) Object.defineProperty(e, 'grpcMethod', { value: method, enumerable: true });
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
