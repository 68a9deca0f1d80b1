import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Lineage, LineageSchema } from '@refit/contracts';
import { binaryMetrics } from '@refit/ml';
import {
  decodeMatrix,
  initBackend,
  ModelingInputError,
  resolveModelSpec,
  searchModel,
  trainModel,
  type LabelledMatrix,
  type ResolvedModelSpec,
  type SearchProgress,
  type TrainedModel,
  type TrialRecord,
} from '@refit/modeling';
import { InvalidInputError, wireRef, type ArtifactRef, type Logger, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import type { TrainerConfig } from './config.js';
import { decisionThreshold } from './decision-threshold.js';
import { championForWarmStart, type WarmStart, type WarmStartDeps } from './warm-start.js';

/** What a training job produced. */
export type TrainingOutcome = {
  lineage: MessageInitShape<typeof LineageSchema>;
  modelRef: ArtifactRef;
  backend: string;
  epochs: number;
  computeMs: number;
  finalLoss: number;
  config: ResolvedModelSpec;
  seed: number;
  validationMetrics: Record<string, number>;
  searchStrategy: string;
  bestTrial: number;
  trials: TrialRecord[];
  stopReason: string;
  warmStartModel: ArtifactRef | undefined;
  codeVersion: string;
};

/** What {@link trainCandidate} needs besides the spec and lineage. */
export type TrainContext = {
  logger: Logger;
  /** Aborts training (a cancelled run). */
  signal?: AbortSignal;
  /** Progress of every epoch (trial 0 of 1 without a search). */
  onProgress?: (p: SearchProgress) => Promise<void>;
  /** Warm-start from the champion even if the spec does not ask (continuous retraining). Default false. */
  warmStart?: boolean;
};

/**
 * A feature artifact that does not decode, unusable features (NaN, labels outside 0..1) or a
 * diverging training cannot get better by retrying: raise them as InvalidInputError so the consumer
 * fails the run at once instead of training again on every redelivery.
 */
function permanent(what: string, err: unknown): unknown {
  return err instanceof ModelingInputError || err instanceof RangeError ? new InvalidInputError(`${what}: ${err.message}`, { cause: err }) : err;
}

async function loadMatrix(rt: Pick<ServiceRuntime, 'store'>, key: string, split: string): Promise<LabelledMatrix> {
  const body = await rt.store.get(key);
  try {
    return decodeMatrix(body);
  } catch (err) {
    throw permanent(`${split} features ${key}`, err);
  }
}

function metricsOn(model: TrainedModel, v: LabelledMatrix): Record<string, number> {
  const p = model.predict(v.X, v.n);
  if (model.spec.head === 'regression') {
    let se = 0;
    let ae = 0;
    for (let i = 0; i < v.n; i++) [se, ae] = [se + (p[i] - v.y[i]) ** 2, ae + Math.abs(p[i] - v.y[i])];
    return { rmse: Math.sqrt(se / v.n), mae: ae / v.n };
  }
  const m = binaryMetrics(v.y, p);
  return { accuracy: m.accuracy, logLoss: m.logLoss, ...(m.rocAuc !== null ? { auc: m.rocAuc } : {}) };
}

type Fitted = { model: TrainedModel; spec: ResolvedModelSpec; epochs: number; computeMs: number; finalLoss: number; stopReason: string; trials: TrialRecord[]; bestTrial: number; backend: string };

async function fit(spec: PipelineSpec, train: LabelledMatrix, validation: LabelledMatrix | undefined, warm: WarmStart | undefined, ctx: TrainContext): Promise<Fitted> {
  const m = spec.model;
  const deadline = m.budget ? Date.now() + m.budget.seconds * 1000 : undefined;
  const base = resolveModelSpec(m);
  const data = { X: train.X, y: train.y, n: train.n, d: train.d, signal: ctx.signal, deadline };
  const val = validation && validation.n > 0 ? { X: validation.X, y: validation.y, n: validation.n } : undefined;
  if (m.search) {
    if (!val) throw new InvalidInputError('model.search needs a validation split to score trials: give data.split a validation share');
    const r = await searchModel({ ...data, spec: base, validation: val, search: m.search as Parameters<typeof searchModel>[0]['search'], onProgress: ctx.onProgress });
    const last = r.refitHistory?.at(-1) ?? r.best.curve[r.best.bestEpoch - 1] ?? r.best.curve.at(-1);
    return { model: r.model, spec: r.spec, epochs: r.epochs, computeMs: r.computeMs, finalLoss: last?.loss ?? Number.NaN, stopReason: r.budgetExhausted ? 'budget' : r.best.status, trials: r.trials, bestTrial: r.best.trial, backend: r.backend };
  }
  const r = await trainModel({
    ...data,
    spec: base,
    validation: val,
    warmStart: warm?.bytes,
    onEpoch: (e) => ctx.onProgress?.({ trial: 0, trials: 1, rung: 0, epoch: e.epoch, epochs: base.epochs, loss: e.loss, valLoss: e.valLoss }),
  });
  const kept = base.earlyStopping?.restoreBest ? r.history[r.bestEpoch - 1] : r.history.at(-1);
  // The record names the solver that ran, not `auto`.
  return { model: r.model, spec: { ...base, solver: r.solver }, epochs: r.epochs, computeMs: r.computeMs, finalLoss: kept?.loss ?? Number.NaN, stopReason: r.stopReason, trials: [], bestTrial: 0, backend: r.backend };
}

/**
 * Trains the spec's model on the transformed training split — one seeded training, or a
 * hyper-parameter search scored on the validation split — optionally warm-started from the
 * champion, within the spec's time budget, and stores it content-addressed.
 */
export async function trainCandidate(rt: WarmStartDeps, config: Readonly<TrainerConfig>, spec: PipelineSpec, lineage: Lineage, ctx: TrainContext): Promise<TrainingOutcome> {
  if (!lineage.featuresTrain?.key) throw new InvalidInputError('features.ready carries no training features');
  const train = await loadMatrix(rt, lineage.featuresTrain.key, 'training');
  const validation = lineage.featuresValidation?.key ? await loadMatrix(rt, lineage.featuresValidation.key, 'validation') : undefined;
  const { backend } = await initBackend({ prefer: config.tfBackend });
  const wantWarm = spec.model.warmStart === 'champion' || (ctx.warmStart === true && !spec.model.search);
  const warm = wantWarm ? await championForWarmStart(rt, config, spec.name, lineage) : undefined;
  if (warm) ctx.logger.info({ champion: warm.version, model: warm.ref.key }, 'warm start from the champion');
  const result = await fit(spec, train, validation, warm, ctx).catch((err: unknown) => {
    throw err instanceof ModelingInputError ? permanent('training', err) : err;
  });
  try {
    const validationMetrics = validation && validation.n > 0 ? metricsOn(result.model, validation) : {};
    const chosen = decisionThreshold(spec, result.model, validation);
    if (chosen.how !== 'default') ctx.logger.info({ threshold: chosen.threshold, how: chosen.how }, 'decision threshold');
    const modelRef = await rt.store.putContentAddressed(`pipelines/${spec.name}/models`, await result.model.serialize(), '.refitm');
    const s = result.spec;
    return {
      lineage: {
        model: wireRef(modelRef),
        trainingConfigJson: JSON.stringify(s),
        seed: BigInt(s.seed),
        backend: result.backend || backend,
        epochs: result.epochs,
        codeVersion: config.codeVersion,
        decisionThreshold: chosen.threshold,
      },
      modelRef,
      backend: result.backend || backend,
      epochs: result.epochs,
      computeMs: result.computeMs,
      finalLoss: result.finalLoss,
      config: s,
      seed: s.seed,
      validationMetrics,
      searchStrategy: spec.model.search?.strategy ?? '',
      bestTrial: result.bestTrial,
      trials: result.trials,
      stopReason: result.stopReason,
      warmStartModel: warm?.ref,
      codeVersion: config.codeVersion,
    };
  } finally {
    result.model.dispose();
  }
}
