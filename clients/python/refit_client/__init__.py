"""A Python client for Refit: predictions, feedback, data, runs and their typed reports.

    from refit_client import Client
    with Client.from_env() as refit:
        run = refit.wait(refit.trigger("weather-rain", reason="new data"))
        print(refit.evaluation(run).verdict)
"""
from refit_client.client import Client
from refit_client.credentials import DEFAULT_PORTS, credentials_from_env
from refit_client.drift import ColumnDrift, ColumnHistogram, DriftReport
from refit_client.errors import FieldViolation, RefitError, RunTimeoutError, StatusDetails, TriggerSuppressedError
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

__version__ = "0.1.0"

__all__ = [
    "Backtest", "BacktestWindow", "Batch", "Champion", "Client", "ColumnDrift", "ColumnHistogram", "Comparison",
    "Consistency", "DEFAULT_PORTS", "DriftReport", "EvaluationReport", "Evidence", "Fairness", "FairnessGroup",
    "FairnessScores", "FeedbackResult", "FieldViolation", "Gate", "Holdout", "Interval", "LeftOut", "Operational", "Pipeline",
    "Prediction", "Predictions", "RefitError", "Rollout", "RolloutStep", "RowProblem", "Run", "RunTimeoutError",
    "Slice", "Stage", "StatusDetails", "StepAnalysis", "Thresholds", "TriggerOutcome", "TriggerSuppressedError", "credentials_from_env",
]
