import { logLoss, rocAuc, storedThreshold } from '@refit/ml';
import type { Prediction } from './prediction-log.js';

/** A fired policy evaluation in a period (`none` evaluations are not listed). */
export type FiredDecision = { at: string; policy: string; action: string; reason: string; runId?: string };

/** A run's model trained, evaluated and registered in a period. */
export type TrainingRecord = { runId: string; trigger: string; version: string; verdict: string; trainRows: number; epochs: number; gates: string[] };

/** One period of a replay: what arrived, who served it and how well, and what was decided. */
export type PeriodRow = {
  period: number;
  start: string;
  end: string;
  /** Rows that arrived in the period. */
  rows: number;
  /** Rows answered by a model. */
  served: number;
  /** Rows that arrived while no model served. */
  unserved: number;
  /** Rows that failed the schema's row checks (not served). */
  invalid: number;
  /** Rows answered per version and variant (`v3`, `v4/canary`, `v4/b`), in order of first answer. */
  servedBy: Record<string, number>;
  /** A candidate that scored every row in shadow mode. */
  shadow?: string;
  /** Quality of the answers against the true labels (null without labelled rows; AUC also with one class). */
  accuracy: number | null;
  logLoss: number | null;
  auc: number | null;
  fired: FiredDecision[];
  trainings: TrainingRecord[];
  /** Runs that failed at a stage (a rollback is listed under `rollbacks`). */
  failures: Array<{ runId: string; stage: string; reason: string }>;
  promotions: Array<{ version: string; runId: string; how: string }>;
  rollbacks: Array<{ version: string; runId: string; reason: string }>;
  /** The batch pushed at the period's end (the period's own rows, or an earlier one's with a label delay). */
  batch?: { id: string; rows: number; accepted: number; quarantined: number; status: string; problems: string[] };
  /** A rollout still going at the period's end. */
  rollout?: string;
};

/** A period's answers and events as they happen; {@link PeriodAcc.row} gives the finished row. */
export class PeriodAcc {
  readonly row: PeriodRow;
  readonly #y: number[] = [];
  readonly #p: number[] = [];
  #right = 0;

  constructor(period: number, start: number, end: number) {
    const iso = (t: number) => new Date(t).toISOString();
    this.row = { period, start: iso(start), end: iso(end), rows: 0, served: 0, unserved: 0, invalid: 0, servedBy: {}, accuracy: null, logLoss: null, auc: null, fired: [], trainings: [], failures: [], promotions: [], rollbacks: [] };
  }

  /** Counts served predictions (and their quality, when the row has a label). */
  answered(preds: readonly Prediction[]): void {
    for (const p of preds) {
      const key = p.variant === 'champion' ? p.version : `${p.version}/${p.variant}`;
      this.row.servedBy[key] = (this.row.servedBy[key] ?? 0) + 1;
      if (p.shadow) this.row.shadow = p.shadow.version;
      if (p.y === undefined) continue;
      this.#y.push(p.y);
      this.#p.push(p.p);
      if ((p.p >= storedThreshold(p.threshold) ? 1 : 0) === p.y) this.#right++;
    }
    this.row.served += preds.length;
  }

  /** The finished row: quality over the answers' labels. */
  finish(): PeriodRow {
    const n = this.#y.length;
    if (n > 0) {
      this.row.accuracy = this.#right / n;
      this.row.logLoss = logLoss(this.#y, this.#p);
      const pos = this.#y.reduce((a, b) => a + b, 0);
      this.row.auc = pos > 0 && pos < n ? rocAuc(this.#y, this.#p) : null;
    }
    return this.row;
  }

  /** Labelled answers (the weight of this period's accuracy and log loss in the summary). */
  get labelled(): number {
    return this.#y.length;
  }
}

/** A replay's totals: served quality weighted by rows, and what the policy cost. */
export type Summary = {
  periods: number;
  rows: number;
  served: number;
  unserved: number;
  /** Rows that failed the schema's row checks (not served). */
  invalid: number;
  /** Rows quarantined by ingestion in the periods' batches, and batches it rejected. */
  quarantined: number;
  rejectedBatches: number;
  /** Over every labelled answer (so each period weighs by its rows). */
  accuracy: number | null;
  logLoss: number | null;
  /** Mean of the periods' AUC weighted by their labelled answers (AUC does not pool). */
  auc: number | null;
  /** Fired policy evaluations by hygiene's action (start, coalesce, queue, suppress…). */
  fired: Record<string, number>;
  runs: number;
  trainings: number;
  failedRuns: number;
  verdicts: Record<string, number>;
  promotions: number;
  rollbacks: number;
  /** Epochs trained, and rows × epochs: training compute that does not depend on the machine. */
  epochs: number;
  rowEpochs: number;
  /** Measured tensor time of the trainings, ms (only with --timings: it differs from run to run). */
  trainingMs?: number;
  /** The champion at the end. */
  champion: string | null;
};

/** The summary of finished periods (labelled counts per period in `labelled`). */
export function summarize(rows: readonly PeriodRow[], labelled: readonly number[], extra: Pick<Summary, 'runs' | 'epochs' | 'rowEpochs' | 'trainingMs' | 'champion'>): Summary {
  const sum = (f: (r: PeriodRow) => number) => rows.reduce((s, r) => s + f(r), 0);
  const weighted = (f: (r: PeriodRow) => number | null) => {
    let w = 0;
    let s = 0;
    rows.forEach((r, i) => {
      const v = f(r);
      if (v === null || labelled[i] === 0) return;
      w += labelled[i];
      s += v * labelled[i];
    });
    return w > 0 ? s / w : null;
  };
  const count = <T>(items: T[], key: (t: T) => string) => items.reduce<Record<string, number>>((acc, t) => ({ ...acc, [key(t)]: (acc[key(t)] ?? 0) + 1 }), {});
  const trainings = rows.flatMap((r) => r.trainings);
  return {
    periods: rows.length,
    rows: sum((r) => r.rows),
    served: sum((r) => r.served),
    unserved: sum((r) => r.unserved),
    invalid: sum((r) => r.invalid),
    quarantined: sum((r) => r.batch?.quarantined ?? 0),
    rejectedBatches: sum((r) => (r.batch?.status === 'rejected' ? 1 : 0)),
    accuracy: weighted((r) => r.accuracy),
    logLoss: weighted((r) => r.logLoss),
    auc: weighted((r) => r.auc),
    fired: count(rows.flatMap((r) => r.fired), (d) => d.action),
    runs: extra.runs,
    trainings: trainings.length,
    failedRuns: sum((r) => r.failures.length),
    verdicts: count(trainings, (t) => t.verdict),
    promotions: sum((r) => r.promotions.length),
    rollbacks: sum((r) => r.rollbacks.length),
    epochs: extra.epochs,
    rowEpochs: extra.rowEpochs,
    ...(extra.trainingMs === undefined ? {} : { trainingMs: extra.trainingMs }),
    champion: extra.champion,
  };
}
