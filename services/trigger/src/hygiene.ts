import type { Hygiene } from '@refit/spec';

/** What hygiene decides for a condition that holds. */
export type HygieneAction = 'start' | 'coalesce' | 'queue' | 'defer' | 'suppress';

/** The pipeline's situation when a policy fires. */
export type HygieneState = {
  /** The run in flight, if any. */
  inFlightRunId?: string;
  /** The run in flight passed its gates and is being rolled out (its training is over). */
  inFlightInRollout?: boolean;
  /** A run is already queued behind the one in flight. */
  queued: boolean;
  /** A run is already deferred to the end of the cool-down, due then. */
  deferredUntil?: Date;
  /** Runs requested in the last 24 hours. */
  runsLast24h: number;
  /** When the last run ended. */
  lastRunEndedAt?: Date;
  /** Consecutive evaluations (this one included) in which the policy's condition held. */
  consecutive: number;
};

/** Hygiene's verdict: the action, one sentence, and when a deferred run is due. */
export type HygieneDecision = { action: HygieneAction; reason: string; until?: Date };

/**
 * Debounce, the run in flight (coalesce or queue; a run in its rollout always queues, or is
 * superseded), a daily budget and a cool-down that defers, in that order. A manual request skips
 * debounce and cool-down; it still joins a run in flight and respects the budget. Every rule reads
 * `now`, never the wall clock, so a history can be replayed on a virtual clock.
 */
export function applyHygiene(h: Hygiene, s: HygieneState, now: Date, manual: boolean): HygieneDecision {
  if (!manual && s.consecutive < h.debounce) {
    return { action: 'suppress', reason: `debounce: the condition held ${s.consecutive} of ${h.debounce} consecutive evaluations` };
  }
  if (s.inFlightRunId && s.inFlightInRollout) {
    if (h.duringRollout === 'supersede') {
      return { action: 'start', reason: `run ${s.inFlightRunId} is in its rollout; a new run starts, and its candidate, if it passes, supersedes the one in rollout (duringRollout: supersede)` };
    }
    if (!s.queued) return { action: 'queue', reason: `run ${s.inFlightRunId} is in its rollout; one run is queued to start when the rollout ends` };
    return { action: 'coalesce', reason: `run ${s.inFlightRunId} is in its rollout and one run is queued behind it; this trigger joins the queued one` };
  }
  if (s.inFlightRunId) {
    if (h.whenBusy === 'queue' && !s.queued) return { action: 'queue', reason: `run ${s.inFlightRunId} is in flight; one run is queued to start after it` };
    return { action: 'coalesce', reason: `run ${s.inFlightRunId} is in flight${s.queued ? ' and one is queued' : ''}; this trigger joins it` };
  }
  if (s.runsLast24h >= h.maxRunsPerDay) {
    return { action: 'suppress', reason: `budget: ${s.runsLast24h} runs in the last 24 h, at most ${h.maxRunsPerDay}` };
  }
  if (!manual && h.cooldownMinutes > 0 && s.lastRunEndedAt) {
    const minutes = (now.getTime() - s.lastRunEndedAt.getTime()) / 60_000;
    if (minutes < h.cooldownMinutes) {
      const until = new Date(s.lastRunEndedAt.getTime() + h.cooldownMinutes * 60_000);
      const already = s.deferredUntil ? `; a run is already deferred to ${s.deferredUntil.toISOString()}, this trigger joins it` : `; deferred: a run starts at ${until.toISOString()}`;
      return { action: s.deferredUntil ? 'coalesce' : 'defer', reason: `cool-down: the last run ended ${minutes.toFixed(1)} min ago, ${h.cooldownMinutes} min must pass${already}`, until: s.deferredUntil ?? until };
    }
  }
  return { action: 'start', reason: 'a new run starts' };
}
