import type { Hygiene } from '@refit/spec';

/** What hygiene decides for a condition that holds. */
export type HygieneAction = 'start' | 'coalesce' | 'queue' | 'suppress';

/** The pipeline's situation when a policy fires. */
export type HygieneState = {
  /** The run in flight, if any. */
  inFlightRunId?: string;
  /** A run is already queued behind the one in flight. */
  queued: boolean;
  /** Runs requested in the last 24 hours. */
  runsLast24h: number;
  /** When the last run ended. */
  lastRunEndedAt?: Date;
  /** Consecutive evaluations (this one included) in which the policy's condition held. */
  consecutive: number;
};

/**
 * Debounce, one run in flight (coalesce or queue), a daily budget and a cool-down, in that order.
 * A manual request skips debounce and cool-down; it still joins a run in flight and respects the
 * budget.
 */
export function applyHygiene(h: Hygiene, s: HygieneState, now: Date, manual: boolean): { action: HygieneAction; reason: string } {
  if (!manual && s.consecutive < h.debounce) {
    return { action: 'suppress', reason: `debounce: the condition held ${s.consecutive} of ${h.debounce} consecutive evaluations` };
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
      return { action: 'suppress', reason: `cool-down: the last run ended ${minutes.toFixed(1)} min ago, ${h.cooldownMinutes} min must pass` };
    }
  }
  return { action: 'start', reason: 'a new run starts' };
}
