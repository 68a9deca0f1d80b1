import { createRng } from '@refit/ml';

/**
 * A fixed-size, uniform sample of a batch's accepted rows (their JSON lines), taken as they stream
 * by (reservoir sampling with a seeded generator: the same file gives the same sample), for the
 * checks that need rows rather than a profile: the champion scores them.
 */
export class RowSample {
  readonly #size: number;
  readonly #rows: string[] = [];
  #seen = 0;
  readonly #rng = createRng(2463534242);

  /** `size`: the most rows kept. */
  constructor(size: number) {
    this.#size = size;
  }

  /** Offers one accepted row. */
  offer(json: string): void {
    this.#seen++;
    if (this.#rows.length < this.#size) {
      this.#rows.push(json);
      return;
    }
    const k = Math.floor(this.#rng() * this.#seen);
    if (k < this.#size) this.#rows[k] = json;
  }

  /** The rows kept, parsed. */
  rows(): Array<Record<string, string | number | boolean | null>> {
    return this.#rows.map((l) => JSON.parse(l) as Record<string, string | number | boolean | null>);
  }
}
