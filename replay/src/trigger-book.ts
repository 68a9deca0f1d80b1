import type { Hygiene } from '@refit/spec';
import { applyHygiene } from '../../services/trigger/src/hygiene.js';
import type { Evaluation } from '../../services/trigger/src/policies.js';

/** A run of the replay: what started it, when, and how it ended (virtual ms). */
export type ReplayRun = {
  id: string;
  /** The policy that started it (`queued` for a run queued behind another). */
  trigger: string;
  reason: string;
  /** The decision that started it. */
  decisionId: string;
  startedAt: number;
  endedAt?: number;
  status: 'running' | 'succeeded' | 'failed';
  /** promoted | rejected (succeeded), or the failure. */
  outcome?: string;
};

/** One policy evaluation, as the trigger service records it. */
export type ReplayDecision = {
  id: string;
  at: number;
  policyIndex: number;
  policy: string;
  fired: boolean;
  /** none | start | coalesce | queue | defer | suppress (hygiene's actions) | duplicate. */
  action: string;
  reason: string;
  runId?: string;
};

/** What {@link TriggerBook.decide} takes: one policy's evaluation at a virtual instant. */
export type DecideInput = {
  policyIndex: number;
  policy: string;
  evaluation: Evaluation;
  /** Virtual time, ms. */
  now: number;
  /** A person asked (skips debounce and cool-down). */
  manual?: boolean;
  /** The reason the run records (default: the evaluation's sentence). */
  runReason?: string;
};

const DAY_MS = 86_400_000;

/**
 * The trigger service's decision path without its database: every evaluation recorded once per
 * evidence, debounce counted over consecutive evaluations, and a fired condition put through the
 * service's own `applyHygiene` with the facts it reads from its runs table — the run in flight,
 * runs started in the last 24 h and the end of the last run — all in virtual time. It mirrors
 * `decide`, `runFacts` and `startQueued` of services/trigger (which need Postgres).
 */
export class TriggerBook {
  /** Every run, oldest first. */
  readonly runs: ReplayRun[] = [];
  /** Every decision, oldest first. */
  readonly decisions: ReplayDecision[] = [];
  /** Rows pushed since the last run started (volume policies). */
  rowsSinceRun = 0;
  /** Training rows of the last run's snapshot (volume `minShare`). */
  lastRunRows = 0;
  readonly #hygiene: Hygiene;
  readonly #consecutive = new Map<number, number>();
  readonly #evidence = new Map<string, ReplayDecision>();
  #queued: ReplayDecision | undefined;
  #deferred: { decision: ReplayDecision; until: number } | undefined;
  readonly #inRollout = new Set<string>();

  constructor(hygiene: Hygiene) {
    this.#hygiene = hygiene;
  }

  /** The run in flight (at most one), if any. */
  inFlight(): ReplayRun | undefined {
    return this.runs.findLast((r) => r.status === 'running');
  }

  /** The run's candidate passed its gates and is being rolled out (its training is over). */
  inRollout(runId: string): void {
    this.#inRollout.add(runId);
  }

  /** When a run the cool-down deferred is due, if one is. */
  deferredUntil(): number | undefined {
    return this.#deferred?.until;
  }

  /** What hygiene reads about the runs at `now` (the service's `runFacts`). */
  facts(now: number): { inFlightRunId?: string; inFlightInRollout: boolean; runsLast24h: number; lastRunEndedAt?: Date; lastTrainedAt?: Date } {
    const flight = this.inFlight();
    const ended = (status?: ReplayRun['status']) => this.runs.filter((r) => r.status !== 'running' && (!status || r.status === status)).map((r) => r.endedAt as number);
    const last = (xs: number[]) => (xs.length ? new Date(Math.max(...xs)) : undefined);
    return {
      inFlightRunId: flight?.id,
      inFlightInRollout: flight !== undefined && this.#inRollout.has(flight.id),
      runsLast24h: this.runs.filter((r) => r.startedAt > now - DAY_MS).length,
      lastRunEndedAt: last(ended()),
      lastTrainedAt: last(ended('succeeded')),
    };
  }

