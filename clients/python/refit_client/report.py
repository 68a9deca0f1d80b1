"""The evaluator's report (``GetReport``: ``report_json``) as dataclasses with typed fields.

The shapes mirror the evaluator's report (services/evaluator: ``evaluateRun``) and what ``refit eval
show`` prints; field names are the report's, in snake_case (``rowsTest`` → ``rows_test``). A
number the report leaves undefined (JSON null) is None. ``raw`` keeps the whole parsed document,
so nothing the evaluator adds later is out of reach.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from refit_client.pb import common_pb2, evaluator_pb2

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
        rep = cls.from_json(r.report_json or "{}")
        return cls(**{**rep.__dict__, "reasons": list(r.reasons), "verdict": rep.verdict or _VERDICT.get(r.verdict, ""), "run_id": rep.run_id or r.run_id, "pipeline": rep.pipeline or r.pipeline})

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
