"""The typed reads without a stack: feature statistics, the fitted transform and trigger decisions
from the typed fields, and from the JSON fields of a server of the previous release — the same."""
import json
import math

from google.protobuf import json_format

from refit_client import FittedTransform, SnapshotStats, TriggerDecision, TriggerExplanation
from refit_client.pb import feature_pb2, trigger_pb2

# Documents as the feature service stores them (services/feature/src/stats.ts, the transform artifact).
STATS = {
    "version": 1, "pipeline": "rain", "runId": "r-1", "snapshotSha256": "ab" * 32, "rows": 1096,
    "columns": [
        {"name": "temp_max", "kind": "numeric", "count": 1096, "missing": 0, "missingRate": 0, "mean": 16.4, "std": 7.4, "min": -1.6, "max": 35.6,
         "quantiles": {"p01": 3.3, "p05": 5.6, "p25": 10.6, "p50": 15.6, "p75": 22.2, "p95": 30.0, "p99": 33.3},
         "histogram": {"edges": [-1.6, 17, 35.6], "counts": [590, 506]}, "sample": [-1.6, 15.6, 35.6]},
        {"name": "weather", "kind": "categorical", "count": 1096, "missing": 2, "missingRate": 0.0018, "frequencies": {"rain": 641, "sun": 453}},
    ],
}
TRANSFORM = {
    "version": 1, "fittedOnRows": 1096, "outputNames": ["temp_max", "wind", "weather=rain", "weather=sun", "weather=__other__"],
    "features": [
        {"name": "temp_max", "kind": "standardize", "mean": 16.4, "std": 7.4},
        {"name": "wind", "kind": "minmax", "min": 0.4, "max": 9.5, "fill": 3.1, "clip": {"max": 9}},
        {"name": "weather", "kind": "onehot", "categories": ["rain", "sun"], "other": True, "fill": "rain"},
    ],
}
# A performance decision's evidence as the trigger writes it (a declared reference is {"value": …}).
MEASURED = {"version": "v2", "windowEnd": "2026-11-26T13:00:00.000Z", "metric": "accuracy", "labeled": 400, "test": "sequential",
            "reference": {"source": "declared", "value": 0.8, "labeled": 0}, "live": {"value": 0.71, "labeled": 400},
            "drop": 0.09, "lower": 0.04, "upper": 0.14, "pValue": 0.002, "looks": 7, "logE": 6.2, "standardError": 0.022, "warmup": None}
THRESHOLDS = {"metric": "accuracy", "maxDrop": 0.03, "minLabeled": 200, "reference": {"value": 0.8}, "alpha": 0.05}
DRIFT_MEASURED = {"version": "v1", "windowEnd": "2026-11-26T13:00:00.000Z", "referenceRunId": "r-1", "status": "drift", "share": 1, "rows": 300,
                  "columns": {"wind": {"psi": 0.6, "status": "drift", "referenceSize": 500, "currentSize": 300}}}


def _parse(doc, message):
    return json_format.ParseDict(doc, message(), ignore_unknown_fields=True)


def test_feature_stats_from_the_typed_field_and_from_the_json_are_the_same():
    typed = feature_pb2.GetStatsResponse(run_id="r-1", pipeline="rain", stats_json=json.dumps(STATS), stats_details=_parse(STATS, feature_pb2.SnapshotStats))
    old = feature_pb2.GetStatsResponse(run_id="r-1", pipeline="rain", stats_json=json.dumps(STATS))
    s = SnapshotStats.from_response(typed)
    assert s == SnapshotStats.from_response(old)
    assert (s.run_id, s.rows, [c.name for c in s.columns]) == ("r-1", 1096, ["temp_max", "weather"])
    t = s.column("temp_max")
    assert (t.kind, t.mean, t.std, t.min, t.max, t.quantiles["p50"]) == ("numeric", 16.4, 7.4, -1.6, 35.6, 15.6)
    assert t.histogram.counts == [590, 506] and t.histogram.edges == [-1.6, 17, 35.6] and t.frequencies == {}
    w = s.column("weather")
    assert (w.mean, w.histogram, w.missing, w.frequencies) == (None, None, 2, {"rain": 641, "sun": 453})
    # A quantile the document could not hold (null: a column without a value) is NaN on the wire.
    empty = feature_pb2.SnapshotStats(columns=[feature_pb2.ColumnStats(name="x", kind="numeric", quantiles={"p50": math.nan})])
    assert math.isnan(SnapshotStats.from_response(feature_pb2.GetStatsResponse(stats_details=empty)).column("x").quantiles["p50"])


