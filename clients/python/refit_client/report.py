"""The evaluator's report (``GetReport``) as dataclasses with typed fields.

They are built from the typed message ``EvaluationReport.details``
(proto/refit/evaluator/v1/report.proto), or, from an evaluator that predates it, from the JSON
document ``report_json``. The shapes mirror the evaluator's report and what ``refit eval show``
prints; field names are the report's, in snake_case (``rowsTest`` → ``rows_test``). A number the
report leaves undefined (JSON null, an unset optional field) is None. ``raw`` keeps the whole
document, so nothing the evaluator adds later is out of reach.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from google.protobuf import json_format

from refit_client.pb import common_pb2, evaluator_pb2, report_pb2

Metrics = Dict[str, float]

_VERDICT = {
    common_pb2.VERDICT_UNSPECIFIED: "unspecified",
    common_pb2.VERDICT_PASS: "pass",
    common_pb2.VERDICT_FAIL: "fail",
    common_pb2.VERDICT_INCONCLUSIVE: "inconclusive",
}


def _f(v: Any) -> Optional[float]:
    return None if v is None else float(v)


def _metrics(v: Any) -> Optional[Metrics]:
    return None if v is None else {k: float(x) for k, x in v.items() if x is not None}


def _opt(m: Any, name: str) -> Any:
    """An optional field of a message: its value, or None when unset."""
    return getattr(m, name) if m.HasField(name) else None


def _nan(m: Any, name: str) -> float:
    """An optional number the report always has but may leave undefined (NaN in the JSON): NaN when unset."""
    return getattr(m, name) if m.HasField(name) else math.nan


def _pb_metrics(m: Any) -> Metrics:
    """A metric map of the typed report; an undefined value (NaN) is left out, as JSON's null is."""
    return {k: float(v) for k, v in m.items() if not math.isnan(v)}


def _pb_metrics_or_none(m: Any) -> Optional[Metrics]:
    """A metric map the report may not have (an empty map on the wire): None then."""
    return _pb_metrics(m) if len(m) else None


@dataclass(frozen=True)
class Gate:
    """One gate: ``floor:accuracy``, ``champion:auc``, ``fairness:…``; its outcome and its sentence."""

    gate: str
    #: pass, fail or inconclusive.
    outcome: str
    passed: bool
    reason: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Gate":
        passed = bool(d.get("passed", False))
        return cls(d["gate"], d.get("outcome") or ("pass" if passed else "fail"), passed, d.get("reason", ""))

    @classmethod
    def from_pb(cls, g: report_pb2.GateResult) -> "Gate":
        return cls(g.gate, g.outcome or ("pass" if g.passed else "fail"), g.passed, g.reason)


@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float
    #: e.g. 0.95 (None where the report does not say).
    confidence: Optional[float] = None


@dataclass(frozen=True)
class Evidence:
    """The paired evidence of one comparison with the champion on the same rows. ``gain`` is
    candidate − champion oriented so that positive means the candidate is better."""

    metric: str
    #: better or not-worse.
    test: str
    margin: float
    n: int
    candidate: float
    champion: float
    gain: float
    interval: Optional[Interval]
    #: One-sided p-value of "gain ≤ −margin"; None when there were too few rows.
    p_value: Optional[float]
    method: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Evidence":
        i = d.get("interval")
        return cls(
            metric=d["metric"],
            test=d.get("test", ""),
            margin=float(d.get("margin", 0)),
            n=int(d.get("n", 0)),
            candidate=float(d["candidate"]),
            champion=float(d["champion"]),
            gain=float(d["gain"]),
            interval=Interval(float(i["lower"]), float(i["upper"]), _f(i.get("confidence"))) if i else None,
            p_value=_f(d.get("pValue")),
            method=d.get("method", ""),
        )

    @classmethod
    def from_pb(cls, e: report_pb2.ComparisonEvidence) -> "Evidence":
        i = e.interval
        return cls(
            metric=e.metric,
            test=e.test,
            margin=e.margin,
            n=e.n,
            candidate=_nan(e, "candidate"),
            champion=_nan(e, "champion"),
            gain=_nan(e, "gain"),
            interval=Interval(i.lower, i.upper, _opt(i, "confidence")) if e.HasField("interval") else None,
            p_value=_opt(e, "p_value"),
            method=e.method,
        )

    @classmethod
    def from_pb_or_none(cls, m: Any, name: str) -> Optional["Evidence"]:
        return cls.from_pb(getattr(m, name)) if m.HasField(name) else None


@dataclass(frozen=True)
class Comparison:
    """A comparison with the champion, over all test rows or in one slice (``slice``: column, value)."""

    evidence: Evidence
    slice: Optional[Dict[str, str]] = None


