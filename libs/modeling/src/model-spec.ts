import { ModelingInputError } from './errors.js';
import type { ClassWeightSpec, ModelSpec } from './spec.js';

/** A {@link ModelSpec} with every default filled in; what a trained model records about itself. */
export type ResolvedModelSpec = {
  kind: 'logistic' | 'mlp';
  head: 'binary' | 'regression';
  loss: 'crossentropy' | 'mse' | 'mae';
  hidden: number[];
  activation: 'relu' | 'tanh';
  dropout: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  seed: number;
  classWeight: ClassWeightSpec;
  /** `auto` (Newton for a linear model whose full-batch pass is cheap, else Adam), `newton` or `adam`. */
  solver: 'auto' | 'newton' | 'adam';
  /** `null` when early stopping is off. */
  earlyStopping: { patience: number; minDelta: number; restoreBest: boolean } | null;
};

function check(ok: boolean, what: string): void {
  if (!ok) throw new ModelingInputError(`model spec: ${what}`);
}

/**
 * Fills in the documented defaults (head binary, loss crossentropy for binary / mse for regression,
 * hidden [16], activation relu, dropout 0, epochs 50, batchSize 64, learningRate 0.05 logistic /
 * 0.01 mlp, l2 0, seed 42, classWeight none, solver auto, earlyStopping off — minDelta 0 and restoreBest true
 * when on) and checks ranges. `hidden`, `activation` and `dropout` are kept for logistic models
 * too but have no effect there.
 * @throws ModelingInputError naming the bad field.
 */
export function resolveModelSpec(spec: ModelSpec): ResolvedModelSpec {
  const head = spec.head ?? 'binary';
  const es = spec.earlyStopping;
  const r: ResolvedModelSpec = {
    kind: spec.kind,
    head,
    loss: spec.loss ?? (head === 'binary' ? 'crossentropy' : 'mse'),
    hidden: [...(spec.hidden ?? [16])],
    activation: spec.activation ?? 'relu',
    dropout: spec.dropout ?? 0,
    epochs: spec.epochs ?? 50,
    batchSize: spec.batchSize ?? 64,
    learningRate: spec.learningRate ?? (spec.kind === 'logistic' ? 0.05 : 0.01),
    l2: spec.l2 ?? 0,
    seed: spec.seed ?? 42,
    classWeight: typeof spec.classWeight === 'object' ? { ...spec.classWeight } : (spec.classWeight ?? 'none'),
    solver: spec.solver ?? 'auto',
    earlyStopping: es == null ? null : { patience: es.patience, minDelta: es.minDelta ?? 0, restoreBest: es.restoreBest ?? true },
  };
  check(r.kind === 'logistic' || r.kind === 'mlp', `kind must be logistic or mlp, got ${String(r.kind)}`);
  check(r.head === 'binary' || r.head === 'regression', `head must be binary or regression, got ${String(r.head)}`);
  check(
    r.head === 'binary' ? r.loss === 'crossentropy' : r.loss === 'mse' || r.loss === 'mae',
    `loss ${String(r.loss)} does not fit a ${r.head} head (binary: crossentropy; regression: mse or mae)`,
  );
  check(r.solver === 'auto' || r.solver === 'newton' || r.solver === 'adam', `solver must be auto, newton or adam, got ${String(r.solver)}`);
  check(r.activation === 'relu' || r.activation === 'tanh', `activation must be relu or tanh, got ${String(r.activation)}`);
  check(r.kind === 'logistic' || r.hidden.length > 0, 'an mlp needs at least one hidden layer');
  check(r.hidden.every((u) => Number.isInteger(u) && u > 0), `hidden sizes must be positive integers, got [${r.hidden.join(', ')}]`);
  check(Number.isFinite(r.dropout) && r.dropout >= 0 && r.dropout < 1, `dropout must be in [0, 1), got ${r.dropout}`);
  check(Number.isInteger(r.epochs) && r.epochs >= 1, `epochs must be an integer >= 1, got ${r.epochs}`);
  check(Number.isInteger(r.batchSize) && r.batchSize >= 1, `batchSize must be an integer >= 1, got ${r.batchSize}`);
  check(Number.isFinite(r.learningRate) && r.learningRate > 0, `learningRate must be > 0, got ${r.learningRate}`);
  check(Number.isFinite(r.l2) && r.l2 >= 0, `l2 must be >= 0, got ${r.l2}`);
  check(Number.isInteger(r.seed), `seed must be an integer, got ${r.seed}`);
  const cw = r.classWeight;
  check(
    cw === 'none' || cw === 'balanced' || (typeof cw === 'object' && cw.negative > 0 && cw.positive > 0 && Number.isFinite(cw.negative + cw.positive)),
    `classWeight must be none, balanced or { negative, positive } > 0, got ${JSON.stringify(cw)}`,
  );
  check(cw === 'none' || r.head === 'binary', 'classWeight applies to a binary head only');
  if (r.earlyStopping) {
    check(Number.isInteger(r.earlyStopping.patience) && r.earlyStopping.patience >= 1, `earlyStopping.patience must be an integer >= 1, got ${r.earlyStopping.patience}`);
    check(Number.isFinite(r.earlyStopping.minDelta) && r.earlyStopping.minDelta >= 0, `earlyStopping.minDelta must be >= 0, got ${r.earlyStopping.minDelta}`);
  }
  return r;
}

/** One-line description of the network's shape, used to tell whether weights can be carried over. */
export function architectureOf(s: ResolvedModelSpec): string {
  const body = s.kind === 'mlp' ? `mlp [${s.hidden.join(', ')}] ${s.activation}` : 'logistic';
  return s.head === 'binary' ? body : `${body}, regression head`;
}
