/**
 * How a consumer retries an event that failed: a transient failure (a dependency down) is waited
 * out with capped exponential back-off and jitter until a horizon of time, however many
 * deliveries that takes; a failure of unknown kind (a bug?) gets `maxDeliver` tries; a permanent
 * one none. Pure: the consumer feeds it what the `consumer_attempts` row says.
 */
import { isPermanent, UnavailableError } from '../errors.js';
import { isTransient } from '../transient.js';

/** Retry settings of a consumer (BaseConfig `retryBaseMs`, `retryMaxDelayMs`, `retryHorizonMs`). */
export interface RetryPolicy {
  /** Delay before the first retry, in ms; doubled at each further one (`REFIT_RETRY_BASE_MS`, default 1000). */
  baseMs: number;
  /** Longest delay between two retries, in ms (`REFIT_RETRY_MAX_DELAY_MS`, default 30000). */
  maxDelayMs: number;
  /**
   * How long an event may keep failing transiently, from its first failure, before it is
   * dead-lettered anyway, in ms (`REFIT_RETRY_HORIZON_MS`, default 600000 = 10 min).
   */
  horizonMs: number;
}

/** The defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({ baseMs: 1000, maxDelayMs: 30_000, horizonMs: 600_000 });

/** What kind of failure an error is, for retrying. */
export type FailureKind = 'permanent' | 'transient' | 'unknown';

/** Permanent (wrong in itself: dead-letter now), transient (wait it out) or unknown (a few tries). */
export function classifyFailure(err: unknown): FailureKind {
  if (isPermanent(err)) return 'permanent';
  return isTransient(err) ? 'transient' : 'unknown';
}

/**
 * Delay before retry number `retry` (1, 2…): `baseMs·2^(retry-1)` capped at `maxDelayMs`, times a
 * jitter in [0.5, 1) so that replicas that failed together do not retry together.
 */
export function retryDelayMs(policy: Pick<RetryPolicy, 'baseMs' | 'maxDelayMs'>, retry: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.baseMs * 2 ** Math.min(30, Math.max(0, retry - 1)), policy.maxDelayMs);
  // Rounded down: rounding to nearest made the capped delay itself reachable (outside [0.5, 1)).
  return Math.max(1, Math.floor(exp * (0.5 + random() / 2)));
}

/** What the consumer knows about an event's failures so far, this one included. */
export interface FailureHistory {
  /** Failures that count toward maxDeliver (unknown kind). */
  failures: number;
  /** Retries so far, this one included (drives the back-off). */
  retries: number;
  /** Time since the event's first recorded failure, in ms. */
  failingMs: number;
}

/** What to do with a failed event. */
export type RetryDecision = { action: 'retry'; delayMs: number } | { action: 'dead-letter'; reason: unknown };

/** Decides between retrying (after how long) and dead-lettering (with what reason). */
export function decideRetry(opts: { error: unknown; kind: FailureKind; history: FailureHistory; maxDeliver: number; policy: RetryPolicy; random?: () => number }): RetryDecision {
  const { error, kind, history, policy } = opts;
  if (kind === 'permanent') return { action: 'dead-letter', reason: error };
  if (kind === 'unknown' && history.failures >= opts.maxDeliver) return { action: 'dead-letter', reason: error };
  if (kind === 'transient' && history.failingMs >= policy.horizonMs) {
    const message = error instanceof Error ? error.message : String(error);
    const minutes = Math.round(policy.horizonMs / 6000) / 10;
    return { action: 'dead-letter', reason: new UnavailableError(`still failing after ${minutes} min of retries: ${message}`, { cause: error }) };
  }
  return { action: 'retry', delayMs: retryDelayMs(policy, history.retries, opts.random) };
}
