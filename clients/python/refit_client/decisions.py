"""Trigger decisions (``TriggerService.ExplainTriggers``) with their evidence typed.

Each evaluation of a trigger policy, fired or not, is a decision: what it measured
(:class:`TriggerEvidence`) against which thresholds (:class:`TriggerThresholds`), and what it did.
Both are built from the typed fields ``measured`` / ``thresholds``, or, from a trigger service
older than them, from ``measured_json`` / ``thresholds_json``. Each policy sets its own fields;
the others are None (or empty).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

from refit_client._convert import as_dict, msg, opt, opt_int, typed_or_json
from refit_client.pb import trigger_pb2


@dataclass(frozen=True)
class DriftColumn:
    """One column of the drift report a drift policy read."""

    psi: Optional[float]
    status: str
    reference_size: int
    current_size: int


@dataclass(frozen=True)
class PerformanceReference:
    """A performance policy's reference: live, evaluation or declared; its value once known."""

    source: str
    value: Optional[float]
    labeled: int


@dataclass(frozen=True)
class LiveMetric:
    """The live value of a performance policy's metric (None before any labeled prediction)."""

    value: Optional[float]
    labeled: int


@dataclass(frozen=True)
class TriggerEvidence:
    """What a policy measured (see ``TriggerEvidence`` in proto/refit/trigger/v1/trigger.proto)."""

    slot: Optional[str]
    late_ms: Optional[int]
    rows_since_run: Optional[int]
    last_run_rows: Optional[int]
    share: Optional[float]
    age_hours: Optional[float]
    last_trained_at: Optional[str]
    version: Optional[str]
    window_end: Optional[str]
    reference_run_id: Optional[str]
    status: Optional[str]
    rows: Optional[int]
    columns: Dict[str, DriftColumn]
    metric: Optional[str]
    value: Optional[float]
    source: Optional[str]
    event_id: Optional[str]
    requests: Optional[int]
    sources: List[str]
    labeled: Optional[int]
    reference: Optional[PerformanceReference]
    test: Optional[str]
    live: Optional[LiveMetric]
    drop: Optional[float]
    lower: Optional[float]
    upper: Optional[float]
    p_value: Optional[float]
    looks: Optional[int]
    log_e: Optional[float]
    standard_error: Optional[float]
    warmup: Optional[int]
    retired: Optional[bool]

    @classmethod
    def from_proto(cls, e: trigger_pb2.TriggerEvidence) -> "TriggerEvidence":
        return cls(
            slot=opt(e, "slot"),
            late_ms=opt_int(e, "late_ms"),
            rows_since_run=opt_int(e, "rows_since_run"),
            last_run_rows=opt_int(e, "last_run_rows"),
            share=opt(e, "share"),
            age_hours=opt(e, "age_hours"),
            last_trained_at=opt(e, "last_trained_at"),
            version=opt(e, "version"),
            window_end=opt(e, "window_end"),
            reference_run_id=opt(e, "reference_run_id"),
            status=opt(e, "status"),
            rows=opt_int(e, "rows"),
            columns=as_dict(e.columns, lambda c: DriftColumn(opt(c, "psi"), c.status, int(c.reference_size), int(c.current_size))),
            metric=opt(e, "metric"),
            value=opt(e, "value"),
            source=opt(e, "source"),
            event_id=opt(e, "event_id"),
            requests=opt_int(e, "requests"),
            sources=list(e.sources),
            labeled=opt_int(e, "labeled"),
            reference=msg(e, "reference", lambda r: PerformanceReference(r.source, opt(r, "value"), int(r.labeled))),
            test=opt(e, "test"),
            live=msg(e, "live", lambda v: LiveMetric(opt(v, "value"), int(v.labeled))),
            drop=opt(e, "drop"),
            lower=opt(e, "lower"),
            upper=opt(e, "upper"),
            p_value=opt(e, "p_value"),
            looks=opt_int(e, "looks"),
            log_e=opt(e, "log_e"),
            standard_error=opt(e, "standard_error"),
            warmup=opt_int(e, "warmup"),
            retired=opt(e, "retired"),
        )


