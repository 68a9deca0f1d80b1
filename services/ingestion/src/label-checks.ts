import { deLongTest, normalSf } from '@refit/ml';
import type { PipelineSpec } from '@refit/spec';
import type { BinaryLabel } from './label-rule.js';
import type { BatchProfile, ColumnProfile, LabelCounts } from './profile.js';
import { aucAgainstCoin } from './rank-sum.js';

/** Significance a label shift must also reach: a shift past the limit in a small batch can be chance (one week of rain). */
export const LABEL_SHIFT_ALPHA = 0.001;
/**
 * Significance of the champion's AUC being below a coin's (one-sided rank-sum test). With it a
 * champion no better than a coin is taken for one that sees inverted labels on fewer than 1% of
 * batches; DeLong's interval at 95%, whose variance comes from the same 31 rows, did so on 3 to 5%.
 */
export const INVERSION_ALPHA = 0.01;
/** Fewest labelled rows of each class before the champion's AUC on a batch is judged. */
export const MIN_CLASS_ROWS = 5;
/** Two-sided 95% normal quantile. */
const Z95 = 1.959964;

/**
 * What the champion made of a batch: there is none yet, its check could not run (and why), or its
 * scores of the batch's labelled rows with their labels under the spec's rule.
 */
export type ChampionOutcome =
  | { kind: 'none' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'scored'; version: string; evaluatedAuc?: number; y: ArrayLike<number>; scores: ArrayLike<number> };

/** A batch's label findings: a shift from the pinned profile, labels the champion finds inverted, notes about the checks themselves. */
export type LabelFindings = { shift?: string; inversion?: string; notes: string[] };

type Rules = PipelineSpec['schema']['batch'];
type Pinned = { batchId: string; profile: BatchProfile } | undefined;

const fixed = (x: number, d = 2): string => x.toFixed(d);
const signed = (x: number, d = 2): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(d)}`;
const num = (x: number): string => String(Number(x.toPrecision(4)));
const pOf = (p: number): string => (p < 1e-6 ? 'p<1e-6' : p < 0.001 ? `p=${p.toExponential(1)}` : `p=${Number(p.toPrecision(2))}`);
const twoSided = (z: number): number => Math.min(1, 2 * normalSf(Math.abs(z)));

function shiftAdvice(rules: Rules, limit: string): string {
  return rules.onLabelShift === 'reject'
    ? `check the source and push a corrected file; if the change is real, raise schema.batch.${limit} or set onLabelShift: flag and push the file again`
    : `check the source; if the change is real, the batch is kept (onLabelShift: flag) and raising schema.batch.${limit} quiets this`;
}

/** A binary label's positive rate against the pinned one: the summary, and the finding when it moved past the limit. */
function binaryShift(label: BinaryLabel, cur: LabelCounts, ref: LabelCounts, pinnedId: string, rules: Rules): { summary: string; finding?: string } {
  const p1 = cur.positives / cur.n;
  const p0 = ref.positives / ref.n;
  const shift = p1 - p0;
  const summary = `positive rate ${fixed(p1)} in this batch (n=${cur.n}) vs ${fixed(p0)} pinned (n=${ref.n}, batch ${pinnedId}): shift ${signed(shift)}`;
  const pooled = (cur.positives + ref.positives) / (cur.n + ref.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / cur.n + 1 / ref.n));
  const z = se > 0 ? shift / se : 0;
  const p = se > 0 ? twoSided(z) : 1;
  if (Math.abs(shift) <= rules.maxLabelShift || p >= LABEL_SHIFT_ALPHA) return { summary };
  return {
    summary,
    finding: `label ${label.text}: ${summary} exceeds ${rules.maxLabelShift} (two-proportion z=${fixed(z, 1)}, ${pOf(p)}); the labels may be inverted or the label rule wrong — ${shiftAdvice(rules, 'maxLabelShift')}`,
  };
}

/**
 * A regression label's median against the pinned one, in pinned inter-quartile ranges, with a z-test
 * whose standard error takes a median's as IQR/√n (exact for a uniform, 8% wide for a normal).
 */
function regressionShift(column: string, cur: ColumnProfile, ref: ColumnProfile, pinnedId: string, rules: Rules): string | undefined {
  if (cur.median === undefined || cur.q1 === undefined || cur.q3 === undefined || ref.median === undefined || ref.q1 === undefined || ref.q3 === undefined) return undefined;
  const n1 = cur.count - cur.nulls;
  const n0 = ref.count - ref.nulls;
  const iqr = ref.q3 - ref.q1;
  if (n1 === 0 || n0 === 0 || iqr <= 0) return undefined;
  const ranges = (cur.median - ref.median) / iqr;
  const z = (cur.median - ref.median) / Math.sqrt((iqr * iqr) / n0 + ((cur.q3 - cur.q1) ** 2) / n1);
  const p = twoSided(z);
  if (Math.abs(ranges) <= rules.maxLabelShiftIqr || p >= LABEL_SHIFT_ALPHA) return undefined;
  return (
    `label ${column}: median ${num(cur.median)} in this batch (n=${n1}) vs ${num(ref.median)} pinned (n=${n0}, batch ${pinnedId}; inter-quartile range ${num(ref.q1)} to ${num(ref.q3)}): ` +
    `a shift of ${signed(ranges)} ranges exceeds ${rules.maxLabelShiftIqr} (z=${fixed(z, 1)}, ${pOf(p)}); another unit, another column or a broken export? — ${shiftAdvice(rules, 'maxLabelShiftIqr')}`
  );
}

/** The champion's AUC on the batch's labels: the finding when it is far below chance, or a note when there were too few of a class. */
function championFinding(label: BinaryLabel, c: Extract<ChampionOutcome, { kind: 'scored' }>, shiftSummary: string | undefined, rules: Rules): { inversion?: string; note?: string } {
  let positives = 0;
  let expected = 0;
  for (let i = 0; i < c.y.length; i++) {
    positives += c.y[i];
    expected += c.scores[i];
  }
  const n = c.y.length;
  if (positives < MIN_CLASS_ROWS || n - positives < MIN_CLASS_ROWS) {
    return { note: `label check: champion ${c.version}'s AUC on this batch was not judged: ${positives} positive and ${n - positives} negative labelled rows, fewer than ${MIN_CLASS_ROWS} of a class` };
  }
  const { auc, pBelow } = aucAgainstCoin(c.y, c.scores);
  if (auc > rules.labelInversionAuc || pBelow >= INVERSION_ALPHA) return {};
  // Against a constant scorer DeLong's paired test gives the single AUC's standard error: its interval, for the reader.
  const se = deLongTest(c.y, new Float64Array(n).fill(0.5), c.scores).standardError;
  const [lo, hi] = [Math.max(0, auc - Z95 * se), Math.min(1, auc + Z95 * se)];
  const evaluated = c.evaluatedAuc === undefined ? '' : `${fixed(c.evaluatedAuc)} at its evaluation and `;
  const advice =
    rules.onLabelInversion === 'reject'
      ? 'check the source and push a corrected file; if these labels are right after all, set schema.batch.onLabelInversion: flag and push the file again'
      : 'check the source; the batch is kept (onLabelInversion: flag)';
  return {
    inversion:
      `label ${label.text}: champion ${c.version} scores this batch's labels far below chance: AUC ${fixed(auc)} on ${n} labelled rows (95% CI ${fixed(lo)} to ${fixed(hi)}) ` +
      `against ${evaluated}0.5 for a coin, which scores this low with ${pOf(pBelow)} (one-sided rank-sum test; limit labelInversionAuc ${rules.labelInversionAuc}); ${shiftSummary ?? `positive rate ${fixed(positives / n)} in the rows scored`}, ` +
      `while the champion's scores average ${fixed(expected / n)} — the labels are likely inverted or the label rule reversed: ${advice}`,
  };
}