  #bump(policyIndex: number, held: boolean): number {
    const n = held ? (this.#consecutive.get(policyIndex) ?? 0) + 1 : 0;
    this.#consecutive.set(policyIndex, n);
    return n;
  }

  #start(trigger: string, reason: string, decisionId: string, now: number): ReplayRun {
    const run: ReplayRun = { id: `r${this.runs.length + 1}`, trigger, reason, decisionId, startedAt: now, status: 'running' };
    this.runs.push(run);
    // The data that made this run is now part of it; volume counts from here.
    this.rowsSinceRun = 0;
    return run;
  }

  /**
   * Records one evaluation and, when its condition holds, applies hygiene: the decision, and the
   * run it started (`started`), if any. The same evidence is decided once (`duplicate`).
   */
  decide(d: DecideInput): { decision: ReplayDecision; started?: ReplayRun } {
    const e = d.evaluation;
    const key = e.evidenceKey === undefined ? undefined : `${d.policyIndex}\u0000${e.evidenceKey}`;
    const seen = key === undefined ? undefined : this.#evidence.get(key);
    if (seen) return { decision: { ...seen, action: 'duplicate', reason: `already decided: ${seen.reason}` } };
    const consecutive = this.#bump(d.policyIndex, e.fired);
    const base = { id: `d${this.decisions.length + 1}`, at: d.now, policyIndex: d.policyIndex, policy: d.policy, fired: e.fired };
    const record = (decision: ReplayDecision) => {
      this.decisions.push(decision);
      if (key !== undefined) this.#evidence.set(key, decision);
      return decision;
    };
    if (!e.fired) return { decision: record({ ...base, action: 'none', reason: e.reason }) };
    const facts = this.facts(d.now);
    const deferredUntil = this.#deferred ? new Date(this.#deferred.until) : undefined;
    const h = applyHygiene(this.#hygiene, { ...facts, queued: this.#queued !== undefined, deferredUntil, consecutive }, new Date(d.now), d.manual ?? false);
    const decision = record({ ...base, action: h.action, reason: `${e.reason}; ${h.reason}`, runId: h.action === 'coalesce' ? facts.inFlightRunId : undefined });
    let started: ReplayRun | undefined;
    if (h.action === 'start') {
      started = this.#start(d.policy, d.runReason ?? e.reason, decision.id, d.now);
      decision.runId = started.id;
      // A run consumed the condition: debounce counts afresh.
      this.#bump(d.policyIndex, false);
    } else if (h.action === 'queue') this.#queued = decision;
    else if (h.action === 'defer' && h.until) this.#deferred = { decision, until: h.until.getTime() };
    return { decision, started };
  }

  /**
   * The run the cool-down deferred, once due (the service's `startDeferred`, which its scheduler's
   * tick calls): it starts now, or — when a run started meanwhile — is queued behind that one.
   */
  startDeferred(now: number): ReplayRun | undefined {
    const d = this.#deferred;
    if (!d || d.until > now) return undefined;
    this.#deferred = undefined;
    if (this.inFlight()) {
      this.#queued ??= d.decision;
      return undefined;
    }
    const run = this.#start('deferred', `deferred by the cool-down (decision ${d.decision.id})`, d.decision.id, now);
    d.decision.runId = run.id;
    return run;
  }

  /** Ends a run; the run queued behind it, if any, starts now (returned). */
  endRun(runId: string, status: 'succeeded' | 'failed', outcome: string, at: number): ReplayRun | undefined {
    const run = this.runs.find((r) => r.id === runId);
    if (!run || run.status !== 'running') return undefined;
    Object.assign(run, { status, outcome, endedAt: at });
    this.#inRollout.delete(runId);
    const queued = this.#queued;
    if (!queued) return undefined;
    this.#queued = undefined;
    const next = this.#start('queued', `queued by decision ${queued.id}`, queued.id, at);
    queued.runId = next.id;
    return next;
  }
}
