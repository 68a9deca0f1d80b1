import { labelOf } from '@refit/modeling';
import type { PipelineSpec } from '@refit/spec';
import type { Value } from './validate.js';

/** How the spec turns a label cell into 0/1, for counting positives as rows are profiled. */
export type BinaryLabel = {
  /** The label column. */
  column: string;
  /** The rule in canonical form: counts taken under another rule are not compared. */
  rule: string;
  /** The label as a person reads it: `precipitation > 0`, `churned`. */
  text: string;
  /** 1 or 0 under the rule; undefined when the cell holds no label the rule can read. */
  of(value: Value): 0 | 1 | undefined;
};

/** `precipitation > 0`, `plan in [gold, silver]`, or the bare column for a 0/1 label. */
function describeRule(spec: PipelineSpec): string {
  const { column, positive } = spec.label;
  if (!positive) return column;
  const parts: string[] = [];
  if (positive.gt !== undefined) parts.push(`> ${positive.gt}`);
  if (positive.gte !== undefined) parts.push(`>= ${positive.gte}`);
  if (positive.lt !== undefined) parts.push(`< ${positive.lt}`);
  if (positive.eq !== undefined) parts.push(`= ${String(positive.eq)}`);
  if (positive.in !== undefined) parts.push(`in [${positive.in.join(', ')}]`);
  return `${column} ${parts.join(' and ')}`;
}

/**
 * The spec's binary label (the trainer's own rule, `labelOf`), or undefined for a regression head
 * (its label is a number, profiled like any numeric column).
 */
export function binaryLabel(spec: PipelineSpec): BinaryLabel | undefined {
  if (spec.model.head === 'regression') return undefined;
  const { column, positive } = spec.label;
  // Every cell of a push goes through here: a numeric threshold on a number, or a 0/1 boolean, is
  // compared directly (a 20th of labelOf's cost), anything else as the trainer reads it.
  const threshold = positive && positive.eq === undefined && positive.in === undefined ? positive : undefined;
  return {
    column,
    rule: JSON.stringify({ column, positive: positive ?? null }),
    text: describeRule(spec),
    of(value) {
      if (value === null) return undefined;
      if (threshold && typeof value === 'number') {
        const { gt, gte, lt } = threshold;
        return (gt === undefined || value > gt) && (gte === undefined || value >= gte) && (lt === undefined || value < lt) ? 1 : 0;
      }
      if (!positive && typeof value === 'boolean') return value ? 1 : 0;
      try {
        return labelOf({ [column]: value }, spec.label);
      } catch {
        return undefined; // a value the rule cannot read is not a label; the row checks report it
      }
    },
  };
}
