/** Translation of nats.js errors into Refit's error classes. */
import { FailedPreconditionError, UnavailableError } from '../errors.js';

/** JetStream API error codes we act on (see nats-server's errors.json). */
export const JS_ERR = {
  consumerNotFound: 10014,
  streamNameInUse: 10058,
  streamNotFound: 10059,
} as const;

/** The JetStream API error code of a nats.js error, if it carries one. */
export function jsErrCode(err: unknown): number | undefined {
  const api = (err as { api_error?: { err_code?: number } } | null)?.api_error;
  return typeof api?.err_code === 'number' ? api.err_code : undefined;
}

/**
 * Wraps a nats.js failure: a JetStream API refusal (bad config, overlap…) becomes a
 * FailedPreconditionError, anything else (timeouts, no responders, closed connection) an
 * UnavailableError that a retry may fix.
 */
export function natsFailure(err: unknown, what: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  const code = jsErrCode(err);
  if (code !== undefined) return new FailedPreconditionError(`${what}: ${message}`, { cause: err, details: { jsErrCode: code } });
  return new UnavailableError(`${what}: ${message}`, { cause: err });
}
