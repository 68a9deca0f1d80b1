"""The client against a real Refit stack: push the Seattle weather, trigger, wait, read the
evaluation with typed fields and compare them with what the TypeScript CLI prints (``--json``),
read the run's feature statistics and fitted transform (typed = their JSON), then New York data (a
location shift) retrains into a canary rollout, 1,000 rows are predicted and their labels sent
back, the rollout's typed analysis counts them and equals the CLI's, and so do the trigger
decisions with their typed evidence.

The tests run in order and share the pipeline; each waits for what it needs with a deadline.
"""
import csv
import json
import os
import subprocess
import time
import uuid
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import pytest

from google.protobuf import json_format

from refit_client import EvaluationReport, FittedTransform, RefitError, Rollout, SnapshotStats, TriggerExplanation
from refit_client.pb import feature_pb2, trigger_pb2

REPO = Path(__file__).resolve().parents[3]
PIPELINE = os.environ.get("REFIT_PY_PIPELINE", "rain-python")
# The candidate of the second run goes out as a canary at 50 %, held there: it needs more labels
# than the test sends, and an inconclusive step holds.
ROLLOUT = "rollout: { strategy: canary, steps: [50, 100], minLabeled: 5000, metric: accuracy, margin: 0.2, holdMinutes: 60, onInconclusive: hold }\n"
# A volume policy that never fires: each push is a decision with typed evidence (rows since the last
# run, its training rows and their share) and thresholds.
VOLUME = "  - { kind: volume, minRows: 10000000 }\n"
RUN_TIMEOUT_S = 240
state = {}


def eventually(check, timeout=60.0, every=0.25, what="the condition"):
    """Calls ``check`` until it returns a truthy value; fails with its last answer at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"{what} did not hold within {timeout:g} s (last: {last!r})")


def iso(v):
    """A UTC time (the client's naive datetimes) as JavaScript's toISOString writes it."""
    if isinstance(v, datetime):
        return v.isoformat(timespec="milliseconds") + "Z"
    return str(v)


def cli_json(*args):
    """What the TypeScript CLI prints as JSON for a command, against the same stack."""
    node = os.environ.get("REFIT_NODE", "node")
    out = subprocess.run([node, str(REPO / "cli" / "bin" / "refit.js"), *args, "--json"], cwd=REPO, env=os.environ,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, f"refit {' '.join(args)} failed ({out.returncode}): {out.stderr}"
    return json.loads(out.stdout)


def volume_decided(client, rows):
    """Waits for the volume policy's decision on a pushed batch. (Triggering while the trigger
    service still decides on the batch can deadlock it: the batch's consumer locks the pipeline's
    state row and then takes the pipeline's decision lock, a manual trigger takes them the other
    way round; that is the trigger service's to fix, not this test's to hit by chance.)"""
    return eventually(lambda: [d for d in client.decisions(PIPELINE, limit=20) if d.policy == "volume" and d.measured.rows_since_run == rows],
                      timeout=60, what=f"the volume decision on {rows} new rows")


def weather_slice(src, out, location, years):
    with open(src, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["location"] == location and int(r["date"][:4]) in years]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return rows


def assert_same_report(py: EvaluationReport, cli: dict):
    """The typed report equals the CLI's ``eval show --json``, field by field."""
    assert (py.run_id, py.pipeline, py.verdict, py.rows_test) == (cli["runId"], cli["pipeline"], cli["verdict"], cli["rowsTest"])
    assert [(g.gate, g.outcome, g.passed, g.reason) for g in py.gates] == [(g["gate"], g["outcome"], g["passed"], g["reason"]) for g in cli["gates"]]
    assert py.candidate == cli["candidate"]["metrics"]
    assert (py.champion.version, py.champion.metrics) == (cli["champion"]["version"], cli["champion"]["metrics"]) if cli["champion"] else py.champion is None
    assert len(py.comparisons) == len(cli["comparisons"])
    for c, j in zip(py.comparisons, cli["comparisons"]):
        e, x = c.evidence, j["evidence"]
        assert (e.metric, e.test, e.margin, e.n, e.candidate, e.champion, e.gain, e.p_value, e.method) == (
            x["metric"], x["test"], x["margin"], x["n"], x["candidate"], x["champion"], x["gain"], x["pValue"], x["method"])
        assert (e.interval.lower, e.interval.upper, e.interval.confidence) == (x["interval"]["lower"], x["interval"]["upper"], x["interval"]["confidence"])
    assert [(s.column, s.value, s.n) for s in py.slices] == [(s["column"], str(s["value"]), s["n"]) for s in cli["slices"]]
    assert [f.sensitive for f in py.fairness] == [f["sensitive"] for f in cli["fairness"]]
    assert (py.left_out is None, py.holdout is None, py.backtest is None, py.consistency is None) == (
        cli["leftOut"] is None, cli["holdout"] is None, cli["backtest"] is None, cli["consistency"] is None)
    assert (py.thresholds.candidate, py.thresholds.champion) == (cli["thresholds"]["candidate"], cli["thresholds"].get("champion"))
    assert py.raw == cli


