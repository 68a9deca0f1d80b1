"""A run's feature statistics (``FeatureService.GetStats``) and its fitted transform
(``FeatureService.GetTransform``) as dataclasses.

Built from the typed fields ``stats_details`` and ``transform_details``, or, from a feature
service older than them, from the stored JSON documents (``stats_json``, ``transform_json``).
Field names are the documents', in snake_case; a number left undefined is None (a quantile of a
column without a value is NaN, as in the document).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from refit_client._convert import as_dict, msg, opt, typed_or_json
from refit_client.pb import feature_pb2


@dataclass(frozen=True)
class Histogram:
    """Equal-width bins: ``edges`` has one more entry than ``counts``."""

    edges: List[float]
    counts: List[int]

    @classmethod
    def from_proto(cls, h: feature_pb2.Histogram) -> "Histogram":
        return cls(list(h.edges), [int(c) for c in h.counts])


@dataclass(frozen=True)
class ColumnStats:
    """One column of the training split: ``kind`` (numeric or categorical) says which fields are set."""

    name: str
    kind: str
    count: int
    missing: int
    missing_rate: float
    #: Numeric: of the values present (None for a categorical column).
    mean: Optional[float]
    std: Optional[float]
    min: Optional[float]
    max: Optional[float]
    #: Numeric: p01, p05, p25, p50, p75, p95, p99.
    quantiles: Dict[str, float]
    histogram: Optional[Histogram]
    #: Numeric: evenly spaced order statistics, the reference of the drift tests.
    sample: List[float]
    #: Categorical: rows per category, most frequent first.
    frequencies: Dict[str, int]

    @classmethod
    def from_proto(cls, c: feature_pb2.ColumnStats) -> "ColumnStats":
        return cls(
            name=c.name,
            kind=c.kind,
            count=int(c.count),
            missing=int(c.missing),
            missing_rate=c.missing_rate,
            mean=opt(c, "mean"),
            std=opt(c, "std"),
            min=opt(c, "min"),
            max=opt(c, "max"),
            quantiles=as_dict(c.quantiles, float),
            histogram=msg(c, "histogram", Histogram.from_proto),
            sample=list(c.sample),
            frequencies=as_dict(c.frequencies, int),
        )


@dataclass(frozen=True)
class SnapshotStats:
    """Statistics of a run's training split: rows and every schema column but dates."""

    pipeline: str
    run_id: str
    snapshot_sha256: str
    rows: int
    columns: List[ColumnStats]
    #: The document's format version.
    version: int

    @classmethod
    def from_proto(cls, s: feature_pb2.SnapshotStats) -> "SnapshotStats":
        return cls(s.pipeline, s.run_id, s.snapshot_sha256, int(s.rows), [ColumnStats.from_proto(c) for c in s.columns], s.version)

    @classmethod
    def from_response(cls, r: feature_pb2.GetStatsResponse) -> "SnapshotStats":
        """The statistics of a ``GetStats`` answer: ``stats_details``, else ``stats_json``."""
        s = typed_or_json(r, "stats_details", "stats_json", feature_pb2.SnapshotStats)
        return cls.from_proto(s if s is not None else feature_pb2.SnapshotStats(run_id=r.run_id, pipeline=r.pipeline))

    def column(self, name: str) -> ColumnStats:
        """The column called ``name`` (KeyError when there is none)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class Clip:
    """Bounds applied to a raw numeric value first (either may be None)."""

    min: Optional[float]
    max: Optional[float]


@dataclass(frozen=True)
class FittedFeature:
    """One fitted feature: ``kind`` (standardize, minmax, log1p, bucketize, onehot, none, hash,
    dateparts) says which parameters are set; the others are None or empty."""

    name: str
    kind: str
    mean: Optional[float]
    std: Optional[float]
    min: Optional[float]
    max: Optional[float]
    boundaries: List[float]
    categories: List[str]
    other: Optional[bool]
    buckets: Optional[int]
    parts: List[str]
    #: A numeric kind: the value a missing one is replaced with.
    fill: Optional[float]
    #: onehot: the category a missing value is replaced with (``fill`` in the stored document).
    fill_category: Optional[str]
    clip: Optional[Clip]
    indicator: Optional[bool]
    imputed: Optional[bool]

    @classmethod
    def from_proto(cls, f: feature_pb2.FittedFeature) -> "FittedFeature":
        return cls(
            name=f.name,
            kind=f.kind,
            mean=opt(f, "mean"),
            std=opt(f, "std"),
            min=opt(f, "min"),
            max=opt(f, "max"),
            boundaries=list(f.boundaries),
            categories=list(f.categories),
            other=opt(f, "other"),
            buckets=opt(f, "buckets"),
            parts=list(f.parts),
            fill=opt(f, "fill"),
            fill_category=opt(f, "fill_category"),
            clip=msg(f, "clip", lambda c: Clip(opt(c, "min"), opt(c, "max"))),
            indicator=opt(f, "indicator"),
            imputed=opt(f, "imputed"),
        )


def _onehot_fill(doc: Dict[str, Any]) -> None:
    # The stored transform calls a one-hot feature's fill category `fill` (a number for every other kind).
    for f in doc.get("features", []):
        if isinstance(f, dict) and f.get("kind") == "onehot" and "fill" in f:
            f["fillCategory"] = f.pop("fill")


@dataclass(frozen=True)
class FittedTransform:
    """The feature transform fitted on a run's training data: each feature's parameters and the
    output matrix's column names, in order."""

    run_id: str
    pipeline: str
    features: List[FittedFeature]
    output_names: List[str]
    fitted_on_rows: int
    #: 1, or 2 when a feature uses a kind or an extra version 1 does not know.
    version: int

    @classmethod
    def from_response(cls, r: feature_pb2.GetTransformResponse) -> "FittedTransform":
        """The transform of a ``GetTransform`` answer: ``transform_details``, else ``transform_json``."""
        t = typed_or_json(r, "transform_details", "transform_json", feature_pb2.FittedTransform, _onehot_fill) or feature_pb2.FittedTransform()
        return cls(r.run_id, r.pipeline, [FittedFeature.from_proto(f) for f in t.features], list(t.output_names), int(t.fitted_on_rows), t.version)

    def feature(self, name: str) -> FittedFeature:
        """The feature called ``name`` (KeyError when there is none)."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)


__all__ = ["Clip", "ColumnStats", "FittedFeature", "FittedTransform", "Histogram", "SnapshotStats"]
