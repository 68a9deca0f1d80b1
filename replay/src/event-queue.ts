/** What happens on the virtual clock besides rows arriving. */
export type ReplayEvent =
  /** A run's training and evaluation are done (its virtual duration passed). */
  | { kind: 'run-done'; at: number; runId: string }
  /** A period ends: its data and labels come back, rollouts are analysed, the monitoring window closes. */
  | { kind: 'period-end'; at: number; period: number }
  /** A rollout step's hold ran out (analysed as the deployer's tick would just after it). */
  | { kind: 'hold'; at: number; runId: string; step: number }
  /** A run the cool-down deferred is due (the scheduler's tick starts it). */
  | { kind: 'deferred'; at: number }
  /** A schedule's slot is due. */
  | { kind: 'slot'; at: number; policyIndex: number }
  /** The last trained model reaches an age policy's maximum. */
  | { kind: 'age'; at: number; policyIndex: number; trainedAt: number };

// At the same instant: a run finishing first, then the period's data (so that a run a slot starts
// at the period's end sees it), then holds, then the scheduler's tick: due deferrals, then clock policies.
const RANK: Record<ReplayEvent['kind'], number> = { 'run-done': 0, 'period-end': 1, hold: 2, deferred: 3, slot: 4, age: 4 };

/** Events in time order; ties by kind, then by the order they were added. Deterministic. */
export class EventQueue {
  #items: Array<{ e: ReplayEvent; seq: number }> = [];
  #seq = 0;

  /** Adds an event. */
  push(e: ReplayEvent): void {
    const item = { e, seq: this.#seq++ };
    const before = (a: { e: ReplayEvent; seq: number }) => a.e.at > e.at || (a.e.at === e.at && (RANK[a.e.kind] > RANK[e.kind] || (RANK[a.e.kind] === RANK[e.kind] && a.seq > item.seq)));
    const i = this.#items.findIndex(before);
    if (i < 0) this.#items.push(item);
    else this.#items.splice(i, 0, item);
  }

  /** The next event, without taking it. */
  peek(): ReplayEvent | undefined {
    return this.#items[0]?.e;
  }

  /** Takes the next event. */
  pop(): ReplayEvent | undefined {
    return this.#items.shift()?.e;
  }
}