@dataclass(frozen=True)
class Champion:
    version: str
    metrics: Metrics


@dataclass(frozen=True)
class LeftOut:
    """Test rows left out because the champion trained or early-stopped on them."""

    rows: int
    of: int
    reason: str


@dataclass(frozen=True)
class Slice:
    """Metrics of both models in one slice of the test rows."""

    column: str
    value: str
    n: int
    below_min_size: bool
    candidate: Metrics
    champion: Optional[Metrics]


@dataclass(frozen=True)
class FairnessGroup:
    group: str
    n: int
    selection_rate: Optional[float]
    tpr: Optional[float]
    fpr: Optional[float]
    below_min_size: bool


@dataclass(frozen=True)
class FairnessScores:
    """One model's group rates and disparities (Fairlearn's definitions)."""

    groups: List[FairnessGroup]
    demographic_parity_difference: Optional[float]
    demographic_parity_ratio: Optional[float]
    equalized_odds_difference: Optional[float]
    equalized_odds_ratio: Optional[float]
    equal_opportunity_difference: Optional[float]
    excluded_groups: List[str]

    @classmethod
    def from_dict(cls, d: Optional[Mapping[str, Any]]) -> Optional["FairnessScores"]:
        if d is None:
            return None
        return cls(
            groups=[
                FairnessGroup(g["group"], int(g["n"]), _f(g.get("selectionRate")), _f(g.get("tpr")), _f(g.get("fpr")), bool(g.get("belowMinSize", False)))
                for g in d.get("groups", [])
            ],
            demographic_parity_difference=_f(d.get("demographicParityDifference")),
            demographic_parity_ratio=_f(d.get("demographicParityRatio")),
            equalized_odds_difference=_f(d.get("equalizedOddsDifference")),
            equalized_odds_ratio=_f(d.get("equalizedOddsRatio")),
            equal_opportunity_difference=_f(d.get("equalOpportunityDifference")),
            excluded_groups=list(d.get("excludedGroups", [])),
        )

    @classmethod
    def from_pb(cls, m: Any, name: str) -> Optional["FairnessScores"]:
        if not m.HasField(name):
            return None
        f: report_pb2.FairnessReport = getattr(m, name)
        return cls(
            groups=[
                FairnessGroup(g.group, g.n, _opt(g, "selection_rate"), _opt(g, "tpr"), _opt(g, "fpr"), g.below_min_size)
                for g in f.groups
            ],
            demographic_parity_difference=_opt(f, "demographic_parity_difference"),
            demographic_parity_ratio=_opt(f, "demographic_parity_ratio"),
            equalized_odds_difference=_opt(f, "equalized_odds_difference"),
            equalized_odds_ratio=_opt(f, "equalized_odds_ratio"),
            equal_opportunity_difference=_opt(f, "equal_opportunity_difference"),
            excluded_groups=list(f.excluded_groups),
        )


@dataclass(frozen=True)
class Fairness:
    """Group fairness by one sensitive column (or intersection), for both models."""

    sensitive: str
    candidate: FairnessScores
    champion: Optional[FairnessScores]


@dataclass(frozen=True)
class Holdout:
    """Both models on the recent-window holdout."""

    column: str
    last_days: int
    start: str
    end: str
    n: int
    candidate: Optional[Metrics]
    champion: Optional[Metrics]
    comparison: Optional[Evidence]


@dataclass(frozen=True)
class ConsistencyGroup:
    sensitive: str
    group: str
    n: int
    score: Optional[float]
    probability_score: Optional[float]
    below_min_size: bool


@dataclass(frozen=True)
class ConsistencyScores:
    score: float
    probability_score: float
    queries: int
    sampled: bool
    groups: List[ConsistencyGroup]

    @classmethod
    def from_dict(cls, d: Optional[Mapping[str, Any]]) -> Optional["ConsistencyScores"]:
        if d is None:
            return None
        return cls(
            float(d["score"]),
            float(d["probabilityScore"]),
            int(d.get("queries", 0)),
            bool(d.get("sampled", False)),
            [
                ConsistencyGroup(g["sensitive"], g["group"], int(g["n"]), _f(g.get("score")), _f(g.get("probabilityScore")), bool(g.get("belowMinSize", False)))
                for g in d.get("groups", [])
            ],
        )

    @classmethod
    def from_pb(cls, m: Any, name: str) -> Optional["ConsistencyScores"]:
        if not m.HasField(name):
            return None
        c: report_pb2.ConsistencyReport = getattr(m, name)
        return cls(
            c.score,
            c.probability_score,
            c.queries,
            c.sampled,
            [ConsistencyGroup(g.sensitive, g.group, g.n, _opt(g, "score"), _opt(g, "probability_score"), g.below_min_size) for g in c.groups],
        )


