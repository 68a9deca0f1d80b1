"""What the client does without a stack: addresses, credentials, parsing the typed reports."""
import json

import grpc
import pytest

from refit_client import Client, EvaluationReport, RefitError, StepAnalysis
from refit_client.credentials import addresses_for, credentials_from_env
from refit_client.errors import FieldViolation, from_rpc_error

REPORT = {
    "runId": "r-1", "pipeline": "p", "verdict": "pass", "rowsTest": 317, "leftOut": None,
    "gates": [{"gate": "champion:auc", "outcome": "pass", "passed": True, "reason": "auc not worse"}],
    "candidate": {"metrics": {"auc": 0.65, "accuracy": 0.69}, "model": "m.refitm"},
    "champion": {"version": "v1", "metrics": {"auc": 0.66}},
    "comparisons": [{"evidence": {"metric": "auc", "margin": 0.05, "test": "not-worse", "n": 317, "candidate": 0.65, "champion": 0.66,
                                  "gain": -0.01, "interval": {"lower": -0.05, "upper": 0.04, "confidence": 0.95}, "pValue": 0.026, "method": "DeLong"}}],
    "slices": [{"column": "location", "value": "Seattle", "n": 40, "belowMinSize": False, "candidate": {"auc": 0.7}}],
    "fairness": [{"sensitive": "location", "candidate": {"groups": [{"group": "Seattle", "n": 40, "selectionRate": 0.4, "tpr": None, "fpr": 0.1, "belowMinSize": False}],
                                                         "demographicParityDifference": 0.1, "equalizedOddsDifference": None}}],
    "holdout": None, "consistency": None, "backtest": None, "thresholds": {"candidate": 0.5, "champion": 0.5},
}


def test_a_host_gives_every_service_its_default_port():
    assert addresses_for("10.0.0.5", {}) == {s: f"10.0.0.5:{p}" for s, p in zip(
        ["trigger", "ingestion", "feature", "trainer", "evaluator", "registry", "deployer"], range(50051, 50058))}
    assert addresses_for(None, {"REFIT_DEPLOYER_ADDR": "h:1"})["deployer"] == "h:1"
    assert addresses_for({"trigger": "t:9"}, {})["trigger"] == "t:9"
    with pytest.raises(ValueError, match="seven services"):
        addresses_for("127.0.0.1:50051", {})


