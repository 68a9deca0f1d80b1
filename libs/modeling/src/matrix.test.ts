import { describe, expect, it } from 'vitest';
import { decodeMatrix, encodeMatrix } from './matrix.js';

describe('feature matrix artifact', () => {
  it('round-trips exactly, from an unaligned buffer too', () => {
    const m = { X: Float32Array.from([1, 2, 3, 4.5, -1, 0]), y: Float32Array.from([0, 1, 1]), n: 3, d: 2, names: ['a', 'b'] };
    const enc = encodeMatrix(m);
    const shifted = Buffer.concat([Buffer.from([7]), enc]).subarray(1);
    expect(decodeMatrix(shifted)).toEqual(m);
  });
  it('refuses a truncated or foreign artifact', () => {
    const enc = encodeMatrix({ X: new Float32Array(4), y: new Float32Array(2), n: 2, d: 2, names: ['a', 'b'] });
    expect(() => decodeMatrix(enc.subarray(0, enc.length - 1))).toThrow(/expected/);
    expect(() => decodeMatrix(Buffer.from('hello world'))).toThrow(/bad magic/);
    expect(() => encodeMatrix({ X: new Float32Array(3), y: new Float32Array(2), n: 2, d: 2, names: [] })).toThrow(/n·d/);
  });
});