def analysis_as_cli(a):
    """A typed analysis as the CLI prints the message (protobuf JSON: int64 as strings, unset numbers left out)."""
    if a is None:
        return None
    out = {"outcome": a.outcome, "reason": a.reason, "metric": a.metric, "paired": a.paired, "nCandidate": str(a.n_candidate),
           "nChampion": str(a.n_champion), "test": a.test}
    for key, v in (("candidate", a.candidate), ("champion", a.champion), ("gain", a.gain), ("lower", a.lower), ("upper", a.upper),
                   ("pWorse", a.p_worse), ("divergence", a.divergence)):
        if v is not None:
            out[key] = v
    o = a.operational
    if o is not None:
        out["operational"] = {"predictions": str(o.predictions), "errors": str(o.errors),
                              **{k: v for k, v in (("latencyMs", o.latency_ms), ("championLatencyMs", o.champion_latency_ms), ("divergence", o.divergence)) if v is not None}}
    return out


def rollout_as_cli(r: Rollout) -> dict:
    """The typed rollout in the CLI's JSON shape (``refit rollout status --json``: protobuf JSON)."""
    return {
        "pipeline": r.pipeline, "strategy": r.strategy, "candidateVersion": r.candidate_version, "championVersion": r.champion_version,
        "runId": r.run_id, "status": r.status, "step": r.step, "weight": r.weight, "steps": r.steps, "startedAtMs": str(r.started_at_ms),
        "stepStartedAtMs": str(r.step_started_at_ms), "lastOutcome": r.last_outcome, "lastReason": r.last_reason,
        "lastAnalysis": analysis_as_cli(r.last_analysis),
        "history": [{"step": h.step, "weight": h.weight, "startedAtMs": str(h.started_at_ms), "endedAtMs": str(h.ended_at_ms), "outcome": h.outcome,
                     "reason": h.reason, "analysis": analysis_as_cli(h.analysis)} for h in r.history],
    }


def cli_rollout(pipeline):
    """``refit rollout status --json``, its typed analyses as they are (the JSON copies, kept for one release, left out)."""
    j = cli_json("rollout", "status", pipeline)
    j.pop("lastAnalysisJson")
    j["lastAnalysis"] = j.get("lastAnalysis")
    for h in j["history"]:
        h.pop("analysisJson")
        h["analysis"] = h.get("analysis")
    return j


def test_push_the_seattle_weather_trigger_and_wait(client, weather_csv, tmp_path):
    spec = (REPO / "examples" / "weather-rain.yaml").read_text().replace("name: weather-rain", f"name: {PIPELINE}").replace("  - kind: manual\n", "  - kind: manual\n" + VOLUME) + ROLLOUT
    applied = client.apply_pipeline(spec)
    assert (applied.name, applied.version) == (PIPELINE, 1)
    seattle = weather_slice(weather_csv, tmp_path / "seattle-2012-2013.csv", "Seattle", {2012, 2013})
    batch = client.push_data(PIPELINE, tmp_path / "seattle-2012-2013.csv")
    assert (batch.status, batch.rows_total, batch.rows_accepted, batch.rows_quarantined) == ("accepted", len(seattle), len(seattle), 0)
    volume_decided(client, batch.rows_accepted)

    run_id = client.trigger(PIPELINE, reason="python client: first data")
    stages = []
    run = client.wait(run_id, timeout=RUN_TIMEOUT_S, on_stage=lambda s: stages.append(s.stage))
    assert (run.status, run.outcome, run.model_version) == ("succeeded", "promoted", "v1"), run.failure_reason
    assert stages == [s.stage for s in run.stages] and "evaluator" in stages
    state["first"] = run


def test_the_first_evaluation_is_typed_and_equals_the_cli(client):
    run = state["first"]
    report = client.evaluation(run)
    assert report.verdict == "pass" and report.champion is None and report.rows_test > 100
    assert {g.gate for g in report.gates} >= {"floor:accuracy", "floor:auc"}
    assert report.candidate["accuracy"] >= 0.6 and report.reasons == run.decision_reasons
    assert report.candidate == run.candidate_metrics
    assert_same_report(report, cli_json("eval", "show", run.run_id))


