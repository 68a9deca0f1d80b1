import { storedThreshold } from '@refit/ml';
import type { Labeled } from '../../services/deployer/src/rollout-analysis.js';
import type { Operational } from '../../services/deployer/src/rollout-store.js';

/** The variant a prediction was answered by (the deployer's names). */
export type Variant = 'champion' | 'canary' | 'b';

/** One logged prediction, as the deployer's `predictions` table holds it (virtual ms). */
export type Prediction = {
  id: string;
  t: number;
  version: string;
  variant: Variant;
  /** The answered probability and the threshold it was decided at. */
  p: number;
  threshold: number;
  /** The true label, or undefined when the row has none. */
  y: 0 | 1 | undefined;
  /** When its feedback arrives (Infinity: never, within the replay). */
  feedbackAt: number;
  /** Canary and A/B rows: the champion's background score (for divergence and the paired last step). */
  champion?: { p: number; threshold: number };
  /** Shadow mode: the candidate's score of the row the champion answered. */
  shadow?: { version: string; p: number; threshold: number };
};

/** A labeled window as the monitoring window computes it. */
export type LabeledRows = { y: number[]; p: number[]; threshold: number };

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/**
 * The prediction log of the replay, answering the deployer's queries (rollout-store.ts) in
 * memory: labeled rows of a variant since a step began, the pairs of a paired step, divergence
 * and the guardrails' numbers. Feedback counts only once it has arrived (`feedbackAt <= now`).
 */
export class PredictionLog {
  #rows: Prediction[] = [];

  /** Logs predictions (in time order). */
  add(rows: readonly Prediction[]): void {
    for (const r of rows) this.#rows.push(r);
  }

  /** Drops what no analysis or window can read any more: fed back by `now` and made before `keepFrom`. */
  prune(now: number, keepFrom: number): void {
    this.#rows = this.#rows.filter((r) => r.feedbackAt > now || r.t >= keepFrom);
  }

  /** Predictions made in (since, until]. */
  made(since: number, until: number): Prediction[] {
    return this.#rows.filter((r) => r.t > since && r.t <= until);
  }

  /** Predictions whose feedback arrived in (since, until]. */
  fedBack(since: number, until: number): Prediction[] {
    return this.#rows.filter((r) => r.y !== undefined && r.feedbackAt > since && r.feedbackAt <= until);
  }

  /** `labeledSince`: labeled predictions of one variant and version made since `since`, fed back by `now`. */
  labeledSince(variant: Variant, version: string, since: number, now: number): Labeled {
    const rows = this.#rows.filter((r) => r.variant === variant && r.version === version && r.t >= since && r.y !== undefined && r.feedbackAt <= now);
    return { y: rows.map((r) => r.y as number), p: rows.map((r) => r.p), threshold: storedThreshold(rows[0]?.threshold) };
  }

  /** `pairsSince`: labeled rows both models scored since `since` (shadow, or the canary's rows with the champion's background score). */
  pairsSince(strategy: 'shadow' | 'canary' | 'ab', candidate: string, since: number, now: number): { candidate: Labeled; champion: Labeled } {
    const fed = (r: Prediction) => r.t >= since && r.y !== undefined && r.feedbackAt <= now;
    if (strategy === 'shadow') {
      const rows = this.#rows.filter((r) => r.shadow?.version === candidate && fed(r));
      const y = rows.map((r) => r.y as number);
      return {
        candidate: { y, p: rows.map((r) => r.shadow?.p as number), threshold: storedThreshold(rows[0]?.shadow?.threshold) },
        champion: { y, p: rows.map((r) => r.p), threshold: storedThreshold(rows[0]?.threshold) },
      };
    }
    const rows = this.#rows.filter((r) => r.variant === 'canary' && r.version === candidate && r.champion !== undefined && fed(r));
    const y = rows.map((r) => r.y as number);
    return {
      candidate: { y, p: rows.map((r) => r.p), threshold: storedThreshold(rows[0]?.threshold) },
      champion: { y, p: rows.map((r) => r.champion?.p as number), threshold: storedThreshold(rows[0]?.champion?.threshold) },
    };
  }

  /** `divergenceSince`: mean |candidate − champion| on a variant's rows since `since`, labeled or not; null without any. */
  divergenceSince(variant: Variant, version: string, since: number, now: number): number | null {
    return mean(this.#rows.filter((r) => r.variant === variant && r.version === version && r.t >= since && r.t <= now && r.champion).map((r) => Math.abs(r.p - (r.champion?.p as number))));
  }

  /** `operationalSince`: the candidate's rows and divergence since the step began (no errors or latency in a replay). */
  operationalSince(strategy: 'shadow' | 'canary' | 'ab', candidate: string, since: number, now: number): Operational {
    if (strategy === 'shadow') {
      const rows = this.#rows.filter((r) => r.shadow?.version === candidate && r.t >= since && r.t <= now);
      return { predictions: rows.length, errors: 0, latencyMs: null, championLatencyMs: null, divergence: mean(rows.map((r) => Math.abs(r.p - (r.shadow?.p as number)))) };
    }
    const variant = strategy === 'ab' ? 'b' : 'canary';
    const rows = this.#rows.filter((r) => r.variant === variant && r.version === candidate && r.t >= since && r.t <= now);
    return { predictions: rows.length, errors: 0, latencyMs: null, championLatencyMs: null, divergence: mean(rows.filter((r) => r.champion).map((r) => Math.abs(r.p - (r.champion?.p as number)))) };
  }
}
