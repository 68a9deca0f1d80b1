import { FittedTransformSchema, SnapshotStatsSchema, type FittedTransform, type SnapshotStats } from './gen/refit/feature/v1/feature_pb.js';
import { asJson, isObject, messageFromDoc } from './json-doc.js';

/**
 * The typed statistics of a run's training split from their JSON document (the feature service's
 * stored `SnapshotStats` artifact: `GetStatsResponse.stats_json`, or the object before it is
 * serialized). The proto's JSON names are the document's, so this is the one converter between
 * the two: the feature service fills `GetStatsResponse.stats_details` with it, and a client of a
 * feature service older than `stats_details` can use it on `stats_json`. A number JSON could not
 * hold (null: a quantile of a column with no value) is NaN in a map, unset where optional.
 */
export function snapshotStatsFromJson(doc: unknown): SnapshotStats {
  return messageFromDoc(SnapshotStatsSchema, doc);
}

/**
 * The typed fitted transform from its JSON document (the stored transform artifact:
 * `GetTransformResponse.transform_json`, or the `FittedTransform` object before it is serialized);
 * the one converter between the two, as {@link snapshotStatsFromJson}. The JSON names are the
 * artifact's but for a one-hot feature's `fill` (its fill category, a string), which is
 * `fillCategory` in the message.
 */
export function fittedTransformFromJson(doc: unknown): FittedTransform {
  const json = asJson(doc);
  if (isObject(json) && Array.isArray(json.features)) {
    json.features = json.features.map((f) => {
      if (!isObject(f) || f.kind !== 'onehot' || f.fill === undefined) return f;
      const { fill, ...rest } = f;
      return { ...rest, fillCategory: fill };
    });
  }
  return messageFromDoc(FittedTransformSchema, json);
}
