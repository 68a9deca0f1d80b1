import { timestampNow } from '@bufbuild/protobuf/wkt';
import type { SearchProgress } from '@refit/modeling';
import { EVENTS, withTransaction, type Logger, type ServiceRuntime } from '@refit/platform';
import { cancellationOf, saveProgress } from './store.js';

/** Reports a run's training progress; see {@link createProgressReporter}. */
export type ProgressReporter = {
  /** Called every epoch; writes at most once per interval (always the first epoch). */
  epoch(p: SearchProgress): Promise<void>;
  /** The last report (done = true). */
  finish(): Promise<void>;
};

/**
 * A throttled progress reporter for one run: it replaces the run's `progress` row and emits a
 * `training.progress` event through the outbox, in a short transaction of its own (the training
 * transaction commits only at the end, far too late for a progress bar). On the same beat it
 * checks whether another replica recorded a cancellation, and calls `onCancelled`. Failures to
 * report are logged, never fatal: progress is best effort.
 */
export function createProgressReporter(
  rt: Pick<ServiceRuntime, 'pool' | 'publish' | 'relay'>,
  opts: { runId: string; pipeline: string; traceId?: string; intervalMs: number; logger: Logger; onCancelled: (reason: string) => void },
): ProgressReporter {
  let last: SearchProgress | undefined;
  let lastAt = Number.NEGATIVE_INFINITY;
  const write = async (p: SearchProgress, done: boolean): Promise<void> => {
    lastAt = performance.now();
    try {
      const cancelled = await withTransaction(rt.pool, async (tx) => {
        await saveProgress(tx, { run_id: opts.runId, pipeline: opts.pipeline, ...p, val_loss: p.valLoss ?? null, done });
        await rt.publish(
          tx,
          EVENTS.trainingProgress,
          { runId: opts.runId, pipeline: opts.pipeline, ...p, valLoss: Number.isFinite(p.valLoss) ? p.valLoss : undefined, loss: Number.isFinite(p.loss) ? p.loss : 0, at: timestampNow(), done },
          { runId: opts.runId, traceId: opts.traceId },
        );
        return done ? undefined : cancellationOf(tx, opts.runId);
      });
      rt.relay.kick();
      if (cancelled !== undefined) opts.onCancelled(cancelled);
    } catch (err) {
      opts.logger.warn({ err }, 'could not report training progress');
    }
  };
  return {
    async epoch(p) {
      last = p;
      if (performance.now() - lastAt >= opts.intervalMs) await write(p, false);
    },
    async finish() {
      if (last) await write(last, true);
    },
  };
}
