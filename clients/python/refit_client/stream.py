"""A stream-fed pipeline's intake and its online learner (``GetStreamStats`` + ``GetLearner``) as
dataclasses: what ``refit stream status`` shows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from refit_client.pb import ingestion_pb2, trainer_pb2


def _when(msg: Any, field: str) -> Optional[datetime]:
    return getattr(msg, field).ToDatetime() if msg.HasField(field) else None


@dataclass(frozen=True)
class StreamIntake:
    """Rows and labels read from the pipeline's subjects, validated and persisted in segments."""

    subject: str
    labels_subject: str
    rows_accepted: int
    rows_quarantined: int
    labels_joined: int
    labels_quarantined: int
    rows_awaiting_label: int
    #: Over the last minute.
    rows_per_second: float
    labels_per_second: float
    #: Messages published but not yet persisted in a segment.
    lag: int
    segments: int
    last_segment_at: Optional[datetime]

    @classmethod
    def from_proto(cls, r: ingestion_pb2.GetStreamStatsResponse) -> "StreamIntake":
        return cls(
            r.subject, r.labels_subject, r.rows_accepted, r.rows_quarantined, r.labels_joined, r.labels_quarantined,
            r.rows_awaiting_label, r.rows_per_second, r.labels_per_second, r.lag, r.segments, _when(r, "last_segment_at"),
        )


@dataclass(frozen=True)
class StreamEvidence:
    """The prequential comparison of learner and champion on the same labeled rows (anytime-valid)."""

    rows: int
    learner_log_loss: float
    champion_log_loss: float
    #: champion − learner log loss per row (positive: the learner is better), with its bounds.
    improvement: float
    lower: float
    upper: float
    p_value: float
    alpha: float
    learner_accuracy: float
    champion_accuracy: float


@dataclass(frozen=True)
class StreamLearner:
    """The online learner: where it started, how it compares with the champion, what it decided."""

    champion_version: str
    #: learning | proven | waiting
    state: str
    segment: int
    updates: int
    rows_learned: int
    evidence: Optional[StreamEvidence]
    last_decision: str
    last_decision_at: Optional[datetime]
    labeled_rows_per_second: float
    learning_rate: float
    resets: int
    replacements: int
    #: Standardized mean shift of the inputs from the frozen transform's fitted statistics.
    transform_drift: float

    @classmethod
    def from_proto(cls, r: trainer_pb2.GetLearnerResponse) -> "StreamLearner":
        e = r.evidence if r.HasField("evidence") else None
        evidence = (
            StreamEvidence(e.rows, e.learner_log_loss, e.champion_log_loss, e.improvement, e.lower, e.upper, e.p_value, e.alpha, e.learner_accuracy, e.champion_accuracy)
            if e is not None
            else None
        )
        return cls(
            r.champion_version, r.state, r.segment, r.updates, r.rows_learned, evidence, r.last_decision, _when(r, "last_decision_at"),
            r.labeled_rows_per_second, r.learning_rate, r.resets, r.replacements, r.transform_drift,
        )


@dataclass(frozen=True)
class StreamStatus:
    """A stream-fed pipeline: its intake, and its learner once it started (None before)."""

    pipeline: str
    intake: Optional[StreamIntake]
    learner: Optional[StreamLearner]
