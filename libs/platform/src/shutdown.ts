/**
 * Graceful shutdown: on SIGTERM/SIGINT stop taking work, finish what is in flight, close
 * connections, then exit. Each step is bounded so a stuck dependency cannot keep a pod alive.
 */
import type { Logger } from './logger.js';

/** One named thing to do at shutdown, e.g. "stop consumer" or "close pool". */
export interface ShutdownStep {
  /** Name used in the logs. */
  name: string;
  /** The work; rejected or exceeding the grace period counts as a failure (exit code 1). */
  run: () => Promise<void>;
}

/** Options of {@link installShutdown}. */
export interface ShutdownOptions {
  /** Logger for progress and failures. */
  logger: Logger;
  /** Longest time each step may take, in ms. */
  graceMs: number;
  /** Steps, run one after another in this order. */
  steps: ShutdownStep[];
  /** Signals that trigger shutdown (default `['SIGTERM', 'SIGINT']`). */
  signals?: NodeJS.Signals[];
  /** Called with the exit code at the end (default `process.exit`); tests replace it. */
  exit?: (code: number) => void;
}

/** Handle returned by {@link installShutdown}. */
export interface ShutdownHandle {
  /** Runs the steps once (later calls return the same promise), then exits. */
  shutdown(reason: string): Promise<void>;
  /** Removes the signal handlers without shutting down (tests). */
  uninstall(): void;
}

/** Rejects after `ms` unless `promise` settles first; always clears its timer. */
async function withTimeout(promise: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Installs SIGTERM/SIGINT handlers that run `steps` in order, each bounded by `graceMs`, then exit
 * with code 0 (or 1 when a step failed or timed out).
 */
export function installShutdown(opts: ShutdownOptions): ShutdownHandle {
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let running: Promise<void> | undefined;

  const run = async (reason: string): Promise<void> => {
    const started = Date.now();
    opts.logger.info({ reason }, 'shutting down');
    let failed = false;
    for (const step of opts.steps) {
      const t0 = Date.now();
      try {
        // Promise.resolve().then(...) turns a synchronous throw inside run() into a rejection.
        await withTimeout(Promise.resolve().then(step.run), opts.graceMs, `shutdown step "${step.name}"`);
        opts.logger.debug({ step: step.name, ms: Date.now() - t0 }, 'shutdown step done');
      } catch (err) {
        failed = true;
        opts.logger.error({ step: step.name, err }, 'shutdown step failed');
      }
    }
    opts.logger.info({ reason, ms: Date.now() - started, failed }, 'shutdown complete');
    uninstall();
    // pino writes asynchronously: flush so the last lines are not lost by process.exit.
    await new Promise<void>((resolve) => {
      setTimeout(resolve, 1000).unref();
      opts.logger.flush(() => resolve());
    });
    exit(failed ? 1 : 0);
  };

  const shutdown = (reason: string): Promise<void> => {
    running ??= run(reason);
    return running;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (running) {
      opts.logger.warn({ signal }, 'already shutting down');
      return;
    }
    void shutdown(signal);
  };

  const uninstall = (): void => {
    for (const s of signals) process.off(s, onSignal);
  };

  for (const s of signals) process.on(s, onSignal);
  return { shutdown, uninstall };
}
