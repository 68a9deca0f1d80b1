/**
 * Structured JSON logging with pino: one line per event on stdout, always tagged with the
 * service name and pid so a log aggregator can tell seven services and their replicas apart.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import { activeTraceIds } from './tracing/propagation.js';

/** Refit's logger: a pino logger. Use `logger.child({ runId })` to tag every line of a run. */
export type Logger = PinoLogger;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name, written as the `service` field of every line. */
  service: string;
  /** Minimum level (default `info`). */
  level?: string;
  /** Where lines go (default stdout); tests pass a stream to capture them. */
  destination?: DestinationStream;
}

/**
 * Creates the service's root logger (JSON lines, ISO timestamps, level as a label; `trace_id` and
 * `span_id` on lines written inside a span).
 *
 * @example
 * const log = createLogger({ service: 'trainer', level: config.logLevel });
 * log.child({ runId }).info('training started');
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Labels ("warn") read better than pino's numbers (40) and every aggregator understands them.
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
      // A line written inside a span names it, so logs and traces join up (`trace_id`, `span_id`).
      mixin: () => activeTraceIds() ?? {},
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
