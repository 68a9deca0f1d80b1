import { setTimeout as sleep } from 'node:timers/promises';
import { withTransaction, type Lease, type ServiceRuntime } from '@refit/platform';
import { specFromJson, type PipelineSpec } from '@refit/spec';
import { dueDeferrals, lastSlot, runFacts, setLastSlot } from './decision-store.js';
import { decide, startDeferred, type DecideDeps, type RunStarter } from './decide.js';
import { evaluateAge, evaluateSchedule, type Clock } from './policies.js';
import { listPipelines, type PipelineRow } from './store.js';

const parsed = new Map<string, { version: number; spec: PipelineSpec }>();

/** The pipeline's spec, parsed once per version (the scheduler looks at every pipeline every tick). */
function specOf(p: PipelineRow): PipelineSpec {
  const hit = parsed.get(p.name);
  if (hit?.version === p.version) return hit.spec;
  const spec = specFromJson(p.spec_json);
  parsed.set(p.name, { version: p.version, spec });
  return spec;
}

/** Runs a clock-driven decision in a root span (`trigger.decide <policy>`) that the run it starts continues. */
function inDecisionSpan<T>(rt: Pick<ServiceRuntime, 'tracing'>, pipeline: string, policy: string, fn: () => Promise<T>): Promise<T> {
  return rt.tracing.inSpan(`trigger.decide ${policy}`, { attributes: { 'refit.pipeline': pipeline, 'refit.policy': policy } }, fn);
}

/** Evaluates a pipeline's clock-driven policies (schedules, maximum age) once. */
export async function evaluateClockPolicies(rt: DecideDeps & Pick<ServiceRuntime, 'pool' | 'tracing'>, pipeline: PipelineRow, now: Date): Promise<number> {
  const spec = specOf(pipeline);
  let decided = 0;
  for (const [i, p] of spec.triggers.entries()) {
    if (p.kind === 'schedule') {
      // A policy is judged from the moment its spec version was applied, never before.
      const since = (await lastSlot(rt.pool, pipeline.name, i)) ?? pipeline.updated_at;
      for (const evaluation of evaluateSchedule(p, since, now)) {
        // A span of its own: a run the schedule starts has no caller, so its trace begins here.
        await inDecisionSpan(rt, pipeline.name, 'schedule', () =>
          withTransaction(rt.pool, async (tx) => {
            await decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'schedule', evaluation, now });
            if (evaluation.slot) await setLastSlot(tx, pipeline.name, i, evaluation.slot);
          }),
        );
        decided++;
      }
    } else if (p.kind === 'age') {
      const { lastTrainedAt } = await runFacts(rt.pool, pipeline.name, now);
      const evaluation = evaluateAge(p, lastTrainedAt, now);
      // Only a firing age check is worth a record each tick; the state is shown by explain.
      if (evaluation.fired) {
        await inDecisionSpan(rt, pipeline.name, 'age', () => withTransaction(rt.pool, (tx) => decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'age', evaluation, now })));
        decided++;
      }
    }
  }
  return decided;
}

/** Starts (or queues) every run the cool-down deferred that is due at `now`. */
export async function startDueDeferrals(rt: RunStarter & Pick<ServiceRuntime, 'pool' | 'tracing' | 'logger' | 'relay'>, now: Date): Promise<number> {
  let started = 0;
  for (const pipeline of await dueDeferrals(rt.pool, now)) {
    try {
      if (await inDecisionSpan(rt, pipeline, 'deferred', () => withTransaction(rt.pool, (tx) => startDeferred(rt, tx, pipeline, now)))) started++;
    } catch (err) {
      rt.logger.error({ err, pipeline }, 'starting a deferred run failed; retried at the next tick');
    }
  }
  if (started > 0) rt.relay.kick();
  return started;
}

/**
 * Evaluates the clock-driven policies (schedule, maximum age) and starts due deferred runs every
 * `tickMs`, in one replica of the trigger at a time (under the `scheduler` lease), so no slot is
 * decided twice by two replicas racing. A failed tick is logged and the next one runs.
 */
export function startScheduler(rt: DecideDeps & Pick<ServiceRuntime, 'pool' | 'tracing' | 'logger' | 'relay' | 'runLeased'>, opts: { clock: Clock; tickMs: number }): Lease {
  const tick = async (signal: AbortSignal) => {
    const now = opts.clock();
    await startDueDeferrals(rt, now);
    for (const p of await listPipelines(rt.pool)) {
      if (signal.aborted) return;
      const kinds = new Set(specOf(p).triggers.map((t) => t.kind));
      if (!kinds.has('schedule') && !kinds.has('age')) continue;
      try {
        if ((await evaluateClockPolicies(rt, p, now)) > 0) rt.relay.kick();
      } catch (err) {
        rt.logger.error({ err, pipeline: p.name }, 'trigger policy evaluation failed');
      }
    }
  };
  return rt.runLeased({
    name: 'scheduler',
    run: async ({ signal }) => {
      while (!signal.aborted) {
        await tick(signal).catch((err: unknown) => rt.logger.error({ err }, 'scheduler tick failed'));
        await sleep(opts.tickMs, undefined, { signal }).catch(() => undefined);
      }
    },
  });
}
