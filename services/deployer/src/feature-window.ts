import { createRng } from '@refit/ml';
import type { RawRow } from '@refit/modeling';

/**
 * A uniform sample (reservoir sampling, seeded) of the raw rows each pipeline served since the
 * last monitoring window: the live feature window that drift is measured on. Bounded memory.
 */
export class FeatureWindows {
  readonly #capacity: number;
  readonly #rng = createRng(7);
  readonly #windows = new Map<string, { seen: number; rows: RawRow[] }>();

  constructor(capacity = 5000) {
    this.#capacity = capacity;
  }

  /** Offers served rows to the pipeline's sample. */
  add(pipeline: string, rows: RawRow[]): void {
    let w = this.#windows.get(pipeline);
    if (!w) this.#windows.set(pipeline, (w = { seen: 0, rows: [] }));
    for (const row of rows) {
      w.seen++;
      if (w.rows.length < this.#capacity) w.rows.push(row);
      else {
        const j = Math.floor(this.#rng() * w.seen);
        if (j < this.#capacity) w.rows[j] = row;
      }
    }
  }

  /** Takes the pipeline's sample and starts a new window. */
  take(pipeline: string): RawRow[] {
    const w = this.#windows.get(pipeline);
    this.#windows.delete(pipeline);
    return w?.rows ?? [];
  }
}
