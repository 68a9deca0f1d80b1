import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Lineage, LineageSchema } from '@refit/contracts';
import { applyTransform, encodeMatrix, fitTransform, labelsOf, ModelingInputError, rowsFromJsonl, serializeTransform, type FittedTransform, type RawRow } from '@refit/modeling';
import { InvalidInputError, wireRef, type ArtifactRef, type ArtifactStore } from '@refit/platform';
import type { PipelineSpec } from '@refit/spec';

/** What fitting produced: the lineage additions and the transform itself. */
export type FitResult = { lineage: MessageInitShape<typeof LineageSchema>; transform: FittedTransform; transformRef: ArtifactRef; trainRows: RawRow[] };

/**
 * Runs `fn`, turning a data problem (a non-numeric feature, a bad label, a line that is not JSON)
 * into an InvalidInputError naming the split: retrying the same rows cannot succeed, so the
 * consumer must fail the run at once instead of redelivering the event until it gives up.
 */
function onSplit<T>(split: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ModelingInputError || err instanceof RangeError) throw new InvalidInputError(`${split} split: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Fits the spec's transforms on the training split only, stores the fitted transform (the one
 * artifact training and serving share) and the transformed splits, content-addressed.
 */
export async function fitFeatures({ store }: { store: Pick<ArtifactStore, 'get' | 'putContentAddressed'> }, spec: PipelineSpec, lineage: Lineage): Promise<FitResult> {
  const load = async (key: string | undefined, split: string): Promise<RawRow[]> => {
    if (!key) throw new InvalidInputError(`dataset.prepared carries no ${split} split`);
    const body = await store.get(key);
    return onSplit(split, () => rowsFromJsonl(body));
  };
  const [train, validation, test] = await Promise.all([
    load(lineage.rawTrain?.key, 'train'),
    load(lineage.rawValidation?.key, 'validation'),
    load(lineage.rawTest?.key, 'test'),
  ]);
  const transform = onSplit('train', () => fitTransform(train, spec.features));
  const transformRef = await store.putContentAddressed(`pipelines/${spec.name}/transforms`, serializeTransform(transform), '.json');
  const encode = async (rows: RawRow[], split: string) => {
    const body = onSplit(split, () => {
      const t = applyTransform(transform, rows);
      return encodeMatrix({ X: t.X, y: labelsOf(rows, spec.label, spec.model.head), n: t.n, d: t.d, names: t.names });
    });
    return store.putContentAddressed(`pipelines/${spec.name}/features`, body, '.bin');
  };
  const [fTrain, fValidation, fTest] = await Promise.all([encode(train, 'train'), encode(validation, 'validation'), encode(test, 'test')]);
  return {
    transform,
    transformRef,
    trainRows: train,
    lineage: {
      transform: wireRef(transformRef),
      featuresTrain: wireRef(fTrain),
      featuresValidation: wireRef(fValidation),
      featuresTest: wireRef(fTest),
      featureNames: transform.outputNames,
    },
  };
}