@dataclass(frozen=True)
class TriggerThresholds:
    """A policy's thresholds when it was evaluated (see ``TriggerThresholds`` in trigger.proto)."""

    cron: Optional[str]
    timezone: Optional[str]
    catch_up: Optional[str]
    min_rows: Optional[int]
    min_share: Optional[float]
    max_age_hours: Optional[float]
    max_share: Optional[float]
    psi: Dict[str, float]
    min_samples: Optional[int]
    below: Optional[float]
    above: Optional[float]
    metric: Optional[str]
    max_drop: Optional[float]
    min_labeled: Optional[int]
    #: live, evaluation, or declared (then ``reference_value``).
    reference: Optional[str]
    reference_value: Optional[float]
    alpha: Optional[float]
    sources: List[str]

    @classmethod
    def from_proto(cls, t: trigger_pb2.TriggerThresholds) -> "TriggerThresholds":
        return cls(
            cron=opt(t, "cron"),
            timezone=opt(t, "timezone"),
            catch_up=opt(t, "catch_up"),
            min_rows=opt_int(t, "min_rows"),
            min_share=opt(t, "min_share"),
            max_age_hours=opt(t, "max_age_hours"),
            max_share=opt(t, "max_share"),
            psi=as_dict(t.psi, float),
            min_samples=opt_int(t, "min_samples"),
            below=opt(t, "below"),
            above=opt(t, "above"),
            metric=opt(t, "metric"),
            max_drop=opt(t, "max_drop"),
            min_labeled=opt_int(t, "min_labeled"),
            reference=opt(t, "reference"),
            reference_value=opt(t, "reference_value"),
            alpha=opt(t, "alpha"),
            sources=list(t.sources),
        )


def _declared_reference(doc: Dict[str, Any]) -> None:
    # A declared performance reference is {"value": x} in the JSON, reference + reference_value in the message.
    ref = doc.get("reference")
    if isinstance(ref, dict):
        doc["reference"] = "declared"
        if isinstance(ref.get("value"), (int, float)):
            doc["referenceValue"] = ref["value"]


def _ts(m: Any, name: str) -> Optional[datetime]:
    return getattr(m, name).ToDatetime() if m.HasField(name) else None


@dataclass(frozen=True)
class TriggerDecision:
    """One evaluation of a trigger policy, fired or not, with its evidence."""

    id: str
    pipeline: str
    #: manual, schedule, volume, age, drift, performance, business, external, continuous.
    policy: str
    policy_index: int
    spec_version: int
    fired: bool
    #: start, coalesce, queue, defer, suppress or none.
    action: str
    reason: str
    measured: TriggerEvidence
    thresholds: TriggerThresholds
    #: The run it started or joined ('' when none).
    run_id: str
    created_at: Optional[datetime]
    #: Later evaluations with the same outcome, counted rather than stored.
    repeats: int
    last_repeated_at: Optional[datetime]
    last_reason: str

    @classmethod
    def from_proto(cls, d: trigger_pb2.TriggerDecision) -> "TriggerDecision":
        measured = typed_or_json(d, "measured", "measured_json", trigger_pb2.TriggerEvidence) or trigger_pb2.TriggerEvidence()
        thresholds = typed_or_json(d, "thresholds", "thresholds_json", trigger_pb2.TriggerThresholds, _declared_reference) or trigger_pb2.TriggerThresholds()
        return cls(
            id=d.id,
            pipeline=d.pipeline,
            policy=d.policy,
            policy_index=d.policy_index,
            spec_version=d.spec_version,
            fired=d.fired,
            action=d.action,
            reason=d.reason,
            measured=TriggerEvidence.from_proto(measured),
            thresholds=TriggerThresholds.from_proto(thresholds),
            run_id=d.run_id,
            created_at=_ts(d, "created_at"),
            repeats=d.repeats,
            last_repeated_at=_ts(d, "last_repeated_at"),
            last_reason=d.last_reason,
        )


@dataclass(frozen=True)
class TriggerExplanation:
    """Why a pipeline's last run started and each policy's state since (``summary``, plain
    sentences), with the decisions behind it, newest first."""

    summary: List[str]
    decisions: List[TriggerDecision]

    @classmethod
    def from_proto(cls, r: trigger_pb2.ExplainTriggersResponse) -> "TriggerExplanation":
        return cls(list(r.summary), [TriggerDecision.from_proto(d) for d in r.decisions])


__all__ = ["DriftColumn", "LiveMetric", "PerformanceReference", "TriggerDecision", "TriggerEvidence", "TriggerExplanation", "TriggerThresholds"]