def test_without_a_ca_the_client_is_plaintext(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = credentials_from_env({})
    assert found.channel is None and found.token is None and "plaintext" in found.description
    Client("127.0.0.1", token="t").close()


def test_the_report_json_becomes_typed_fields():
    r = EvaluationReport.from_json(json.dumps(REPORT))
    assert (r.verdict, r.rows_test, r.champion_version) == ("pass", 317, "v1")
    assert r.gates[0].reason == "auc not worse" and r.gates[0].passed
    e = r.comparisons[0].evidence
    assert (e.metric, e.test, e.p_value, e.interval.lower, e.interval.confidence) == ("auc", "not-worse", 0.026, -0.05, 0.95)
    assert r.slices[0].champion is None and r.slices[0].candidate == {"auc": 0.7}
    assert r.fairness[0].candidate.groups[0].tpr is None and r.fairness[0].champion is None
    assert r.thresholds.champion == 0.5 and r.raw["candidate"]["model"] == "m.refitm"


def _typed(report, **more):
    """The EvaluationReport an evaluator with typed details sends for ``report`` (the JSON document)."""
    from google.protobuf import json_format

    from refit_client.pb import common_pb2, evaluator_pb2, report_pb2

    details = json_format.ParseDict(report, report_pb2.EvaluationDetails(), ignore_unknown_fields=True)
    return evaluator_pb2.EvaluationReport(run_id=report["runId"], pipeline=report["pipeline"], verdict=common_pb2.VERDICT_PASS,
                                          rows_test=report["rowsTest"], reasons=["pass: auc not worse"], details=details, **more)


def test_the_typed_details_give_the_same_report_as_its_json():
    from refit_client.pb import evaluator_pb2

    # An evaluator that predates `details` sends the JSON document only.
    from_json = EvaluationReport.from_proto(evaluator_pb2.EvaluationReport(run_id="r-1", pipeline="p", verdict=1, rows_test=317, reasons=["pass: auc not worse"],
                                                                         report_json=json.dumps(REPORT)))
    typed = EvaluationReport.from_proto(_typed(REPORT))
    assert typed == from_json
    assert typed.raw["candidate"]["model"] == "m.refitm"
    # With report_json still sent, raw is the stored document itself.
    assert EvaluationReport.from_proto(_typed(REPORT, report_json=json.dumps(REPORT))).raw == REPORT


def test_typed_numbers_the_evaluator_left_undefined_are_none_or_nan():
    import math

    report = {**REPORT, "comparisons": [{"evidence": {"metric": "netValue", "test": "better", "margin": 0, "n": 12, "method": "not enough data"}}],
              "backtest": {"column": "date", "days": 91, "minRows": 30, "metric": "auc", "margin": 0, "compared": True,
                           "windows": [{"from": "2015-01-01", "to": "2015-03-31", "rows": 10, "excluded": 0, "judged": False}], "missing": "no history"},
              "holdout": {"column": "date", "lastDays": 30, "from": "", "to": "", "n": 0}}
    r = EvaluationReport.from_proto(_typed(report))
    e = r.comparisons[0].evidence
    assert math.isnan(e.candidate) and math.isnan(e.gain) and e.p_value is None and e.interval is None
    w = r.backtest.windows[0]
    assert (w.start, w.judged, w.candidate, w.comparison, w.not_worse, r.backtest.missing) == ("2015-01-01", False, None, None, None, "no history")
    assert (r.holdout.n, r.holdout.candidate, r.holdout.comparison) == (0, None, None)
    assert r.left_out is None and r.consistency is None and r.thresholds.candidate == 0.5


def test_a_rollout_analysis_keeps_undefined_numbers_as_none():
    a = StepAnalysis.from_json('{"gain":null,"test":"none","lower":null,"upper":null,"metric":"accuracy","paired":false,'
                               '"reason":"too little feedback","outcome":"inconclusive","champion":null,"candidate":null,"nChampion":0,"nCandidate":0}')
    assert (a.outcome, a.gain, a.candidate, a.n_candidate, a.operational) == ("inconclusive", None, None, 0, None)
    assert StepAnalysis.from_json("") is None


ANALYSIS = {
    "outcome": "inconclusive", "reason": "inconclusive: costPer1000 …", "metric": "costPer1000", "paired": True, "candidate": 41.5, "champion": None,
    "nCandidate": 180, "nChampion": 180, "gain": 3.25, "lower": -1.5, "upper": 8.0, "test": "paired-bootstrap", "pWorse": 0.12, "divergence": 0.07,
    "operational": {"predictions": 1200, "errors": 3, "latencyMs": 0.42, "championLatencyMs": None, "divergence": 0.07},
}


def test_a_rollout_reads_the_typed_analysis_and_the_json_of_an_older_deployer_alike():
    from google.protobuf import json_format

    from refit_client import Rollout
    from refit_client.pb import deployer_pb2

    # The typed message as the deployer fills it: the JSON's keys are its JSON names, null is unset.
    typed = json_format.ParseDict(ANALYSIS, deployer_pb2.StepAnalysis())
    assert not typed.HasField("champion") and not typed.operational.HasField("champion_latency_ms")
    text = json.dumps(ANALYSIS)
    new = deployer_pb2.Rollout(pipeline="p", last_analysis_json=text, last_analysis=typed,
                               history=[deployer_pb2.RolloutStep(step=0, analysis_json=text, analysis=typed), deployer_pb2.RolloutStep(step=1)])
    old = deployer_pb2.Rollout(pipeline="p", last_analysis_json=text, history=[deployer_pb2.RolloutStep(step=0, analysis_json=text), deployer_pb2.RolloutStep(step=1)])
    # The typed field wins over a JSON field that says otherwise.
    only_typed = deployer_pb2.Rollout(pipeline="p", last_analysis_json='{"outcome": "stale"}', last_analysis=typed)
    a, b, c = Rollout.from_proto(new), Rollout.from_proto(old), Rollout.from_proto(only_typed)
    assert a == b and c.last_analysis == a.last_analysis
    x = a.last_analysis
    assert (x.metric, x.paired, x.candidate, x.champion, x.n_candidate, x.gain, x.lower, x.upper, x.test, x.p_worse, x.divergence) == (
        "costPer1000", True, 41.5, None, 180, 3.25, -1.5, 8.0, "paired-bootstrap", 0.12, 0.07)
    assert (x.operational.predictions, x.operational.errors, x.operational.latency_ms, x.operational.champion_latency_ms) == (1200, 3, 0.42, None)
    assert a.history[0].analysis == x and a.history[1].analysis is None
    assert Rollout.from_proto(deployer_pb2.Rollout(pipeline="p")).last_analysis is None


def test_a_failed_call_is_a_refit_error_with_its_status():
    class Failed(grpc.RpcError):
        def code(self):
            return grpc.StatusCode.NOT_FOUND

        def details(self):
            return "no run r-x"

        def trailing_metadata(self):
            return (("refit-error-details-bin", b'{"runId":"r-x"}'),)

    e = from_rpc_error(Failed(), "/refit.trigger.v1.TriggerService/GetRun")
    assert isinstance(e, RefitError) and e.is_not_found and e.code_name == "NOT_FOUND"
    assert e.message == "no run r-x" and e.details == {"runId": "r-x"}
    assert str(e) == "NOT_FOUND (/refit.trigger.v1.TriggerService/GetRun): no run r-x"


def _standard_status(code, message, details):
    """A google.rpc.Status serialized the way a service sends it in grpc-status-details-bin."""
    from refit_client._proto.google.rpc import status_pb2

    status = status_pb2.Status(code=code, message=message)
    for d in details:
        status.details.add().Pack(d)
    return status.SerializeToString()


class _Failed(grpc.RpcError):
    def __init__(self, code, message, trailers):
        self._code, self._message, self._trailers = code, message, trailers

    def code(self):
        return self._code

    def details(self):
        return self._message

    def trailing_metadata(self):
        return self._trailers


def test_a_failed_call_reads_the_standard_google_rpc_status():
    from google.protobuf import duration_pb2

    from refit_client._proto.google.rpc import error_details_pb2 as ed

    info = ed.ErrorInfo(reason="INVALID_INPUT", domain="refit.dev", metadata={"service": "deployer", "row": "1"})
    bad = ed.BadRequest(field_violations=[ed.BadRequest.FieldViolation(field="rows[1].wind", description="a struct is no feature value")])
    raw = _standard_status(3, "row 1: column \"wind\" is a struct", [info, bad])
    # The type URLs and field numbers are googleapis': another googleapis decoder reads the same bytes.
    from google.protobuf import any_pb2
    assert [a.type_url for a in _parse_any_list(raw, any_pb2)] == ["type.googleapis.com/google.rpc.ErrorInfo", "type.googleapis.com/google.rpc.BadRequest"]

    e = from_rpc_error(_Failed(grpc.StatusCode.INVALID_ARGUMENT, "row 1: column \"wind\" is a struct",
                               (("grpc-status-details-bin", raw), ("refit-error-details-bin", b'{"row":1,"column":"wind"}'))), "/refit.deployer.v1.DeployerService/Predict")
    assert e.is_invalid_argument and e.reason == "INVALID_INPUT" and e.domain == "refit.dev"
    assert e.error_metadata == {"service": "deployer", "row": "1"}
    assert e.field_violations == [FieldViolation("rows[1].wind", "a struct is no feature value")]
    assert e.field_violations[0].field == "rows[1].wind"
    assert e.retry_delay is None and e.details == {"row": 1, "column": "wind"}

    retry = ed.RetryInfo(retry_delay=duration_pb2.Duration(seconds=1, nanos=500_000_000))
    down = from_rpc_error(_Failed(grpc.StatusCode.UNAVAILABLE, "db down",
                                  (("grpc-status-details-bin", _standard_status(14, "db down", [ed.ErrorInfo(reason="UNAVAILABLE", domain="refit.dev"), retry])),)))
    assert down.is_unavailable and down.reason == "UNAVAILABLE" and down.retry_delay == 1.5 and down.field_violations == []


def _parse_any_list(raw, any_pb2):
    """The Any messages of a serialized Status, read field by field (field 3, length-delimited), with no google.rpc code."""
    from google.protobuf.internal import decoder

    out, pos = [], 0
    while pos < len(raw):
        tag, pos = decoder._DecodeVarint(raw, pos)
        if tag & 7 == 0:
            _, pos = decoder._DecodeVarint(raw, pos)
            continue
        size, pos = decoder._DecodeVarint(raw, pos)
        if tag >> 3 == 3:
            out.append(any_pb2.Any.FromString(raw[pos:pos + size]))
        pos += size
    return out


def test_without_the_standard_trailer_the_legacy_details_still_count():
    e = from_rpc_error(_Failed(grpc.StatusCode.INVALID_ARGUMENT, "limit too big", (("refit-error-details-bin", b'{"field":"limit"}'),)))
    assert e.status is None and e.reason == "" and e.retry_delay is None
    assert e.field_violations == [FieldViolation("limit", "limit too big")]
    assert from_rpc_error(_Failed(grpc.StatusCode.INVALID_ARGUMENT, "x", (("grpc-status-details-bin", b"\xff\xff"),))).status is None


def test_an_unreachable_service_is_unavailable():
    with Client({s: "127.0.0.1:1" for s in ["trigger"]}, timeout=2) as c:
        with pytest.raises(RefitError) as e:
            c.run("r-nothing")
    assert e.value.is_unavailable
