import { RunStatus, type Run } from '@refit/contracts';
import type { NatsConnection } from 'nats';
import type { ServiceName } from './stack.js';

/**
 * The durable consumer whose event starts each stage of a run: while it has a message delivered
 * and not acknowledged, that service is working on the stage (consumers take one message at a
 * time and acknowledge it after the commit that records its effect).
 */
export const STAGE_CONSUMERS: Readonly<Partial<Record<ServiceName, string>>> = Object.freeze({
  ingestion: 'ingestion-run-requested',
  feature: 'feature-dataset-prepared',
  trainer: 'trainer-features-ready',
  evaluator: 'evaluator-model-trained',
  registry: 'registry-model-evaluated',
  deployer: 'deployer-alias-changed',
});

/**
 * Waits until `service` is working on its stage: its stage consumer has a message delivered and
 * not yet acknowledged. Polls the consumer every `pollMs` (default 10 ms), so a stage shorter than
 * that may be missed: the caller checks afterwards whether its effect was committed.
 */
export async function waitStageWorking(nc: NatsConnection, opts: { stream: string; service: ServiceName; timeoutMs: number; pollMs?: number }): Promise<void> {
  const durable = STAGE_CONSUMERS[opts.service];
  if (!durable) throw new RangeError(`${opts.service} has no stage consumer`);
  const jsm = await nc.jetstreamManager();
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const info = await jsm.consumers.info(opts.stream, durable).catch(() => undefined);
    if (info && info.num_ack_pending > 0) return;
    if (Date.now() > deadline) throw new Error(`${opts.service} did not start its stage (consumer ${durable}) within ${Math.round(opts.timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 10));
  }
}

/** What {@link waitRunEnds} needs: a trigger client (the CLI's, or any with GetRun). */
export type RunReader = { trigger: { getRun(req: { runId: string }, opts?: { timeoutMs?: number }): Promise<{ run?: Run }> } };

/**
 * Polls a run until it is no longer running, through outages: a failed GetRun (the trigger
 * restarting, Postgres down) is retried until `timeoutMs`.
 */
export async function waitRunEnds(c: RunReader, runId: string, opts: { timeoutMs: number; pollMs?: number }): Promise<Run> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const { run } = await c.trigger.getRun({ runId }, { timeoutMs: 5000 });
      if (run && run.status !== RunStatus.RUNNING) return run;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? ` (last error: ${last.message})` : '';
      throw new Error(`run ${runId} still running after ${Math.round(opts.timeoutMs / 1000)} s${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/**
 * Waits until the namespace is quiet: every durable consumer has been delivered everything and
 * acknowledged it. Returns false after `timeoutMs` (the audit then says what is left).
 */
export async function waitQuiet(nc: NatsConnection, opts: { stream: string; timeoutMs: number }): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    try {
      const jsm = await nc.jetstreamManager();
      let busy = false;
      for await (const c of jsm.consumers.list(opts.stream)) if (c.config.durable_name && (c.num_pending > 0 || c.num_ack_pending > 0)) busy = true;
      if (!busy) return true;
    } catch {
      // NATS coming back: ask again.
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}
