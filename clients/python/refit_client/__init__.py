"""A Python client for Refit: predictions, feedback, data, runs and their typed reports (evaluation,
rollout, drift, feature statistics, the fitted transform, trigger decisions).

    from refit_client import Client
    with Client.from_env() as refit:
        run = refit.wait(refit.trigger("weather-rain", reason="new data"))
        print(refit.evaluation(run).verdict)
"""
from refit_client.client import Client
from refit_client.credentials import DEFAULT_PORTS, credentials_from_env
from refit_client.decisions import DriftColumn, LiveMetric, PerformanceReference, TriggerDecision, TriggerEvidence, TriggerExplanation, TriggerThresholds
from refit_client.drift import ColumnDrift, ColumnHistogram, DriftReport
from refit_client.errors import FieldViolation, RefitError, RunTimeoutError, StatusDetails, TriggerSuppressedError
from refit_client.features import Clip, ColumnStats, FittedFeature, FittedTransform, Histogram, SnapshotStats
from refit_client.models import Batch, FeedbackResult, Pipeline, Prediction, Predictions, RowProblem, Run, Stage, TriggerOutcome
from refit_client.report import (
    Backtest,
    BacktestWindow,
    Champion,
    Comparison,
    Consistency,
    EvaluationReport,
    Evidence,
    Fairness,
    FairnessGroup,
    FairnessScores,
    Gate,
    Holdout,
    Interval,
    LeftOut,
    Slice,
    Thresholds,
)
from refit_client.rollout import Operational, Rollout, RolloutStep, StepAnalysis
from refit_client.stream import StreamEvidence, StreamIntake, StreamLearner, StreamStatus

__version__ = "0.1.0"

__all__ = [
    "Backtest", "BacktestWindow", "Batch", "Champion", "Client", "Clip", "ColumnDrift", "ColumnHistogram",
    "ColumnStats", "Comparison", "Consistency", "DEFAULT_PORTS", "DriftColumn", "DriftReport",
    "EvaluationReport", "Evidence", "Fairness", "FairnessGroup", "FairnessScores", "FeedbackResult",
    "FieldViolation", "FittedFeature", "FittedTransform", "Gate", "Histogram", "Holdout", "Interval",
    "LeftOut", "LiveMetric", "Operational", "PerformanceReference", "Pipeline", "Prediction", "Predictions",
    "RefitError", "Rollout", "RolloutStep", "RowProblem", "Run", "RunTimeoutError", "Slice", "SnapshotStats",
    "Stage", "StatusDetails", "StepAnalysis", "StreamEvidence", "StreamIntake", "StreamLearner", "StreamStatus", "Thresholds", "TriggerDecision", "TriggerEvidence",
    "TriggerExplanation", "TriggerOutcome", "TriggerSuppressedError", "TriggerThresholds",
    "credentials_from_env",
]
