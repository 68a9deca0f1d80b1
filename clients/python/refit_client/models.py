"""Typed results of the client's calls: runs, batches, predictions, feedback."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, Optional

from refit_client.pb import deployer_pb2, ingestion_pb2, trigger_pb2

_RUN_STATUS = {
    trigger_pb2.RUN_STATUS_UNSPECIFIED: "unspecified",
    trigger_pb2.RUN_STATUS_RUNNING: "running",
    trigger_pb2.RUN_STATUS_SUCCEEDED: "succeeded",
    trigger_pb2.RUN_STATUS_FAILED: "failed",
}


def _time(ts) -> Optional[datetime]:
    return ts.ToDatetime() if ts is not None and (ts.seconds or ts.nanos) else None


@dataclass(frozen=True)
class Stage:
    """One finished stage of a run."""

    stage: str
    #: done or failed.
    status: str
    compute_ms: int
    detail: str
    event_type: str
    started_at: Optional[datetime]
    finished_at: Optional[datetime]


@dataclass(frozen=True)
class Run:
    """A retraining run as the trigger service records it."""

    run_id: str
    pipeline: str
    #: running, succeeded or failed.
    status: str
    trigger_kind: str
    reason: str
    #: promoted or rejected (empty while running).
    outcome: str
    model_version: str
    champion_version: str
    failed_stage: str
    failure_reason: str
    decision_reasons: List[str]
    candidate_metrics: Dict[str, float]
    champion_metrics: Dict[str, float]
    stages: List[Stage]
    spec_version: int
    decision_id: str
    created_at: Optional[datetime]
    updated_at: Optional[datetime]

    @property
    def done(self) -> bool:
        """The run has ended (succeeded or failed)."""
        return self.status in ("succeeded", "failed")

    @classmethod
    def from_proto(cls, r: trigger_pb2.Run) -> "Run":
        return cls(
            run_id=r.run_id,
            pipeline=r.pipeline,
            status=_RUN_STATUS.get(r.status, str(r.status)),
            trigger_kind=r.trigger_kind,
            reason=r.reason,
            outcome=r.outcome,
            model_version=r.model_version,
            champion_version=r.champion_version,
            failed_stage=r.failed_stage,
            failure_reason=r.failure_reason,
            decision_reasons=list(r.decision_reasons),
            candidate_metrics=dict(r.candidate_metrics),
            champion_metrics=dict(r.champion_metrics),
            stages=[
                Stage(s.stage, s.status, s.compute_ms, s.detail, s.event_type, _time(s.started_at), _time(s.finished_at))
                for s in r.stages
            ],
            spec_version=r.spec_version,
            decision_id=r.decision_id,
            created_at=_time(r.created_at),
            updated_at=_time(r.updated_at),
        )


@dataclass(frozen=True)
class Pipeline:
    """An applied pipeline spec version."""

    name: str
    version: int
    #: False when the spec applied was identical to the current version.
    changed: bool = True


@dataclass(frozen=True)
class TriggerOutcome:
    """What a trigger request did: ``start``, ``coalesce`` (joined the run in flight), ``queue`` or
    ``suppress``; ``run_id`` is the run started or joined (the one in flight, for ``queue``)."""

    run_id: str
    action: str
    decision_id: str
    message: str


@dataclass(frozen=True)
class RowProblem:
    """A row that failed validation: its line in the file, the column, what was expected."""

    line: int
    column: str
    expected: str
    value: str
    message: str


@dataclass(frozen=True)
class Batch:
    """The outcome of a push: counts, status (accepted, flagged, rejected) and problems."""

    batch_id: str
    rows_total: int
    rows_accepted: int
    rows_quarantined: int
    status: str
    sha256: str
    problems: List[RowProblem]
    batch_problems: List[str]
    warnings: List[str]

    @classmethod
    def from_proto(cls, r: ingestion_pb2.PushDataResponse) -> "Batch":
        return cls(
            batch_id=r.batch_id,
            rows_total=r.rows_total,
            rows_accepted=r.rows_accepted,
            rows_quarantined=r.rows_quarantined,
            status=r.status,
            sha256=r.sha256,
            problems=[RowProblem(p.line, p.column, p.expected, p.value, p.message) for p in r.problems],
            batch_problems=list(r.batch_problems),
            warnings=list(r.warnings),
        )


@dataclass(frozen=True)
class Prediction:
    """One row's answer (rows sent as dicts carry everything; columnar ones id and probability)."""

    prediction_id: str
    probability: float
    #: The label at the answering model's decision threshold (None for a columnar request).
    label: Optional[int] = None
    model_version: str = ""
    #: champion, canary or b.
    variant: str = ""
    imputed: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Predictions:
    """The answer to :meth:`refit_client.Client.predict`, one entry per row, in row order."""

    model_version: str
    predictions: List[Prediction]
    #: Per feature, how many rows it was imputed in.
    imputed: Dict[str, int]
    #: The rollout's candidate, when one answered some rows.
    candidate_version: str = ""

    @property
    def ids(self) -> List[str]:
        """Prediction ids, in row order (send them back with :meth:`~refit_client.Client.feedback`)."""
        return [p.prediction_id for p in self.predictions]

    @property
    def probabilities(self) -> List[float]:
        return [p.probability for p in self.predictions]

    def __len__(self) -> int:
        return len(self.predictions)

    @classmethod
    def from_proto(cls, r: deployer_pb2.PredictResponse) -> "Predictions":
        if r.predictions:
            preds = [
                Prediction(p.prediction_id, p.probability, p.label, p.model_version, p.variant, list(p.imputed))
                for p in r.predictions
            ]
        else:
            cand = list(r.from_candidate)
            preds = [
                Prediction(
                    pid,
                    prob,
                    None,
                    r.candidate_version if i < len(cand) and cand[i] else r.model_version,
                    r.candidate_variant if i < len(cand) and cand[i] else "champion",
                )
                for i, (pid, prob) in enumerate(zip(r.prediction_ids, r.probabilities))
            ]
        return cls(r.model_version, preds, dict(r.imputed), r.candidate_version)


@dataclass(frozen=True)
class FeedbackResult:
    """What :meth:`refit_client.Client.feedback` joined: ``joined`` labels; ids not in the log
    (``unknown``); labels already given (``duplicate``) or contradicting the first (``conflict``)."""

    joined: int
    unknown: List[str]
    duplicate: int
    conflict: int
    conflicting: List[str]
