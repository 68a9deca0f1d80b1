"""Drift reports (``FeatureService.ListDrift``) as dataclasses."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from refit_client.pb import events_pb2


@dataclass(frozen=True)
class ColumnHistogram:
    """The two distributions compared: numeric bins (``edges``) or categories, each side's shares."""

    edges: List[float]
    categories: List[str]
    reference: List[float]
    current: List[float]


@dataclass(frozen=True)
class ColumnDrift:
    """One column's test: ks, chi-square, z, jensen-shannon, wasserstein or psi."""

    column: str
    test: str
    statistic: float
    #: Set for p-value tests only.
    p_value: Optional[float]
    #: Population stability index (numeric columns).
    psi: Optional[float]
    #: drift, no-drift or not-enough-data.
    status: str
    reference_size: int
    current_size: int
    histogram: Optional[ColumnHistogram]


@dataclass(frozen=True)
class DriftReport:
    """Drift between a reference and a current sample of a pipeline."""

    pipeline: str
    run_id: str
    reference_run_id: str
    #: drift, no-drift or not-enough-data.
    status: str
    #: Share of evaluated columns that drifted.
    share: float
    columns: List[ColumnDrift]
    #: training or live.
    source: str
    #: live only: the served version and the end of its window.
    version: str
    window_end: Optional[datetime]

    @classmethod
    def from_proto(cls, r: events_pb2.DriftReport) -> "DriftReport":
        def column(c: events_pb2.ColumnDrift) -> ColumnDrift:
            h = c.histogram if c.HasField("histogram") else None
            return ColumnDrift(
                column=c.column,
                test=c.test,
                statistic=c.statistic,
                p_value=c.p_value if c.HasField("p_value") else None,
                psi=c.psi if c.HasField("psi") else None,
                status=c.status,
                reference_size=c.reference_size,
                current_size=c.current_size,
                histogram=ColumnHistogram(list(h.edges), list(h.categories), list(h.reference), list(h.current)) if h else None,
            )

        return cls(
            pipeline=r.pipeline,
            run_id=r.run_id,
            reference_run_id=r.reference_run_id,
            status=r.status,
            share=r.share,
            columns=[column(c) for c in r.columns],
            source=r.source or "training",
            version=r.version,
            window_end=r.window_end.ToDatetime() if r.HasField("window_end") else None,
        )
