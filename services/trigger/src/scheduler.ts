import { withTransaction, type ServiceRuntime } from '@refit/platform';
import { specFromJson, type PipelineSpec } from '@refit/spec';
import { lastSlot, runFacts, setLastSlot } from './decision-store.js';
import { decide } from './decide.js';
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

/** Evaluates a pipeline's clock-driven policies (schedules, maximum age) once. */
export async function evaluateClockPolicies(rt: ServiceRuntime, pipeline: PipelineRow, now: Date): Promise<number> {
  const spec = specOf(pipeline);
  let decided = 0;
  for (const [i, p] of spec.triggers.entries()) {
    if (p.kind === 'schedule') {
      // A policy is judged from the moment its spec version was applied, never before.
      const since = (await lastSlot(rt.pool, pipeline.name, i)) ?? pipeline.updated_at;
      for (const evaluation of evaluateSchedule(p, since, now)) {
        await withTransaction(rt.pool, async (tx) => {
          await decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'schedule', evaluation, now });
          if (evaluation.slot) await setLastSlot(tx, pipeline.name, i, evaluation.slot);
        });
        decided++;
      }
    } else if (p.kind === 'age') {
      const { lastTrainedAt } = await runFacts(rt.pool, pipeline.name, now);
      const evaluation = evaluateAge(p, lastTrainedAt, now);
      // Only a firing age check is worth a record each tick; the state is shown by explain.
      if (evaluation.fired) {
        await withTransaction(rt.pool, (tx) => decide(rt, tx, { pipeline, spec, policyIndex: i, policy: 'age', evaluation, now }));
        decided++;
      }
    }
  }
  return decided;
}

/** The scheduler: evaluates clock-driven policies of every pipeline every `tickMs`. */
export function startScheduler(rt: ServiceRuntime, opts: { clock: Clock; tickMs: number }): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    const now = opts.clock();
    for (const p of await listPipelines(rt.pool)) {
      if (stopped) return;
      const kinds = new Set(specOf(p).triggers.map((t) => t.kind));
      if (!kinds.has('schedule') && !kinds.has('age')) continue;
      try {
        if ((await evaluateClockPolicies(rt, p, now)) > 0) rt.relay.kick();
      } catch (err) {
        rt.logger.error({ err, pipeline: p.name }, 'trigger policy evaluation failed');
      }
    }
  };
  const timer = setInterval(() => {
    running = running.then(tick).catch((err: unknown) => rt.logger.error({ err }, 'scheduler tick failed'));
  }, opts.tickMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
