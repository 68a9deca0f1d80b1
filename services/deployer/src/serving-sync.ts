import { initBackend, type BackendPreference } from '@refit/modeling';
import type { ServiceRuntime } from '@refit/platform';
import { routingOf, sameRouting } from './rollout.js';
import type { Routing } from './routing.js';
import { activeRollouts } from './rollout-store.js';
import { loadVersion, type LoadedModel, type ServingTable } from './serving.js';
import { listDeployments } from './store.js';

/** Dependencies of {@link createServingSync}: of the runtime, the database (what is served), the object store (the models) and the logger. */
export type ServingSyncDeps = { rt: Pick<ServiceRuntime, 'pool' | 'store' | 'logger'>; table: ServingTable; tfBackend: BackendPreference; everyMs: number };

/** A pipeline's model loaded by the consumer that decided to serve it, kept until the sync installs it. */
const keyOf = (pipeline: string, version: string) => `${pipeline}\u0000${version}`;

/**
 * Keeps this replica's serving table equal to what the database says is served: each pipeline's
 * champion (`deployments`) and, during a rollout, its candidate at the step's routing (`rollouts`).
 * The database is the truth and every replica follows it — whichever replica consumed the
 * `alias.changed` or moved the canary step — within `everyMs` (REFIT_SERVING_SYNC_MS). So a model
 * is served only once the transaction that records it has committed, and a failed commit never
 * leaves a replica serving what the table does not say.
 */
export function createServingSync(deps: ServingSyncDeps) {
  const { rt, table } = deps;
  const preloaded = new Map<string, LoadedModel>();
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const load = async (v: Parameters<typeof loadVersion>[1]): Promise<LoadedModel> => {
    const key = keyOf(v.pipeline, v.version);
    const ready = preloaded.get(key);
    if (ready) {
      preloaded.delete(key);
      return ready;
    }
    await initBackend({ prefer: deps.tfBackend });
    return loadVersion(rt.store, v);
  };

  /**
   * Whether the table changed since `seen` (this replica's consumer or rollout tick installed a
   * model or moved a step after the commit that records it). What this reconcile read may then be
   * older than that change: applying it would serve the previous champion or step again until the
   * next sync (seen as v1 answering after v2's deployment.serving). It stops and reads afresh.
   */
  const overtaken = (seen: number, unused?: LoadedModel): boolean => {
    if (table.changes === seen) return false;
    if (unused) {
      // Kept for the next read (it may still be wanted), unless another copy is waiting already.
      const key = keyOf(unused.pipeline, unused.version);
      if (preloaded.has(key)) unused.model.dispose();
      else preloaded.set(key, unused);
    }
    again = true;
    return true;
  };

  async function reconcile(): Promise<void> {
    let seen = table.changes;
    for (const d of await listDeployments(rt.pool)) {
      if (overtaken(seen)) return;
      if (table.current(d.pipeline)?.version === d.version) continue;
      try {
        const loaded = await load({ pipeline: d.pipeline, version: d.version, runId: d.run_id, modelKey: d.model_key, transformKey: d.transform_key, threshold: d.decision_threshold });
        if (overtaken(seen, loaded)) return;
        table.swap(loaded);
        seen = table.changes;
        rt.logger.info({ pipeline: d.pipeline, version: d.version }, 'now serving');
      } catch (err) {
        rt.logger.error({ err, pipeline: d.pipeline, version: d.version }, 'could not load the champion to serve; retried at the next sync');
      }
    }
    const active = await activeRollouts(rt.pool);
    for (const r of active) {
      if (overtaken(seen)) return;
      const routing = routingOf(r.config, r.step);
      const c = table.candidate(r.pipeline);
      if (c?.loaded.version === r.candidate_version) {
        if (!sameRouting(c.routing, routing)) {
          table.route(r.pipeline, routing);
          seen = table.changes;
        }
        continue;
      }
      try {
        const loaded = await load({ pipeline: r.pipeline, version: r.candidate_version, runId: r.run_id, modelKey: r.model_key, transformKey: r.transform_key, threshold: r.decision_threshold });
        if (overtaken(seen, loaded)) return;
        table.setCandidate(loaded, routing);
        seen = table.changes;
        rt.logger.info({ pipeline: r.pipeline, version: r.candidate_version, step: r.step + 1, weight: r.weight }, 'serving the rollout candidate');
      } catch (err) {
        rt.logger.error({ err, pipeline: r.pipeline, version: r.candidate_version }, 'could not load the rollout candidate; retried at the next sync');
      }
    }
    if (overtaken(seen)) return;
    const rolling = new Set(active.map((r) => r.pipeline));
    for (const p of table.candidatePipelines()) if (!rolling.has(p)) table.clearCandidate(p);
  }

  /** Runs a reconcile now, or once more after the one running (calls coalesce). */
  function kick(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await reconcile();
        } while (again && !stopped);
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const timer = setInterval(() => {
    kick().catch((err: unknown) => rt.logger.warn({ err }, 'serving sync failed; retried at the next one'));
  }, deps.everyMs);
  timer.unref();

  return {
    /** Reconciles now (at start-up: throws when the database cannot be read). */
    reconcile: kick,
    /** Hands over a model a consumer loaded for a deployment it is about to commit (no second load). */
    preload(loaded: LoadedModel): void {
      const key = keyOf(loaded.pipeline, loaded.version);
      preloaded.get(key)?.model.dispose();
      preloaded.delete(key);
      // One whose commit never came (the event went to another replica, or failed) is let go.
      for (const [k, m] of preloaded) {
        if (preloaded.size < 8) break;
        m.model.dispose();
        preloaded.delete(k);
      }
      preloaded.set(key, loaded);
    },
    /**
     * Serves a model this replica preloaded, now — called once the transaction that records it
     * has committed: as the champion, or with `routing` as the rollout's candidate. Without the
     * preload (it was let go) the next reconcile loads it.
     */
    install(pipeline: string, version: string, routing?: Routing): void {
      const key = keyOf(pipeline, version);
      const loaded = preloaded.get(key);
      if (loaded) {
        preloaded.delete(key);
        if (routing) table.setCandidate(loaded, routing);
        else table.swap(loaded);
        rt.logger.info({ pipeline, version, ...(routing ? { routing } : {}) }, routing ? 'serving the rollout candidate' : 'now serving');
      }
      this.nudge();
    },
    /** Reconciles soon, without waiting (after a change this replica made). */
    nudge(): void {
      setImmediate(() => void kick().catch((err: unknown) => rt.logger.warn({ err }, 'serving sync failed; retried at the next one')));
    },
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
      for (const m of preloaded.values()) m.model.dispose();
      preloaded.clear();
    },
  };
}

/** The sync {@link createServingSync} returns. */
export type ServingSync = ReturnType<typeof createServingSync>;
