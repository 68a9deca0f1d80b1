/** Polling helper for eventually-consistent assertions (events, relays, consumers). */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms (default 10000). */
  timeoutMs?: number;
  /** Poll interval in ms (default 50). */
  intervalMs?: number;
  /** Describes what was awaited, for the timeout error. */
  what?: string;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false` (or stops throwing) and
 * returns that value; on timeout rethrows the last error or throws a timeout error.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      if (lastError !== undefined) throw lastError;
      throw new Error(`timed out after ${opts.timeoutMs ?? 10_000} ms waiting for ${opts.what ?? 'condition'}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
