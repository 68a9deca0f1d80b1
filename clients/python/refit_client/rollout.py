"""A pipeline's progressive rollout (``DeployerService.GetRollout``) with its analyses typed."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional

from refit_client.pb import deployer_pb2


def _num(v: Any) -> Optional[float]:
    # The deployer writes NaN (an undefined metric) as JSON null.
    return None if v is None else float(v)


def _opt(m: Any, field: str) -> Optional[float]:
    # An ``optional double`` of the typed message: unset where the number is undefined.
    return getattr(m, field) if m.HasField(field) else None


@dataclass(frozen=True)
class Operational:
    """The candidate's operational numbers in a step (when the rollout has guardrails)."""

    predictions: int
    errors: int
    latency_ms: Optional[float]
    champion_latency_ms: Optional[float]
    divergence: Optional[float]

    @classmethod
    def from_proto(cls, o: deployer_pb2.RolloutOperational) -> "Operational":
        return cls(int(o.predictions), int(o.errors), _opt(o, "latency_ms"), _opt(o, "champion_latency_ms"), _opt(o, "divergence"))


@dataclass(frozen=True)
class StepAnalysis:
    """A step's analysis: each side's metric on the step's own traffic, the gain and its bounds."""

    #: pass, fail or inconclusive.
    outcome: str
    reason: str
    metric: str
    #: Both models judged on the same rows (shadow, the last canary step).
    paired: bool
    #: Each side's metric (None where it is undefined: no rows, AUC of one class).
    candidate: Optional[float]
    champion: Optional[float]
    n_candidate: int
    n_champion: int
    #: Candidate minus champion, oriented so that higher is better, with one-sided bounds.
    gain: Optional[float]
    lower: Optional[float]
    upper: Optional[float]
    #: The test behind the bounds (paired-bootstrap, proportion-z, delong…).
    test: str
    p_worse: Optional[float]
    divergence: Optional[float]
    operational: Optional[Operational]

    @classmethod
    def from_proto(cls, a: deployer_pb2.StepAnalysis) -> "StepAnalysis":
        """The typed ``StepAnalysis`` message (``Rollout.last_analysis``, ``RolloutStep.analysis``)."""
        return cls(
            outcome=a.outcome,
            reason=a.reason,
            metric=a.metric,
            paired=a.paired,
            candidate=_opt(a, "candidate"),
            champion=_opt(a, "champion"),
            n_candidate=int(a.n_candidate),
            n_champion=int(a.n_champion),
            gain=_opt(a, "gain"),
            lower=_opt(a, "lower"),
            upper=_opt(a, "upper"),
            test=a.test,
            p_worse=_opt(a, "p_worse"),
            divergence=_opt(a, "divergence"),
            operational=Operational.from_proto(a.operational) if a.HasField("operational") else None,
        )

    @classmethod
    def of(cls, m: Any, field: str, json_field: str) -> Optional["StepAnalysis"]:
        """The analysis in message ``m``: its typed field when set, else (a deployer of the release
        before the typed field) its JSON field; None when it has neither."""
        return cls.from_proto(getattr(m, field)) if m.HasField(field) else cls.from_json(getattr(m, json_field))

    @classmethod
    def from_json(cls, text: str) -> Optional["StepAnalysis"]:
        """The analysis in a ``*_analysis_json`` field (None when the field is empty)."""
        if not text:
            return None
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, a: Mapping[str, Any]) -> "StepAnalysis":
        o = a.get("operational")
        return cls(
            outcome=a["outcome"],
            reason=a["reason"],
            metric=a["metric"],
            paired=bool(a.get("paired", False)),
            candidate=_num(a.get("candidate")),
            champion=_num(a.get("champion")),
            n_candidate=int(a.get("nCandidate", 0)),
            n_champion=int(a.get("nChampion", 0)),
            gain=_num(a.get("gain")),
            lower=_num(a.get("lower")),
            upper=_num(a.get("upper")),
            test=a.get("test", ""),
            p_worse=_num(a.get("pWorse")),
            divergence=_num(a.get("divergence")),
            operational=Operational(
                int(o["predictions"]), int(o["errors"]), _num(o.get("latencyMs")), _num(o.get("championLatencyMs")), _num(o.get("divergence"))
            )
            if o
            else None,
        )


@dataclass(frozen=True)
class RolloutStep:
    """One step as it went: weight, start, end (0 while it runs), how it ended and its analysis."""

    step: int
    weight: int
    started_at_ms: int
    ended_at_ms: int
    outcome: str
    reason: str
    analysis: Optional[StepAnalysis]


@dataclass(frozen=True)
class Rollout:
    """A progressive rollout: strategy, versions, status, step and weight, the last analysis."""

    pipeline: str
    #: shadow, canary or ab.
    strategy: str
    candidate_version: str
    champion_version: str
    run_id: str
    #: active, promoted, rolled-back or aborted.
    status: str
    #: 0-based index of the current step.
    step: int
    #: The candidate's share of traffic now, percent.
    weight: int
    steps: List[int]
    started_at_ms: int
    step_started_at_ms: int
    last_outcome: str
    last_reason: str
    last_analysis: Optional[StepAnalysis]
    history: List[RolloutStep]

    @classmethod
    def from_proto(cls, r: deployer_pb2.Rollout) -> "Rollout":
        return cls(
            pipeline=r.pipeline,
            strategy=r.strategy,
            candidate_version=r.candidate_version,
            champion_version=r.champion_version,
            run_id=r.run_id,
            status=r.status,
            step=r.step,
            weight=r.weight,
            steps=list(r.steps),
            started_at_ms=r.started_at_ms,
            step_started_at_ms=r.step_started_at_ms,
            last_outcome=r.last_outcome,
            last_reason=r.last_reason,
            last_analysis=StepAnalysis.of(r, "last_analysis", "last_analysis_json"),
            history=[
                RolloutStep(h.step, h.weight, h.started_at_ms, h.ended_at_ms, h.outcome, h.reason, StepAnalysis.of(h, "analysis", "analysis_json"))
                for h in r.history
            ],
        )


__all__ = ["Operational", "Rollout", "RolloutStep", "StepAnalysis"]
