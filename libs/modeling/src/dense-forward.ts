/**
 * Scoring small dense networks in plain JavaScript. A Refit model is a stack of Dense layers
 * (dropout is the identity when scoring); for a logistic model or a small MLP the arithmetic of
 * one row is a few hundred multiply-adds, while a tfjs call costs a fixed dispatch of tensors,
 * kernels and scopes (~0.3 ms and a trail of garbage) whatever the size. So a model with at most
 * {@link JS_FORWARD_MAX_WEIGHTS} weights scores here, every row and every batch size the same
 * way (float64 sums of the float32 weights, rounded to float32 at the end); larger ones keep
 * tfjs. The choice depends on the model only, never on the batch, so a row's score does not
 * depend on what else was in its request.
 */
import type { tfl } from './tf.js';

/** Models with at most this many weights (kernels and biases) are scored in JavaScript. */
export const JS_FORWARD_MAX_WEIGHTS = 4096;

type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear';

/** One Dense layer: `wT` is the kernel transposed (out × in, row-major), so a unit's weights are contiguous. */
type Dense = { inDim: number; outDim: number; wT: Float64Array; b: Float64Array; act: Activation };

/** A network's Dense layers, ready to score rows. */
export type DenseForward = { layers: Dense[]; inputDim: number; weights: number };

const ACTIVATIONS = new Set<string>(['relu', 'tanh', 'sigmoid', 'linear']);

/**
 * The Dense layers of `net` when it is nothing but Dense (and Dropout) layers with known
 * activations and at most {@link JS_FORWARD_MAX_WEIGHTS} weights; otherwise undefined (tfjs scores it).
 */
export function denseForwardOf(net: tfl.LayersModel): DenseForward | undefined {
  const layers: Dense[] = [];
  let weights = 0;
  for (const layer of net.layers) {
    const kind = layer.getClassName();
    if (kind === 'Dropout') continue;
    if (kind !== 'Dense') return undefined;
    const config = layer.getConfig() as { activation?: string; useBias?: boolean };
    const act = config.activation ?? 'linear';
    if (!ACTIVATIONS.has(act)) return undefined;
    const [kernel, bias] = layer.getWeights();
    if (kernel?.shape.length !== 2) return undefined;
    const [inDim, outDim] = kernel.shape as [number, number];
    weights += inDim * outDim + outDim;
    if (weights > JS_FORWARD_MAX_WEIGHTS) return undefined;
    const k = kernel.dataSync();
    const wT = new Float64Array(inDim * outDim);
    for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) wT[o * inDim + i] = k[i * outDim + o];
    const b = new Float64Array(outDim);
    if (bias) b.set(bias.dataSync());
    if (layers.length > 0 && layers[layers.length - 1].outDim !== inDim) return undefined;
    layers.push({ inDim, outDim, wT, b, act: act as Activation });
  }
  if (layers.length === 0 || layers[layers.length - 1].outDim !== 1) return undefined;
  return { layers, inputDim: layers[0].inDim, weights };
}

/** Scores `n` rows of the row-major matrix `X` (n × inputDim): one output per row. */
export function denseForward(f: DenseForward, X: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const width = Math.max(...f.layers.map((l) => l.outDim));
  let a = new Float64Array(width);
  let z = new Float64Array(width);
  const d = f.inputDim;
  const first = f.layers[0];
  for (let r = 0; r < n; r++) {
    const base = r * d;
    // First layer straight from the input row.
    for (let o = 0; o < first.outDim; o++) {
      let s = first.b[o];
      const w = o * d;
      for (let i = 0; i < d; i++) s += X[base + i] * first.wT[w + i];
      z[o] = activate(first.act, s);
    }
    for (let l = 1; l < f.layers.length; l++) {
      const layer = f.layers[l];
      [a, z] = [z, a];
      for (let o = 0; o < layer.outDim; o++) {
        let s = layer.b[o];
        const w = o * layer.inDim;
        for (let i = 0; i < layer.inDim; i++) s += a[i] * layer.wT[w + i];
        z[o] = activate(layer.act, s);
      }
    }
    out[r] = z[0];
  }
  return out;
}

function activate(act: Activation, s: number): number {
  switch (act) {
    case 'relu':
      return s > 0 ? s : 0;
    case 'tanh':
      return Math.tanh(s);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-s));
    default:
      return s;
  }
}
