"""What the client does without a stack: addresses, credentials, parsing the typed reports."""
import json

import grpc
import pytest

from refit_client import Client, EvaluationReport, RefitError, StepAnalysis
from refit_client.credentials import addresses_for, credentials_from_env
from refit_client.errors import from_rpc_error

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


def test_a_rollout_analysis_keeps_undefined_numbers_as_none():
    a = StepAnalysis.from_json('{"gain":null,"test":"none","lower":null,"upper":null,"metric":"accuracy","paired":false,'
                               '"reason":"too little feedback","outcome":"inconclusive","champion":null,"candidate":null,"nChampion":0,"nCandidate":0}')
    assert (a.outcome, a.gain, a.candidate, a.n_candidate, a.operational) == ("inconclusive", None, None, 0, None)
    assert StepAnalysis.from_json("") is None


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


def test_an_unreachable_service_is_unavailable():
    with Client({s: "127.0.0.1:1" for s in ["trigger"]}, timeout=2) as c:
        with pytest.raises(RefitError) as e:
            c.run("r-nothing")
    assert e.value.is_unavailable
