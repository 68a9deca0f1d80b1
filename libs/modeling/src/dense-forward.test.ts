import { beforeAll, describe, expect, it } from 'vitest';
import { denseForward, denseForwardOf, JS_FORWARD_MAX_WEIGHTS } from './dense-forward.js';
import { initBackend, resolveModelSpec } from './index.js';
import { buildNet } from './net.js';
import { tf } from './tf.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

/** Rows with a spread of magnitudes and signs (some large enough to saturate the sigmoid). */
function rows(n: number, d: number): Float32Array {
  return Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 12.9898 + 1) * (1 + (i % 7)) * 3);
}

function tfjsScores(net: ReturnType<typeof buildNet>, X: Float32Array, n: number, d: number): Float32Array {
  return tf.tidy(() => Float32Array.from((net.predictOnBatch(tf.tensor2d(X, [n, d])) as tf.Tensor).dataSync()));
}

describe('denseForward', () => {
  const cases = [
    { name: 'logistic, binary', spec: { kind: 'logistic' as const }, d: 9 },
    { name: 'logistic, regression head', spec: { kind: 'logistic' as const, head: 'regression' as const }, d: 5 },
    { name: 'mlp relu with dropout', spec: { kind: 'mlp' as const, hidden: [16, 8], dropout: 0.3 }, d: 12 },
    { name: 'mlp tanh', spec: { kind: 'mlp' as const, hidden: [7], activation: 'tanh' as const }, d: 3 },
  ];
  for (const c of cases) {
    it(`scores as tfjs does, to float32 precision: ${c.name}`, () => {
      const net = buildNet(resolveModelSpec({ ...c.spec, seed: 7 }), c.d);
      // Non-zero biases, so a bias that is left out shows.
      net.setWeights(net.getWeights().map((w, i) => (i % 2 === 1 ? tf.fill(w.shape, 0.1 * (i + 1)) : w)));
      const f = denseForwardOf(net);
      expect(f).toBeDefined();
      const n = 300;
      const X = rows(n, c.d);
      const ours = denseForward(f!, X, n);
      const theirs = tfjsScores(net, X, n, c.d);
      for (let i = 0; i < n; i++) expect(Math.abs(ours[i] - theirs[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(theirs[i])));
      net.dispose();
    });
  }

  it('gives a row the same score whatever else is in its batch', () => {
    const net = buildNet(resolveModelSpec({ kind: 'mlp', hidden: [10], seed: 3 }), 4);
    const f = denseForwardOf(net)!;
    const X = rows(50, 4);
    const all = denseForward(f, X, 50);
    for (const i of [0, 17, 49]) expect(denseForward(f, X.subarray(i * 4, i * 4 + 4), 1)[0]).toBe(all[i]);
    net.dispose();
  });

  it('leaves a model larger than the limit to tfjs', () => {
    const d = 64;
    const hidden = Math.ceil(JS_FORWARD_MAX_WEIGHTS / d);
    const net = buildNet(resolveModelSpec({ kind: 'mlp', hidden: [hidden] }), d);
    expect(denseForwardOf(net)).toBeUndefined();
    net.dispose();
  });
});
