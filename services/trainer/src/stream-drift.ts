import type { FittedTransform } from '@refit/modeling';

/**
 * How far the learned rows' numeric inputs moved from what the frozen transform was fitted on:
 * the largest |mean − fitted mean| / fitted std over the standardized columns (0 when none). The
 * transform stays frozen between batch runs, so a large value says the learner is fed inputs the
 * transform scales badly, and a full run (which refits it) is due.
 */
export function streamDrift(t: FittedTransform, rows: ReadonlyArray<Record<string, unknown>>): number {
  let worst = 0;
  for (const f of t.features) {
    if (f.kind !== 'standardize' || !(f.std > 0)) continue;
    let sum = 0;
    let n = 0;
    for (const r of rows) {
      const v = typeof r[f.name] === 'number' ? (r[f.name] as number) : Number(r[f.name]);
      if (r[f.name] === null || r[f.name] === undefined || r[f.name] === '' || !Number.isFinite(v)) continue;
      sum += v;
      n += 1;
    }
    if (n > 0) worst = Math.max(worst, Math.abs(sum / n - f.mean) / f.std);
  }
  return worst;
}