/**
 * Judges a batch's labels: their distribution against the pinned profile's (a binary label's
 * positive rate, a regression label's median), each with a limit that matters in practice and a
 * test that the shift is not chance; and, for a binary label, the champion's AUC on them, far below
 * chance meaning the labels are likely inverted. Checks that could not run say why in `notes`.
 */
export function judgeLabels(spec: PipelineSpec, label: BinaryLabel | undefined, profile: BatchProfile, pinned: Pinned, champion: ChampionOutcome | undefined): LabelFindings {
  const rules = spec.schema.batch;
  const notes: string[] = [];
  let shift: string | undefined;
  let summary: string | undefined;
  if (pinned && label && profile.label && profile.label.n > 0) {
    const ref = pinned.profile.label;
    if (!ref) notes.push(`label check: the pinned profile (batch ${pinned.batchId}) predates label counts; the label distribution is compared once a profile with them is pinned`);
    else if (ref.rule !== profile.label.rule) notes.push(`label check: the pinned profile (batch ${pinned.batchId}) counted labels under another rule than ${label.text}: their distributions are not compared`);
    else if (ref.n > 0) ({ summary, finding: shift } = binaryShift(label, profile.label, ref, pinned.batchId, rules));
  } else if (pinned && !label) {
    const cur = profile.columns[spec.label.column];
    const ref = pinned.profile.columns[spec.label.column];
    if (cur && ref) shift = regressionShift(spec.label.column, cur, ref, pinned.batchId, rules);
  }
  let inversion: string | undefined;
  if (champion?.kind === 'skipped') notes.push(`label check: the champion's scores were not checked: ${champion.reason}; this batch was judged on its label distribution alone`);
  else if (champion?.kind === 'scored' && label) {
    const c = championFinding(label, champion, summary, rules);
    inversion = c.inversion;
    if (c.note) notes.push(c.note);
  }
  return { shift, inversion, notes };
}
