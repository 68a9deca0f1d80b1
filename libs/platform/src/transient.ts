/**
 * The one place that decides whether a failure is transient — a dependency that is down, slow or
 * restarting, which waiting can fix — whatever library raised it. Consumers wait such failures
 * out instead of dead-lettering them; everything else is either permanent (wrong in itself, see
 * `isPermanent`) or unknown (a bug, retried a few times).
 */
import { status } from '@grpc/grpc-js';
import { ErrorCode, NatsError } from 'nats';
import pg from 'pg';
import { asRefitError } from './errors.js';

/**
 * SQLSTATEs of a connection that is lost or refused: class 08 (connection exception) plus
 * admin/crash shutdown and "cannot connect now" (57P01-57P03) and too many connections (53300).
 */
export function isPgConnectionState(code: string | undefined): boolean {
  return code !== undefined && (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300');
}

/** SQLSTATEs of a statement that failed for reasons a retry fixes: cancelled, serialization, deadlock. */
const RETRYABLE_SQL = new Set(['57014', '40001', '40P01', '55P03']);

/** Socket-level errno codes (Node's net, DNS and undici) of a peer that cannot be reached now. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** nats.js codes of a connection that is down, closing or slow, and of JetStream not answering. */
const NATS_CODES = new Set<string>([
  ErrorCode.Timeout,
  ErrorCode.NoResponders,
  ErrorCode.ConnectionClosed,
  ErrorCode.ConnectionDraining,
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
  ErrorCode.Disconnect,
  ErrorCode.JetStream408RequestTimeout,
  ErrorCode.JetStreamIdleHeartBeat,
]);

/** S3 error codes that say "not now" rather than "never". */
const S3_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'RequestTimeTooSkewed', 'OperationAborted']);

/** gRPC codes of a peer that is down or did not answer in time (raw grpc-js `ServiceError`s). */
const GRPC_CODES = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED]);

/** A pg connection failure marked by the pool (see pg/pool.ts) on the error object. */
export const PG_CONNECTION_LOST = Symbol.for('refit.pg.connectionLost');

/** What a single error object (not its causes) says about itself. */
function ownVerdict(err: unknown): boolean | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const known = asRefitError(err);
  if (known) {
    if (known.kind === 'unavailable') return true;
    // Every other deliberate kind but `internal` is permanent, whatever caused it.
    if (known.kind !== 'internal') return false;
    return undefined;
  }
  if ((err as Record<symbol, unknown>)[PG_CONNECTION_LOST] === true) return true;
  if (err instanceof pg.DatabaseError) return isPgConnectionState(err.code) || RETRYABLE_SQL.has(err.code ?? '') ? true : undefined;
  if (err instanceof NatsError) return NATS_CODES.has(err.code) ? true : undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || S3_CODES.has(code))) return true;
  if (typeof code === 'number' && 'metadata' in err && GRPC_CODES.has(code)) return true;
  // AbortSignal.timeout() and fetch timeouts.
  if ((err as { name?: unknown }).name === 'TimeoutError') return true;
  return undefined;
}

/**
 * True when the failure is transient: a retry later can succeed without anything being changed.
 * That is an `UnavailableError` (which the platform raises for Postgres, NATS, S3 and gRPC
 * failures it maps), a Postgres connection failure (SQLSTATE 08xxx, 57P01-57P03, 53300, or a
 * connection the pool saw die), a cancelled statement, a serialization failure or deadlock, a
 * socket error (ECONNRESET, ECONNREFUSED, ETIMEDOUT…), a NATS timeout or lost connection, an S3
 * throttle or 5xx, a gRPC UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED. A deliberate
 * permanent error (InvalidInput, NotFound, FailedPrecondition…) is never transient, even when
 * its cause is; otherwise the `cause` chain (and every error of an `AggregateError`) is searched.
 */
export function isTransient(err: unknown): boolean {
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number): boolean => {
    if (e === null || e === undefined || depth > 8 || seen.has(e)) return false;
    seen.add(e);
    const own = ownVerdict(e);
    if (own !== undefined) return own;
    if (e instanceof AggregateError && e.errors.length > 0 && e.errors.every((x) => walk(x, depth + 1))) return true;
    const chained = e instanceof NatsError ? e.chainedError : undefined;
    if (chained && walk(chained, depth + 1)) return true;
    return e instanceof Error && walk(e.cause, depth + 1);
  };
  return walk(err, 0);
}
