import { EVENTS, FailedPreconditionError, NotFoundError, withTransaction, type ServiceRuntime } from '@refit/platform';
import { startQueued } from './decide.js';
import { getRun, recordStage, updateRun } from './store.js';

/**
 * Cancels a running run: marks it failed at stage `cancelled` with the reason, emits `run.cancelled`
 * (the trainer stops within an epoch and never starts it afterwards) and starts the run queued
 * behind it, all in one transaction. Later stage events of the run change nothing, as for any ended run.
 * @throws NotFoundError for an unknown run; FailedPreconditionError when it already ended.
 */
export async function cancelRun(rt: Pick<ServiceRuntime, 'pool' | 'publish' | 'relay'>, runId: string, reason: string, actor: string): Promise<void> {
  const why = `${reason.trim() || 'no reason given'} (by ${actor})`;
  await withTransaction(rt.pool, async (tx) => {
    const run = await getRun(tx, runId, true);
    if (!run) throw new NotFoundError(`run '${runId}' not found`);
    if (run.status !== 'running') throw new FailedPreconditionError(`run '${runId}' already ${run.status}; only a running run can be cancelled`);
    await recordStage(tx, { runId, stage: 'cancelled', status: 'failed', computeMs: 0, startedAt: null, finishedAt: new Date(), eventType: EVENTS.runCancelled.schema.typeName, detail: why });
    await updateRun(tx, runId, { status: 'failed', failedStage: 'cancelled', failureReason: `cancelled: ${why}`, outcome: 'cancelled' });
    await rt.publish(tx, EVENTS.runCancelled, { runId, pipeline: run.pipeline, reason: why }, { runId });
    await startQueued(rt, tx, run.pipeline);
  });
  rt.relay.kick();
}
