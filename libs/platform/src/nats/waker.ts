/** A sleep that another part of the code can cut short (kick, stop). */
export interface Waker {
  /** Resolves after `ms`, or earlier when {@link Waker.wake} is called. */
  sleep(ms: number): Promise<void>;
  /** Ends the current sleep, if any. */
  wake(): void;
}

/** Creates a {@link Waker}. */
export function createWaker(): Waker {
  let current: (() => void) | undefined;
  return {
    sleep(ms) {
      return new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          current = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        current = done;
      });
    },
    wake() {
      current?.();
    },
  };
}

/** Exponential back-off: `base·2^(attempt-1)` capped at `max` (attempt starts at 1). */
export const backoffMs = (attempt: number, base: number, max: number): number =>
  Math.min(base * 2 ** Math.max(0, attempt - 1), max);
