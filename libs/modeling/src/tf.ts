/**
 * The TensorFlow.js pieces this library uses, imported from the sub-packages rather than the
 * `@tensorflow/tfjs` umbrella (internal module).
 *
 * Why: the umbrella's Node bundle does `require('long')` and resolves whatever `long` is hoisted
 * (5.x here, from gRPC). Under a runner that passes `--conditions import` to Node (our vitest
 * setup does), that require picks long's ESM entry and tfjs crashes at load with
 * "Long.fromString is not a function". tfjs-core bundles its own long, so it loads everywhere.
 * It also skips the webgl backend, converter and data packages we never use.
 */
import '@tensorflow/tfjs-backend-cpu';

/** TensorFlow.js core: tensors, ops, engine, io, optimizers (same instance the backends register into). */
export * as tf from '@tensorflow/tfjs-core';
/** TensorFlow.js layers: model building, fit, save/load. */
export * as tfl from '@tensorflow/tfjs-layers';
