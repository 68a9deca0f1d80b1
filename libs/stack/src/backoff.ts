/** When the local stack restarts a process that exited without being asked. */
export type BackoffPolicy = {
  /** Delay before the first restart, ms. Default 500. */
  firstMs: number;
  /** The delay doubles with each consecutive restart up to this, ms. Default 30,000. */
  maxMs: number;
  /**
   * A process that served this long (health SERVING) before it exited starts over at `firstMs`:
   * one crash after a healthy hour is not a crash loop. Default 30,000 ms.
   */
  healthyMs: number;
};

/** 0.5 s, 1 s, 2 s … 30 s; back to 0.5 s after 30 s of serving. */
export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({ firstMs: 500, maxMs: 30_000, healthyMs: 30_000 });

/** Delay before the `n`-th consecutive restart (n ≥ 1): `firstMs · 2^(n−1)`, at most `maxMs`. */
export function restartDelayMs(policy: Pick<BackoffPolicy, 'firstMs' | 'maxMs'>, n: number): number {
  const exponent = Math.max(0, Math.floor(n) - 1);
  // 2^31 already exceeds any sensible cap; clamping keeps the arithmetic finite.
  return Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(exponent, 31));
}

/** How a process ended, in words: `exited with code 1`, `was killed by SIGKILL`. */
export function exitWords(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed by ${signal}`;
  return `exited with code ${code ?? '?'}`;
}
