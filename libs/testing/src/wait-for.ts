/** Polling helper for eventually-consistent assertions (events, relays, consumers). */

/**
 * How many times its nominal deadline a wait may take before it gives up (`REFIT_TEST_SLACK`,
 * default 3). A deadline only decides when to stop waiting for a condition that should come true;
 * on a loaded machine (CI runs two suites at once on two cores, each starting service processes)
 * everything takes longer, and a deadline tight enough for a quiet laptop fails a correct test.
 * No test asserts that something does not happen by letting a waitFor run out.
 */
export const TEST_SLACK = testSlack(process.env.REFIT_TEST_SLACK);

export function testSlack(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 3;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 1 || n > 100) throw new Error(`REFIT_TEST_SLACK=${raw}: expected a number from 1 to 100 (how many times its deadline a test wait may take)`);
  return n;
}

/** Seconds a test gives the whole local stack to come up: a minute on a quiet machine, times the slack. */
export const STACK_START_S = 60 * TEST_SLACK;

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms (default 10000) times {@link TEST_SLACK}. */
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
  const timeoutMs = (opts.timeoutMs ?? 10_000) * TEST_SLACK;
  const deadline = Date.now() + timeoutMs;
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
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
