/**
 * A fixed-size set of 53-bit hashes (open addressing over typed arrays) that remembers the line
 * each key was first seen on. Sized once, so checking a 1 GB file never grows the heap; once half
 * full it stops taking keys and says so (`full`), and callers report how far their check reached.
 */
export class LineHashSet {
  readonly #keys: Float64Array;
  readonly #lines: Uint32Array;
  readonly #mask: number;
  #size = 0;

  /** @param bits log2 of the slot count (default 21: 2M slots, 24 MB, checks the first 1M keys). */
  constructor(bits = 21) {
    this.#keys = new Float64Array(1 << bits);
    this.#lines = new Uint32Array(1 << bits);
    this.#mask = (1 << bits) - 1;
  }

  /** True once no more keys are taken. */
  get full(): boolean {
    return this.#size * 2 >= this.#keys.length;
  }

  /** The line `text` was first seen on, or undefined after recording it at `line`. */
  seen(text: string, line: number): number | undefined {
    const h = hash53(text);
    let slot = h & this.#mask;
    for (;;) {
      const k = this.#keys[slot];
      if (k === 0) break;
      if (k === h) return this.#lines[slot];
      slot = (slot + 1) & this.#mask;
    }
    if (this.full) return undefined;
    this.#keys[slot] = h;
    this.#lines[slot] = line;
    this.#size++;
    return undefined;
  }
}

/** Two FNV-1a variants combined into a non-zero 53-bit number (collisions ~n²/2^54). */
export function hash53(s: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  // 0 marks an empty slot, so no key may be 0.
  return (a >>> 0) * 0x200000 + ((b >>> 11) & 0x1fffff) || 1;
}
