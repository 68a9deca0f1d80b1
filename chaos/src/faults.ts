import { join } from 'node:path';
import { STAGE_CONSUMERS, tailFile, waitStageWorking, type ServiceName } from '@refit/stack';
import pg from 'pg';
import { handledCount, outage, waitExit, type Harness } from './harness.js';

/** What the harness did, and when. */
export type Fault = {
  /** When the fault began, ms since the epoch. */
  at: number;
  /** What was done, e.g. `kill -9 trainer (pid 123)`. */
  what: string;
  /** What the harness saw at the time (was the stage running, how long was it down). */
  notes: string[];
  /** When an outage ended (the server came back), ms since the epoch. */
  endedAt?: number;
  /** What the fault itself showed to be wrong (e.g. a shutdown that did not finish in its grace period). */
  problems?: string[];
};

/** What a fault needs: the harness, the run it hits, and each stage consumer's handled count before it. */
export type FaultContext = { h: Harness; runId: string; before: Record<string, number> };

/** How long a fault waits for the stage it aims at before giving up. */
const STAGE_TIMEOUT_MS = 180_000;

const stageWorking = (h: Harness, service: ServiceName) => waitStageWorking(h.nc, { stream: h.ns.stream, service, timeoutMs: STAGE_TIMEOUT_MS });

/** Counts `handled_events` of every stage consumer (before a run, to tell afterwards what a kill interrupted). */
export async function stageCounts(h: Harness): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [service, durable] of Object.entries(STAGE_CONSUMERS)) out[durable] = await handledCount(h, service, durable);
  return out;
}

/**
 * kill -9 of `service` while it works on its stage (its stage consumer has the run's event
 * delivered and unacknowledged), from outside the stack: only the supervision brings it back.
 */
export async function killInStage(ctx: FaultContext, service: ServiceName): Promise<Fault> {
  const { h } = ctx;
  const durable = STAGE_CONSUMERS[service] as string;
  await stageWorking(h, service);
  const pid = h.stack.pid(service);
  if (pid === undefined) throw new Error(`${service} is not running`);
  const at = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitExit(h.stack, pid);
  // Nothing commits in a dead process: an unchanged count means the stage's effect was not recorded.
  const committed = (await handledCount(h, service, durable)) > (ctx.before[durable] ?? 0);
  const note = committed
    ? `the stage had committed its effect but not yet acknowledged the event (${durable} delivered, handled)`
    : `killed inside its stage: ${durable} had the event delivered and its effect was not committed`;
  return { at, what: `kill -9 ${service} (pid ${pid})`, notes: [note] };
}

/** kill -9 of the trigger right after TriggerRun answered: its run.requested may still be in its outbox. */
export async function killTrigger(ctx: FaultContext): Promise<Fault> {
  const { h } = ctx;
  const pid = h.stack.pid('trigger');
  if (pid === undefined) throw new Error('trigger is not running');
  const at = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitExit(h.stack, pid);
  const { rows } = await h.pool.query<{ published: boolean }>(
    `select published_at is not null as published from ${pg.escapeIdentifier(`${h.ns.schemaPrefix}trigger`)}.outbox where type like '%RunRequested'`,
  );
  const note = rows.some((r) => !r.published) ? 'run.requested was still unpublished in its outbox' : 'run.requested had already been published';
  return { at, what: `kill -9 trigger (pid ${pid}) right after TriggerRun`, notes: [note] };
}

/** Restarts a piece of the stack's infrastructure (stop, then start on the same port and data) while the trainer trains. */
export async function restartInfraInTraining(ctx: FaultContext, which: 'postgres' | 'nats'): Promise<Fault> {
  const { h } = ctx;
  const control = h.stack.infra[which];
  if (!control) throw new Error(`the stack did not start ${which} itself`);
  await stageWorking(h, 'trainer');
  const at = Date.now();
  await control.stop();
  const down = Date.now();
  await control.start();
  const endedAt = Date.now();
  return { at, endedAt, what: `${which} restarted during training`, notes: [`stopped in ${down - at} ms, back after ${endedAt - at} ms`] };
}

/** Stops the S3 server right after the run is triggered, for `ms`. */
export async function s3Down(ctx: FaultContext, ms: number): Promise<Fault> {
  const s3 = ctx.h.stack.infra.s3;
  if (!s3) throw new Error('the stack did not start S3 itself');
  const at = Date.now();
  await s3.stop();
  await outage(ms);
  await s3.start();
  return { at, endedAt: Date.now(), what: `S3 down ${ms / 1000} s from the trigger on`, notes: [] };
}

/** Takes the registry down (SIGTERM, kept down) when training starts, for `ms`: the evaluator and registry stages meet the outage. */
export async function registryDown(ctx: FaultContext, ms: number): Promise<Fault> {
  const { h } = ctx;
  await stageWorking(h, 'trainer');
  const at = Date.now();
  await h.stack.kill('registry', 'SIGTERM', { restart: false });
  await outage(ms);
  await h.stack.restart('registry');
  return { at, endedAt: Date.now(), what: `registry down ${ms / 1000} s from the start of training`, notes: [] };
}

/**
 * SIGTERM to the trainer from outside (as an orchestrator would) once it reports progress on a
 * long training; the stack did not ask for it, so the supervision starts it again.
 */
export async function sigtermInTraining(ctx: FaultContext): Promise<Fault> {
  const { h, runId } = ctx;
  await stageWorking(h, 'trainer');
  const table = `${pg.escapeIdentifier(`${h.ns.schemaPrefix}trainer`)}.progress`;
  const deadline = Date.now() + STAGE_TIMEOUT_MS;
  let epoch = 0;
  while (epoch < 1) {
    if (Date.now() > deadline) throw new Error('the trainer reported no progress');
    const { rows } = await h.pool.query<{ epoch: number }>(`select epoch from ${table} where run_id = $1`, [runId]);
    epoch = rows[0]?.epoch ?? 0;
    if (epoch < 1) await new Promise((r) => setTimeout(r, 50));
  }
  const pid = h.stack.pid('trainer');
  if (pid === undefined) throw new Error('trainer is not running');
  const at = Date.now();
  process.kill(pid, 'SIGTERM');
  await waitExit(h.stack, pid, 120_000);
  const exit = h.stack.exits.find((e) => e.pid === pid);
  const how = exit?.signal ? `was killed by ${exit.signal}` : `exited with code ${exit?.code}`;
  const after = `${((Date.now() - at) / 1000).toFixed(1)} s`;
  // A SIGTERM asks for a clean stop within the grace period: in-flight work handed back, exit 0.
  const problems = exit?.code === 0 ? [] : [`the trainer did not stop cleanly on SIGTERM: it ${how} ${after} later${shutdownFailure(join(h.stack.logDir, 'trainer.log'), pid)}`];
  return { at, what: `SIGTERM to the trainer (pid ${pid}) at epoch ${epoch}`, notes: [`it ${how} ${after} later`], problems };
}

/** The reason a process' log gives for its failed shutdown, if any: ` (shutdown step "runtime" did not finish…)`. */
function shutdownFailure(logFile: string, pid: number): string {
  for (const line of tailFile(logFile, 40, 1_000_000).toReversed()) {
    try {
      const e = JSON.parse(line) as { pid?: number; msg?: string; err?: { message?: string } };
      if (e.pid === pid && e.msg === 'shutdown step failed') return ` (${e.err?.message ?? 'shutdown step failed'})`;
    } catch {
      // Not a JSON line (or cut): not the one we look for.
    }
  }
  return '';
}