def test_the_fitted_transform_from_the_typed_field_and_from_the_json_are_the_same():
    details = _parse({**TRANSFORM, "features": [*TRANSFORM["features"][:2], {**TRANSFORM["features"][2], "fill": None, "fillCategory": "rain"}]},
                     feature_pb2.FittedTransform)
    typed = feature_pb2.GetTransformResponse(run_id="r-1", pipeline="rain", transform_json=json.dumps(TRANSFORM), transform_details=details)
    old = feature_pb2.GetTransformResponse(run_id="r-1", pipeline="rain", transform_json=json.dumps(TRANSFORM))
    t = FittedTransform.from_response(typed)
    assert t == FittedTransform.from_response(old)
    assert (t.fitted_on_rows, t.output_names[-1], t.version) == (1096, "weather=__other__", 1)
    assert (t.feature("temp_max").mean, t.feature("temp_max").std, t.feature("temp_max").min) == (16.4, 7.4, None)
    wind = t.feature("wind")
    assert (wind.fill, wind.clip.min, wind.clip.max, wind.fill_category) == (3.1, None, 9, None)
    onehot = t.feature("weather")
    assert (onehot.categories, onehot.other, onehot.fill_category, onehot.fill) == (["rain", "sun"], True, "rain", None)


def _decision(measured, thresholds, typed=True, policy="performance"):
    d = trigger_pb2.TriggerDecision(id="d-1", pipeline="rain", policy=policy, fired=True, action="start", reason="accuracy dropped",
                                    measured_json=json.dumps(measured), thresholds_json=json.dumps(thresholds), run_id="r-2")
    d.created_at.FromJsonString("2026-11-26T13:00:01Z")
    if typed:
        # What the trigger's converter sends: nulls unset, a declared reference as reference + referenceValue.
        d.measured.CopyFrom(_parse({k: v for k, v in measured.items() if v is not None}, trigger_pb2.TriggerEvidence))
        t = dict(thresholds)
        if isinstance(t.get("reference"), dict):
            t["referenceValue"] = t.pop("reference")["value"]
            t["reference"] = "declared"
        d.thresholds.CopyFrom(_parse(t, trigger_pb2.TriggerThresholds))
    return d


def test_a_decision_from_the_typed_fields_and_from_the_json_are_the_same():
    typed = TriggerDecision.from_proto(_decision(MEASURED, THRESHOLDS))
    assert typed == TriggerDecision.from_proto(_decision(MEASURED, THRESHOLDS, typed=False))
    m, t = typed.measured, typed.thresholds
    assert (m.metric, m.labeled, m.test, m.drop, m.p_value, m.looks, m.log_e, m.warmup) == ("accuracy", 400, "sequential", 0.09, 0.002, 7, 6.2, None)
    assert (m.reference.source, m.reference.value, m.live.value, m.live.labeled) == ("declared", 0.8, 0.71, 400)
    assert (m.share, m.slot, m.columns, m.sources) == (None, None, {}, [])
    assert (t.metric, t.max_drop, t.min_labeled, t.reference, t.reference_value, t.alpha, t.cron) == ("accuracy", 0.03, 200, "declared", 0.8, 0.05, None)
    assert (typed.run_id, typed.created_at.isoformat()) == ("r-2", "2026-11-26T13:00:01")

    drift = TriggerDecision.from_proto(_decision(DRIFT_MEASURED, {"maxShare": 0.3, "psi": {"wind": 0.2}, "minSamples": 100}, policy="drift"))
    assert drift == TriggerDecision.from_proto(_decision(DRIFT_MEASURED, {"maxShare": 0.3, "psi": {"wind": 0.2}, "minSamples": 100}, typed=False, policy="drift"))
    assert (drift.measured.status, drift.measured.share, drift.measured.rows, drift.measured.reference_run_id) == ("drift", 1, 300, "r-1")
    c = drift.measured.columns["wind"]
    assert (c.psi, c.status, c.reference_size, c.current_size) == (0.6, "drift", 500, 300)
    assert (drift.thresholds.max_share, drift.thresholds.psi, drift.thresholds.min_samples) == (0.3, {"wind": 0.2}, 100)

    explained = TriggerExplanation.from_proto(trigger_pb2.ExplainTriggersResponse(summary=["last run r-2: accuracy dropped"], decisions=[_decision(MEASURED, THRESHOLDS)]))
    assert explained.summary == ["last run r-2: accuracy dropped"] and explained.decisions == [typed]
