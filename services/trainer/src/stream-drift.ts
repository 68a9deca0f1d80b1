import type { FittedTransform } from '@refit/modeling';

/** Exponentially weighted means of the learned rows' standardized inputs (plain JSON, checkpointed). */
export type DriftState = { means: Record<string, number>; rows: Record<string, number> };

/** Where the learned rows' inputs are relative to the frozen transform. */
/** `rows`: the fewest rows any standardized input's mean is made of (0 before the first). */
export type DriftLook = { state: DriftState; drift: number; column: string; rows: number };

/**
 * How far the learned rows' numeric inputs moved from what the frozen transform was fitted on:
 * the largest |m − fitted mean| / fitted std over the standardized columns, where m is an
 * exponentially weighted mean of the rows learned so far (half-life `halfLifeRows`; the first rows
 * are averaged plainly, so a handful of rows cannot look like a shift of the whole stream). The
 * transform stays frozen between batch runs: a large value says the learner is fed inputs the
 * transform scales badly, and a full run (which refits it) is due.
 */
export function updateDrift(t: FittedTransform, rows: ReadonlyArray<Record<string, unknown>>, prev: DriftState | null | undefined, halfLifeRows: number): DriftLook {
  const state: DriftState = { means: { ...(prev?.means ?? {}) }, rows: { ...(prev?.rows ?? {}) } };
  const decay = 1 - 2 ** (-1 / Math.max(1, halfLifeRows));
  let drift = 0;
  let column = '';
  let fewest = Infinity;
  for (const f of t.features) {
    if (f.kind !== 'standardize' || !(f.std > 0)) continue;
    let m = state.means[f.name] ?? f.mean;
    let n = state.rows[f.name] ?? 0;
    for (const r of rows) {
      const raw = r[f.name];
      const v = typeof raw === 'number' ? raw : Number(raw);
      if (raw === null || raw === undefined || raw === '' || !Number.isFinite(v)) continue;
      n += 1;
      m += Math.max(1 / n, decay) * (v - m);
    }
    if (n === 0) continue;
    state.means[f.name] = m;
    state.rows[f.name] = n;
    fewest = Math.min(fewest, n);
    const shift = Math.abs(m - f.mean) / f.std;
    if (shift > drift) {
      drift = shift;
      column = f.name;
    }
  }
  return { state, drift, column, rows: fewest === Infinity ? 0 : fewest };
}