def test_the_feature_stats_and_the_fitted_transform_are_typed_and_equal_their_json(client):
    run = state["first"]
    stats = client.stats(run)
    assert (stats.run_id, stats.pipeline) == (run.run_id, PIPELINE) and stats.rows > 100
    assert {"temp_max", "temp_min", "wind"} <= {c.name for c in stats.columns}
    t = stats.column("temp_max")
    assert t.kind == "numeric" and t.min <= t.quantiles["p50"] <= t.max and sum(t.histogram.counts) == t.count - t.missing
    # The same answer read as a feature service of the previous release sends it: the JSON only.
    raw = client._call(client.feature_stub.GetStats, feature_pb2.GetStatsRequest(run_id=run.run_id))
    assert raw.HasField("stats_details")
    raw.ClearField("stats_details")
    assert SnapshotStats.from_response(raw) == stats

    transform = client.transform(run)
    assert [f.name for f in transform.features] == ["temp_max", "temp_min", "wind"] and transform.fitted_on_rows > 100
    assert len(transform.output_names) >= 3 and all(f.kind for f in transform.features)
    raw = client._call(client.feature_stub.GetTransform, feature_pb2.GetTransformRequest(run_id=run.run_id))
    assert raw.HasField("transform_details")
    raw.ClearField("transform_details")
    assert FittedTransform.from_response(raw) == transform


def test_new_york_data_retrains_into_a_canary_with_a_compared_evaluation(client, weather_csv, tmp_path):
    weather_slice(weather_csv, tmp_path / "new-york-2012-2014.csv", "New York", {2012, 2013, 2014})
    batch = client.push_data(PIPELINE, tmp_path / "new-york-2012-2014.csv")
    assert batch.status in ("accepted", "flagged") and batch.rows_quarantined == 0
    volume_decided(client, batch.rows_accepted)
    run_id = client.trigger(PIPELINE, reason="python client: a location shift")

    def canary():
        try:
            r = client.rollout(PIPELINE)
        except RefitError as e:
            assert e.is_not_found, e
            r = None
        run = client.run(run_id)
        assert run.status == "running", f"run {run_id} ended before its canary: {run.failed_stage} {run.failure_reason}"
        return r if r and r.status == "active" and r.run_id == run_id else None

    rollout = eventually(canary, timeout=RUN_TIMEOUT_S, what=f"run {run_id}'s canary to be active")
    assert (rollout.strategy, rollout.candidate_version, rollout.champion_version, rollout.weight, rollout.steps) == ("canary", "v2", "v1", 50, [50, 100])
    report = client.evaluation(run_id)
    assert report.champion_version == "v1" and len(report.comparisons) == 2
    assert {c.evidence.metric for c in report.comparisons} == {"auc", "logLoss"}
    assert all(c.evidence.p_value is not None and c.evidence.interval is not None for c in report.comparisons)
    assert_same_report(report, cli_json("eval", "show", run_id))
    state["second"] = run_id


def test_the_training_drift_report_is_typed(client):
    reports = [d for d in client.drift(PIPELINE, source="training") if d.run_id == state["second"]]
    assert len(reports) == 1
    d = reports[0]
    assert d.reference_run_id == state["first"].run_id and d.source == "training"
    assert {c.column for c in d.columns} == {"temp_max", "temp_min", "wind"}
    for c in d.columns:
        assert c.status in ("drift", "no-drift", "not-enough-data") and c.reference_size > 0 and c.current_size > 0
        assert c.histogram is not None and len(c.histogram.reference) == len(c.histogram.edges) + 1
        assert abs(sum(c.histogram.current) - 1) < 1e-9
    # The e2e test compares this with what the TypeScript client reads.
    out = os.environ.get("REFIT_PY_DRIFT_OUT")
    if out:
        Path(out).write_text(json.dumps([asdict(r) for r in reports], default=iso))


def test_predict_1000_rows_and_send_their_feedback(client, weather_csv):
    with open(weather_csv, newline="") as f:
        served = [r for r in csv.DictReader(f) if r["date"] >= "2014-06-01"][:1000]
    assert len(served) == 1000
    # DataFrame-like columns: the columnar fast path.
    columns = {k: [float(r[k]) for r in served] for k in ("temp_max", "temp_min", "wind")}
    answer = client.predict(PIPELINE, columns)
    assert len(answer) == 1000 and len(set(answer.ids)) == 1000
    assert all(0 <= p <= 1 for p in answer.probabilities)
    # Half the traffic is the canary's, by a hash of the prediction id.
    variants = {p.variant for p in answer.predictions}
    assert variants == {"champion", "canary"} and answer.candidate_version == "v2"

    # Rows as dicts, raw columns included (a missing weather is null).
    rows = [{**r, "temp_max": float(r["temp_max"]), "temp_min": float(r["temp_min"]), "wind": float(r["wind"]), "weather": None} for r in served[:3]]
    for r in rows:
        del r["precipitation"]
    by_row = client.predict(PIPELINE, rows)
    assert len(by_row) == 3 and all(p.label in (0, 1) and p.model_version in ("v1", "v2") for p in by_row.predictions)

    labels = [(pid, 1 if float(r["precipitation"]) > 0 else 0, r["precipitation"]) for pid, r in zip(answer.ids, served)]
    fb = client.feedback(PIPELINE, labels)
    assert (fb.joined, fb.unknown, fb.duplicate, fb.conflict) == (1000, [], 0, 0)
    # Labels already given are duplicates; an id the deployer never logged is unknown.
    stranger = str(uuid.uuid4())
    again = client.feedback(PIPELINE, labels[:10] + [(stranger, 1)])
    assert (again.joined, again.duplicate, again.unknown) == (0, 10, [stranger])
    state["canary_rows"] = sum(p.variant == "canary" for p in answer.predictions)


