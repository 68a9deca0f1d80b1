import type { PipelineSpec } from '@refit/spec';
import type { LabelFindings } from './label-checks.js';
import type { BatchProfile } from './profile.js';
import { quoted } from './upload-reasons.js';

/** Fewest rows a pinned profile needs before a median shift is judged (a small first batch says little about spread). */
export const MIN_PINNED_ROWS_FOR_SHIFT = 200;

/** The batch-level verdict: problems reject or flag the batch (spec), warnings only flag it. */
export type BatchVerdict = { status: 'accepted' | 'flagged' | 'rejected'; problems: string[]; warnings: string[] };

/** Facts of a batch beyond its profile. */
export type BatchFacts = {
  rowsTotal: number;
  rowsQuarantined: number;
  duplicates: number;
  duplicateExample?: { line: number; of: number };
  checkCapped: boolean;
  /** An earlier batch with the same bytes. */
  sameAs?: { batchId: string; createdAt: Date };
  /** Columns of the file the schema does not know. */
  extraColumns: string[];
  /** What the label checks found (label-checks.ts). */
  labels?: LabelFindings;
};

const pct = (x: number): string => `${(100 * x).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
const num = (x: number | undefined): string => (x === undefined ? '?' : String(Number(x.toPrecision(4))));

/**
 * Judges a whole batch against the spec and the profile pinned from the first accepted batch:
 * a duplicated batch, a flood of quarantined rows, a column out of its declared range (a unit
 * change), a null rate far above the pinned one, a median far from the pinned one; categories
 * never seen before and duplicate rows only flag it; a label shift and labels the champion scores
 * far below chance reject or flag it as the spec says. Each message names the column, what was
 * found, what was expected and what to do.
 */
export function judgeBatch(spec: PipelineSpec, profile: BatchProfile, pinned: { batchId: string; profile: BatchProfile } | undefined, facts: BatchFacts): BatchVerdict {
  const rules = spec.schema.batch;
  const problems: string[] = [];
  const warnings: string[] = [];
  if (facts.sameAs) {
    (rules.duplicateBatch === 'reject' ? problems : warnings).push(`this file is identical (same sha256) to batch ${facts.sameAs.batchId} pushed at ${facts.sameAs.createdAt.toISOString()}: pushed twice? Its rows count once in snapshots`);
  }
  if (facts.rowsTotal > 0 && facts.rowsQuarantined / facts.rowsTotal > rules.maxQuarantinedShare) {
    problems.push(
      `${pct(facts.rowsQuarantined / facts.rowsTotal)} of the rows (${facts.rowsQuarantined} of ${facts.rowsTotal}) were quarantined, above the limit ${pct(rules.maxQuarantinedShare)}: list them with 'refit data quarantine ${spec.name}' and fix the export`,
    );
  }
  if (facts.labels?.inversion) (rules.onLabelInversion === 'reject' ? problems : warnings).push(facts.labels.inversion);
  if (facts.labels?.shift) (rules.onLabelShift === 'reject' ? problems : warnings).push(facts.labels.shift);
  for (const c of spec.schema.columns) {
    const p = profile.columns[c.name];
    if (!p || p.count === 0) continue;
    const present = p.count - p.nulls;
    const out = p.belowMin + p.aboveMax;
    if (present > 0 && out / present > rules.maxOutOfRangeShare) {
      const side = p.aboveMax >= p.belowMin ? `above the maximum ${c.max}` : `below the minimum ${c.min}`;
      problems.push(
        `column '${c.name}': ${pct(out / present)} of the values are ${side} (this batch: ${num(p.min)} to ${num(p.max)}, median ${num(p.median)}) — sent in another unit (°F instead of °C, cents instead of dollars…)? Convert the column and push again`,
      );
    }
    const pin = pinned?.profile.columns[c.name];
    const rate = p.nulls / p.count;
    const pinnedRate = pin && pin.count > 0 ? pin.nulls / pin.count : c.nullable ? undefined : 0;
    if (pinnedRate !== undefined && rate > pinnedRate + rules.maxNullRateIncrease) {
      // A required column's empty values were quarantined row by row: the rest of the batch is fine.
      (c.nullable ? problems : warnings).push(
        `column '${c.name}': ${pct(rate)} of the values are empty, against ${pct(pinnedRate)} ${pin ? `in the pinned schema (batch ${pinned?.batchId})` : 'allowed (not nullable)'} — is the column still filled upstream?${c.nullable ? '' : ' Those rows were quarantined; fix and re-submit them'}`,
      );
    }
    if (pin && pinned && pinned.profile.rows >= MIN_PINNED_ROWS_FOR_SHIFT && pin.median !== undefined && p.median !== undefined && pin.q1 !== undefined && pin.q3 !== undefined) {
      const iqr = pin.q3 - pin.q1;
      if (iqr > 0 && Math.abs(p.median - pin.median) > rules.maxMedianShiftIqr * iqr) {
        (rules.onMedianShift === 'reject' ? problems : warnings).push(
          `column '${c.name}': median ${num(p.median)} against ${num(pin.median)} in the pinned schema (inter-quartile range ${num(pin.q1)} to ${num(pin.q3)}): a shift of ${num(Math.abs(p.median - pin.median) / iqr)} ranges — a unit change or a different column?`,
        );
      }
    }
    if (c.type === 'category' && p.categories && (c.onUnseen ?? (c.values ? 'quarantine' : 'flag')) === 'flag') {
      const known = c.values ? new Set(c.values) : pin?.categories ? new Set(Object.keys(pin.categories)) : undefined;
      const fresh = known ? Object.entries(p.categories).filter(([k]) => !known.has(k) && k !== '__more__') : [];
      if (fresh.length > 0) {
        warnings.push(
          `column '${c.name}': new categor${fresh.length > 1 ? 'ies' : 'y'} ${fresh.map(([k, n]) => `'${k}' (${n} row${n > 1 ? 's' : ''})`).join(', ')} not in ${c.values ? 'schema values' : 'the pinned schema'} (${[...(known ?? [])].sort().join(', ')}); rows kept, unseen at training time they go to the "other" slot`,
        );
      }
    }
  }
  if (facts.duplicates > 0) {
    const ex = facts.duplicateExample;
    warnings.push(`${facts.duplicates} duplicate row${facts.duplicates > 1 ? 's' : ''}${ex ? ` (line ${ex.line} repeats line ${ex.of})` : ''}: kept in the batch, counted once in snapshots`);
  }
  if (facts.extraColumns.length > 0) warnings.push(`column${facts.extraColumns.length > 1 ? 's' : ''} ${quoted(facts.extraColumns)} not in the schema: ignored`);
  const status = problems.length > 0 ? (rules.onProblem === 'reject' ? 'rejected' : 'flagged') : warnings.length > 0 ? 'flagged' : 'accepted';
  // Notes about the checks themselves, not about the data: they do not flag the batch.
  if (facts.checkCapped) warnings.push('the duplicate and unique-id checks covered the first rows only (their memory is fixed); snapshots still remove every duplicate');
  warnings.push(...(facts.labels?.notes ?? []));
  return { status, problems, warnings };
}
