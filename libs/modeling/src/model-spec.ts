import { ModelingInputError } from './errors.js';
import type { ModelSpec } from './spec.js';

/** A {@link ModelSpec} with every default filled in; what a trained model records about itself. */
export type ResolvedModelSpec = Required<ModelSpec>;

function check(ok: boolean, what: string): void {
  if (!ok) throw new ModelingInputError(`model spec: ${what}`);
}

/**
 * Fills in the documented defaults (hidden [16], activation relu, epochs 50, batchSize 64,
 * learningRate 0.05 logistic / 0.01 mlp, l2 0, seed 42) and checks ranges.
 * `hidden` and `activation` are kept for logistic models too but have no effect there.
 * @throws ModelingInputError naming the bad field.
 */
export function resolveModelSpec(spec: ModelSpec): ResolvedModelSpec {
  const r: ResolvedModelSpec = {
    kind: spec.kind,
    hidden: [...(spec.hidden ?? [16])],
    activation: spec.activation ?? 'relu',
    epochs: spec.epochs ?? 50,
    batchSize: spec.batchSize ?? 64,
    learningRate: spec.learningRate ?? (spec.kind === 'logistic' ? 0.05 : 0.01),
    l2: spec.l2 ?? 0,
    seed: spec.seed ?? 42,
  };
  check(r.kind === 'logistic' || r.kind === 'mlp', `kind must be logistic or mlp, got ${String(r.kind)}`);
  check(r.activation === 'relu' || r.activation === 'tanh', `activation must be relu or tanh, got ${String(r.activation)}`);
  check(r.kind === 'logistic' || r.hidden.length > 0, 'an mlp needs at least one hidden layer');
  check(r.hidden.every((u) => Number.isInteger(u) && u > 0), `hidden sizes must be positive integers, got [${r.hidden.join(', ')}]`);
  check(Number.isInteger(r.epochs) && r.epochs >= 1, `epochs must be an integer >= 1, got ${r.epochs}`);
  check(Number.isInteger(r.batchSize) && r.batchSize >= 1, `batchSize must be an integer >= 1, got ${r.batchSize}`);
  check(Number.isFinite(r.learningRate) && r.learningRate > 0, `learningRate must be > 0, got ${r.learningRate}`);
  check(Number.isFinite(r.l2) && r.l2 >= 0, `l2 must be >= 0, got ${r.l2}`);
  check(Number.isInteger(r.seed), `seed must be an integer, got ${r.seed}`);
  return r;
}
