import { createRng } from '@refit/ml';

/**
 * The one seeded generator of the workspace (mulberry32, `createRng` in @refit/ml), under the name
 * the training code has always used: reproducible shuffles, initial search points and splits.
 */
export const mulberry32 = createRng;

/** Fisher–Yates shuffle of `order` in place, driven by `next` (e.g. {@link mulberry32}). */
export function shuffleInPlace(order: Uint32Array, next: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
}
