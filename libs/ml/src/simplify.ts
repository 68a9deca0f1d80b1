// Downsampling of a plotted curve to a fixed number of points. Visvalingam–Whyatt: repeatedly drop
// the interior point whose triangle with its two current neighbours has the smallest area. Chosen
// over largest-triangle-three-buckets or evenly spaced picks because the trapezoid area under the
// curve changes by exactly that triangle's area when the point goes, so the area error is bounded by
// the sum of the smallest triangles (collinear points, area 0, go first and cost nothing), and the
// points that make the curve's shape — its corners — stay.
import { assertOption } from './validate.js';

/** Twice the area of the triangle (a, b, c). */
function area2(x: ArrayLike<number>, y: ArrayLike<number>, a: number, b: number, c: number): number {
  return Math.abs((x[b] - x[a]) * (y[c] - y[a]) - (x[c] - x[a]) * (y[b] - y[a]));
}

/** A binary min-heap of (area, index, stamp); ties broken by index so the result is deterministic. */
class Heap {
  private readonly items: Array<[number, number, number]> = [];
  get size(): number {
    return this.items.length;
  }
  private less(i: number, j: number): boolean {
    const a = this.items[i];
    const b = this.items[j];
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  }
  private swap(i: number, j: number): void {
    const t = this.items[i];
    this.items[i] = this.items[j];
    this.items[j] = t;
  }
  push(item: [number, number, number]): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number, number] {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as [number, number, number];
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(l, m)) m = l;
        if (r < a.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * Indices (ascending) of at most `maxPoints` points of the polyline (x[i], y[i]) that keep its
 * shape: the first and last point always, then the interior points whose removal would change
 * the area under the polyline most (Visvalingam–Whyatt). With `n <= maxPoints` every index.
 * @param maxPoints - an integer >= 2, or Infinity (keep every point).
 */
export function simplifyPolyline(x: ArrayLike<number>, y: ArrayLike<number>, maxPoints: number, fn = 'simplifyPolyline'): number[] {
  assertOption(maxPoints, (m) => m === Number.POSITIVE_INFINITY || (Number.isInteger(m) && m >= 2), fn, 'maxPoints', 'an integer >= 2 or Infinity');
  const n = x.length;
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  const next = Int32Array.from({ length: n }, (_, i) => i + 1);
  const stamp = new Int32Array(n);
  const removed = new Uint8Array(n);
  const heap = new Heap();
  for (let i = 1; i < n - 1; i++) heap.push([area2(x, y, i - 1, i, i + 1), i, 0]);
  let left = n;
  while (left > maxPoints && heap.size > 0) {
    const [, i, s] = heap.pop();
    // A stale entry: the point's neighbours changed since it was pushed.
    if (removed[i] || s !== stamp[i]) continue;
    removed[i] = 1;
    left--;
    const p = prev[i];
    const q = next[i];
    next[p] = q;
    prev[q] = p;
    for (const k of [p, q]) {
      if (k === 0 || k === n - 1) continue;
      stamp[k]++;
      heap.push([area2(x, y, prev[k], k, next[k]), k, stamp[k]]);
    }
  }
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!removed[i]) keep.push(i);
  return keep;
}