def test_the_rollout_analysis_counts_the_labels_and_equals_the_cli(client):
    def counted():
        a = client.rollout(PIPELINE).last_analysis
        return a if a and a.n_candidate + a.n_champion == 1000 else None

    a = eventually(counted, timeout=60, what="the canary step's analysis to count the 1,000 labels")
    assert (a.outcome, a.metric, a.paired) == ("inconclusive", "accuracy", False)
    assert a.n_candidate == state["canary_rows"] and 0 <= a.candidate <= 1 and 0 <= a.champion <= 1
    assert a.gain == pytest.approx(a.candidate - a.champion)
    # The deployer re-analyses the step on every tick: compare a Python read and a CLI read that
    # agree, taken back to back.
    def same():
        before = rollout_as_cli(client.rollout(PIPELINE))
        cli = cli_rollout(PIPELINE)
        return cli == before == rollout_as_cli(client.rollout(PIPELINE))
    eventually(same, timeout=90, every=0.5, what="a Python read of the rollout equal to the CLI's")


def test_the_trigger_decisions_are_typed_and_equal_the_cli(client):
    def same():
        py = client.explain_triggers(PIPELINE, limit=20)
        cli = TriggerExplanation.from_proto(json_format.ParseDict(cli_json("triggers", "explain", PIPELINE, "--limit", "20"), trigger_pb2.ExplainTriggersResponse()))
        return py if py == cli == client.explain_triggers(PIPELINE, limit=20) else None

    explained = eventually(same, timeout=60, every=0.5, what="a Python read of the trigger decisions equal to the CLI's")
    manual = [d for d in explained.decisions if d.policy == "manual"]
    assert {d.run_id for d in manual} >= {state["first"].run_id, state["second"]}
    volume = [d for d in explained.decisions if d.policy == "volume"]
    assert volume and not any(d.fired for d in volume)
    assert all(d.thresholds.min_rows == 10000000 and d.thresholds.cron is None for d in volume)
    # After the first run, a push is measured against that run's training rows.
    later = [d for d in volume if d.measured.last_run_rows]
    assert later and all(d.measured.rows_since_run > 0 and d.measured.share == pytest.approx(d.measured.rows_since_run / d.measured.last_run_rows) for d in later)


def test_promoting_the_canary_completes_the_run(client):
    r = client.promote_rollout(PIPELINE, reason="python client test")
    assert (r.status, r.candidate_version) == ("promoted", "v2")
    assert rollout_as_cli(r) == cli_rollout(PIPELINE)
    # The e2e test compares this ended rollout, as Python typed it, with `refit rollout status --json`.
    out = os.environ.get("REFIT_PY_ROLLOUT_OUT")
    if out:
        Path(out).write_text(json.dumps(rollout_as_cli(r)))
    run = client.wait(state["second"], timeout=RUN_TIMEOUT_S)
    assert (run.status, run.outcome, run.model_version) == ("succeeded", "promoted", "v2")
    answer = client.predict(PIPELINE, {"temp_max": [10.0], "temp_min": [4.0], "wind": [3.0]})
    assert answer.model_version == "v2" and answer.predictions[0].variant == "champion"


def test_errors_carry_the_status_code(client):
    with pytest.raises(RefitError) as e:
        client.evaluation("r-does-not-exist")
    assert e.value.is_not_found and "GetReport" in e.value.method
    with pytest.raises(RefitError) as e:
        client.predict("no-such-pipeline", {"temp_max": [1.0]})
    assert e.value.code_name in ("FAILED_PRECONDITION", "NOT_FOUND")
    # A pipeline without a stream source has no stream status: NOT_FOUND, saying what to do.
    with pytest.raises(RefitError) as e:
        client.stream_status("weather-rain")
    assert e.value.is_not_found and "data.source.stream" in e.value.message