@dataclass(frozen=True)
class Consistency:
    """Individual fairness: how alike each model treats similar rows (k nearest neighbours)."""

    k: int
    exclude: List[str]
    dropped: List[str]
    dimensions: int
    candidate: ConsistencyScores
    champion: Optional[ConsistencyScores]


@dataclass(frozen=True)
class BacktestWindow:
    start: str
    end: str
    rows: int
    excluded: int
    judged: bool
    candidate: Optional[Metrics]
    champion: Optional[Metrics]
    comparison: Optional[Evidence]
    not_worse: Optional[bool]


@dataclass(frozen=True)
class Backtest:
    """Both models on past windows of the history (``evaluation.backtest``)."""

    column: str
    days: int
    min_rows: int
    metric: str
    margin: float
    windows: List[BacktestWindow]
    pooled: Optional[Evidence]
    #: Why there is no backtest, when there is none.
    missing: Optional[str]


@dataclass(frozen=True)
class Thresholds:
    """The decision threshold each model was judged at."""

    candidate: float
    champion: Optional[float]


@dataclass(frozen=True)
class EvaluationReport:
    """A run's evaluation: the candidate and the champion on the same test rows, gates, verdict."""

    run_id: str
    pipeline: str
    #: pass, fail or inconclusive.
    verdict: str
    #: One sentence per gate (and notes), as the run records them.
    reasons: List[str]
    rows_test: int
    gates: List[Gate]
    candidate: Metrics
    #: The candidate's stored model object.
    candidate_model: str
    champion: Optional[Champion]
    left_out: Optional[LeftOut]
    comparisons: List[Comparison]
    slices: List[Slice]
    fairness: List[Fairness]
    holdout: Optional[Holdout]
    consistency: Optional[Consistency]
    backtest: Optional[Backtest]
    thresholds: Optional[Thresholds]
    #: The whole report as the evaluator stored it (curves, the spec's gates…).
    raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def champion_version(self) -> str:
        return self.champion.version if self.champion else ""

    @property
    def curves(self) -> Optional[Dict[str, Any]]:
        """ROC, precision-recall and calibration points of both models (absent for a regression head)."""
        return self.raw.get("curves")

    @classmethod
    def from_proto(cls, r: evaluator_pb2.EvaluationReport) -> "EvaluationReport":
        """The typed ``details`` when the evaluator sends them, else the JSON document ``report_json``."""
        if r.HasField("details"):
            raw = json.loads(r.report_json) if r.report_json else json_format.MessageToDict(r.details)
            return cls.from_details(r, r.details, raw)
        rep = cls.from_json(r.report_json or "{}")
        return cls(**{**rep.__dict__, "reasons": list(r.reasons), "verdict": rep.verdict or _VERDICT.get(r.verdict, ""), "run_id": rep.run_id or r.run_id, "pipeline": rep.pipeline or r.pipeline})

    @classmethod
    def from_details(cls, r: evaluator_pb2.EvaluationReport, d: report_pb2.EvaluationDetails, raw: Optional[Dict[str, Any]] = None) -> "EvaluationReport":
        """Builds the report from the typed message (``r`` gives the run, verdict, reasons and test rows)."""
        h = d.holdout
        c = d.consistency
        b = d.backtest
        t = d.thresholds
        return cls(
            run_id=r.run_id,
            pipeline=r.pipeline,
            verdict=_VERDICT.get(r.verdict, ""),
            reasons=list(r.reasons),
            rows_test=int(r.rows_test),
            gates=[Gate.from_pb(g) for g in d.gates],
            candidate=_pb_metrics(d.candidate.metrics),
            candidate_model=d.candidate.model,
            champion=Champion(d.champion.version, _pb_metrics(d.champion.metrics)) if d.HasField("champion") else None,
            left_out=LeftOut(d.left_out.rows, d.left_out.of, d.left_out.reason) if d.HasField("left_out") else None,
            comparisons=[
                Comparison(Evidence.from_pb(x.evidence), {"column": x.slice.column, "value": x.slice.value} if x.HasField("slice") else None)
                for x in d.comparisons
            ],
            slices=[Slice(s.column, s.value, s.n, s.below_min_size, _pb_metrics(s.candidate), _pb_metrics_or_none(s.champion)) for s in d.slices],
            fairness=[
                Fairness(f.sensitive, FairnessScores.from_pb(f, "candidate"), FairnessScores.from_pb(f, "champion"))  # type: ignore[arg-type]
                for f in d.fairness
            ],
            holdout=Holdout(
                h.column, h.last_days, h.from_date, h.to_date, h.n, _pb_metrics_or_none(h.candidate), _pb_metrics_or_none(h.champion),
                Evidence.from_pb_or_none(h, "comparison"),
            )
            if d.HasField("holdout")
            else None,
            consistency=Consistency(
                c.k, list(c.exclude), list(c.dropped), c.dimensions,
                ConsistencyScores.from_pb(c, "candidate"), ConsistencyScores.from_pb(c, "champion"),  # type: ignore[arg-type]
            )
            if d.HasField("consistency")
            else None,
            backtest=Backtest(
                b.column, b.days, b.min_rows, b.metric, b.margin,
                [
                    BacktestWindow(
                        w.from_date, w.to_date, w.rows, w.excluded, w.judged,
                        _pb_metrics_or_none(w.candidate), _pb_metrics_or_none(w.champion),
                        Evidence.from_pb_or_none(w, "comparison"), _opt(w, "not_worse"),
                    )
                    for w in b.windows
                ],
                Evidence.from_pb_or_none(b, "pooled"),
                _opt(b, "missing"),
            )
            if d.HasField("backtest")
            else None,
            thresholds=Thresholds(t.candidate, _opt(t, "champion")) if d.HasField("thresholds") else None,
            raw=dict(raw) if raw is not None else json_format.MessageToDict(d),
        )

    @classmethod
    def from_json(cls, text: str) -> "EvaluationReport":
        """Parses the evaluator's report JSON (``report_json``)."""
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EvaluationReport":
        champ = d.get("champion")
        left = d.get("leftOut")
        h = d.get("holdout")
        c = d.get("consistency")
        b = d.get("backtest")
        t = d.get("thresholds")
        return cls(
            run_id=d.get("runId", ""),
            pipeline=d.get("pipeline", ""),
            verdict=d.get("verdict", ""),
            reasons=[],
            rows_test=int(d.get("rowsTest", 0)),
            gates=[Gate.from_dict(g) for g in d.get("gates", [])],
            candidate=_metrics(d.get("candidate", {}).get("metrics", {})) or {},
            candidate_model=d.get("candidate", {}).get("model") or "",
            champion=Champion(champ["version"], _metrics(champ.get("metrics", {})) or {}) if champ else None,
            left_out=LeftOut(int(left["rows"]), int(left["of"]), left["reason"]) if left else None,
            comparisons=[Comparison(Evidence.from_dict(x["evidence"]), x.get("slice")) for x in d.get("comparisons", [])],
            slices=[
                Slice(s["column"], str(s["value"]), int(s["n"]), bool(s.get("belowMinSize", False)), _metrics(s.get("candidate")) or {}, _metrics(s.get("champion")))
                for s in d.get("slices", [])
            ],
            fairness=[
                Fairness(f["sensitive"], FairnessScores.from_dict(f["candidate"]), FairnessScores.from_dict(f.get("champion")))  # type: ignore[arg-type]
                for f in d.get("fairness", [])
            ],
            holdout=Holdout(
                h["column"], int(h["lastDays"]), h["from"], h["to"], int(h["n"]), _metrics(h.get("candidate")), _metrics(h.get("champion")),
                Evidence.from_dict(h["comparison"]) if h.get("comparison") else None,
            )
            if h
            else None,
            consistency=Consistency(
                int(c["k"]), list(c.get("exclude", [])), list(c.get("dropped", [])), int(c.get("dimensions", 0)),
                ConsistencyScores.from_dict(c["candidate"]), ConsistencyScores.from_dict(c.get("champion")),  # type: ignore[arg-type]
            )
            if c
            else None,
            backtest=Backtest(
                b["column"], int(b["days"]), int(b["minRows"]), b["metric"], float(b["margin"]),
                [
                    BacktestWindow(
                        w["from"], w["to"], int(w["rows"]), int(w.get("excluded", 0)), bool(w.get("judged", False)),
                        _metrics(w.get("candidate")), _metrics(w.get("champion")),
                        Evidence.from_dict(w["comparison"]) if w.get("comparison") else None, w.get("notWorse"),
                    )
                    for w in b.get("windows", [])
                ],
                Evidence.from_dict(b["pooled"]) if b.get("pooled") else None,
                b.get("missing"),
            )
            if b
            else None,
            thresholds=Thresholds(float(t["candidate"]), _f(t.get("champion"))) if t else None,
            raw=dict(d),
        )
