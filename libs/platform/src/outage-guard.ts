/**
 * The last line of defence of a service process against an outage: a connection that dies with
 * nobody listening for its 'error' event (a Postgres client some code opened without a listener,
 * a socket) throws an uncaught exception; when that exception is a transient failure the object
 * that raised it is simply dead, so it is logged and the process goes on. Anything else ends the
 * process as Node would. Unhandled rejections are left to Node (the process ends): a rejected
 * promise chain may be a loop that stopped, and a restart brings it back, where surviving would
 * leave it stopped. Every loop should catch its own errors; the platform's do.
 */
import type { Logger } from './logger.js';
import { isTransient } from './transient.js';

/** Options of {@link installOutageGuard}. */
export interface OutageGuardOptions {
  logger: Logger;
  /** Called with 1 for an uncaught exception that is not transient (default: flush the logs, then `process.exit`). */
  exit?: (code: number) => void;
  /** The emitter of `uncaughtException` (default `process`; tests pass their own). */
  target?: NodeJS.EventEmitter;
}

/** Installs the guard; returns a function that removes it. */
export function installOutageGuard(opts: OutageGuardOptions): () => void {
  const target = opts.target ?? process;
  const exit =
    opts.exit ??
    ((code: number) => {
      setTimeout(() => process.exit(code), 1000).unref();
      opts.logger.flush(() => process.exit(code));
    });
  const onException = (err: unknown): void => {
    if (isTransient(err)) {
      opts.logger.error({ err }, 'uncaught exception of a transient failure (an emitter without an error listener?): kept running');
      return;
    }
    opts.logger.fatal({ err }, 'uncaught exception: exiting');
    exit(1);
  };
  target.on('uncaughtException', onException);
  return () => {
    target.off('uncaughtException', onException);
  };
}
