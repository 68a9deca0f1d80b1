import { ensureBackend } from './backend.js';
import { ModelingInputError } from './errors.js';
import { decodeModel } from './model-format.js';
import type { ModelHeader } from './model-format.js';
import { architectureOf } from './model-spec.js';
import type { ResolvedModelSpec } from './model-spec.js';
import { tf, tfl } from './tf.js';

/** The tfjs loss of a resolved spec. */
export function lossOf(spec: ResolvedModelSpec): string {
  return spec.loss === 'crossentropy' ? 'binaryCrossentropy' : spec.loss === 'mae' ? 'meanAbsoluteError' : 'meanSquaredError';
}

// Fixed layer and model names: tfjs otherwise numbers them from a process-wide counter
// (dense_Dense3…), which would make two identical trainings serialize to different bytes.
/** Builds the (uncompiled) network of a spec for `d` inputs. */
export function buildNet(spec: ResolvedModelSpec, d: number): tfl.Sequential {
  const net = tfl.sequential({ name: 'refit' });
  const units = spec.kind === 'mlp' ? [...spec.hidden, 1] : [1];
  units.forEach((u, i) => {
    const last = i === units.length - 1;
    net.add(
      tfl.layers.dense({
        name: last ? 'output' : `hidden_${i}`,
        units: u,
        activation: last ? (spec.head === 'binary' ? 'sigmoid' : 'linear') : spec.activation,
        // A distinct seed per layer so equally-shaped layers don't start identical.
        kernelInitializer: tfl.initializers.glorotUniform({ seed: spec.seed + i }),
        biasInitializer: 'zeros',
        ...(spec.l2 > 0 ? { kernelRegularizer: tfl.regularizers.l2({ l2: spec.l2 }) } : {}),
        ...(i === 0 ? { inputShape: [d] } : {}),
      }),
    );
    if (!last && spec.dropout > 0) {
      // Seeded for reproducibility. tfjs then draws the same mask for every batch position, but
      // rows are reshuffled every epoch, so a given row still sees different masks over training.
      net.add(tfl.layers.dropout({ name: `dropout_${i}`, rate: spec.dropout, seed: spec.seed + 1000 + i }));
    }
  });
  return net;
}

/** Loads the network of a serialized model and checks its input width. */
export async function loadNet(buf: Uint8Array): Promise<{ net: tfl.LayersModel; header: ModelHeader }> {
  const { header, weightData } = decodeModel(buf);
  await ensureBackend();
  let net: tfl.LayersModel;
  try {
    net = await tfl.loadLayersModel(
      tf.io.fromMemory({ modelTopology: header.modelTopology, weightSpecs: header.weightSpecs, weightData }),
    );
  } catch (err) {
    throw new ModelingInputError(`bad model artifact: tfjs could not load it (${(err as Error).message})`, {}, { cause: err });
  }
  const shape = net.inputs[0]?.shape;
  if (net.inputs.length !== 1 || shape?.length !== 2 || shape[1] !== header.inputDim) {
    net.dispose();
    throw new ModelingInputError(`bad model artifact: topology input shape [${String(shape)}] does not match inputDim ${header.inputDim}`);
  }
  return { net, header };
}

/**
 * Copies the weights of a serialized model into `net`.
 * @throws ModelingInputError when the architectures or input widths differ.
 */
export async function warmStartFrom(net: tfl.LayersModel, buf: Uint8Array, spec: ResolvedModelSpec, d: number): Promise<void> {
  const { net: prev, header } = await loadNet(buf);
  try {
    const [was, is] = [architectureOf(header.spec), architectureOf(spec)];
    if (was !== is || header.inputDim !== d) {
      throw new ModelingInputError(`warm start: the previous model is ${was} with ${header.inputDim} inputs, this training is ${is} with ${d} inputs`);
    }
    // setWeights shares the previous tensors' storage by reference count, so disposing prev is safe.
    net.setWeights(prev.getWeights());
  } finally {
    prev.dispose();
  }
}
