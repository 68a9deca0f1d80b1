import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Lineage, LineageSchema } from '@refit/contracts';
import { binaryMetrics } from '@refit/ml';
import { decodeMatrix, initBackend, ModelingInputError, resolveModelSpec, trainModel, type LabelledMatrix } from '@refit/modeling';
import { InvalidInputError, wireRef, type ArtifactRef, type Logger, type ServiceRuntime } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';
import type { TrainerConfig } from './config.js';

/** What a training job produced. */
export type TrainingOutcome = {
  lineage: MessageInitShape<typeof LineageSchema>;
  modelRef: ArtifactRef;
  backend: string;
  epochs: number;
  computeMs: number;
  finalLoss: number;
  config: unknown;
  seed: number;
  validationMetrics: Record<string, number>;
};

/**
 * A feature artifact that does not decode, or unusable features (NaN, labels
 * outside 0..1) cannot get better by retrying: raise them as InvalidInputError so the consumer
 * fails the run at once instead of training again on every redelivery.
 */
function permanent(what: string, err: unknown): unknown {
  return err instanceof ModelingInputError || err instanceof RangeError ? new InvalidInputError(`${what}: ${err.message}`, { cause: err }) : err;
}

async function loadMatrix(rt: ServiceRuntime, key: string, split: string): Promise<LabelledMatrix> {
  const body = await rt.store.get(key);
  try {
    return decodeMatrix(body);
  } catch (err) {
    throw permanent(`${split} features ${key}`, err);
  }
}

/** Trains the spec's model on the transformed training split, seeded, and stores it content-addressed. */
export async function trainCandidate(rt: ServiceRuntime, config: Readonly<TrainerConfig>, spec: PipelineSpec, lineage: Lineage, logger: Logger): Promise<TrainingOutcome> {
  if (!lineage.featuresTrain?.key) throw new InvalidInputError('features.ready carries no training features');
  const train = await loadMatrix(rt, lineage.featuresTrain.key, 'training');
  const validation = lineage.featuresValidation?.key ? await loadMatrix(rt, lineage.featuresValidation.key, 'validation') : undefined;
  const { backend } = await initBackend({ prefer: config.tfBackend });
  const modelSpec = resolveModelSpec(spec.model);
  const result = await trainModel({
    X: train.X,
    y: train.y,
    n: train.n,
    d: train.d,
    spec: modelSpec,
    validation: validation && validation.n > 0 ? { X: validation.X, y: validation.y, n: validation.n } : undefined,
    onEpoch: (e) => {
      if (e.epoch % 10 === 0) logger.debug({ epoch: e.epoch, loss: e.loss, valLoss: e.valLoss }, 'epoch');
    },
  }).catch((err: unknown) => {
    throw err instanceof ModelingInputError ? permanent('training', err) : err;
  });
  try {
    const validationMetrics: Record<string, number> = {};
    if (validation && validation.n > 0) {
      const m = binaryMetrics(validation.y, result.model.predict(validation.X, validation.n));
      validationMetrics.accuracy = m.accuracy;
      validationMetrics.logLoss = m.logLoss;
      if (m.rocAuc !== null) validationMetrics.auc = m.rocAuc;
    }
    const modelRef = await rt.store.putContentAddressed(`pipelines/${spec.name}/models`, await result.model.serialize(), '.refitm');
    const finalLoss = result.history.at(-1)?.loss ?? Number.NaN;
    return {
      lineage: { model: wireRef(modelRef), trainingConfigJson: JSON.stringify(modelSpec), seed: BigInt(modelSpec.seed), backend, epochs: result.epochs },
      modelRef,
      backend,
      epochs: result.epochs,
      computeMs: result.computeMs,
      finalLoss,
      config: modelSpec,
      seed: modelSpec.seed,
      validationMetrics,
    };
  } finally {
    result.model.dispose();
  }
}
