"""The Refit client: one object for the seven services, with typed results."""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import grpc
from google.protobuf import struct_pb2

from refit_client.credentials import addresses_for, credentials_from_env
from refit_client.decisions import TriggerDecision, TriggerExplanation
from refit_client.drift import DriftReport
from refit_client.errors import RefitError, RunTimeoutError, TriggerSuppressedError, from_rpc_error
from refit_client.features import FittedTransform, SnapshotStats
from refit_client.models import Batch, FeedbackResult, Pipeline, Predictions, Run, TriggerOutcome
from refit_client.pb import (
    deployer_pb2,
    deployer_pb2_grpc,
    evaluator_pb2,
    evaluator_pb2_grpc,
    feature_pb2,
    feature_pb2_grpc,
    ingestion_pb2,
    ingestion_pb2_grpc,
    trainer_pb2,
    trainer_pb2_grpc,
    trigger_pb2,
    trigger_pb2_grpc,
)
from refit_client.report import EvaluationReport
from refit_client.rollout import Rollout
from refit_client.stream import StreamIntake, StreamLearner, StreamStatus

#: Bytes per message of a push (as the CLI streams files).
PUSH_CHUNK_BYTES = 1024 * 1024

Rows = Union[Sequence[Mapping[str, Any]], Mapping[str, Sequence[Any]], Any]
FeedbackItem = Union[Tuple[str, float], Tuple[str, float, str], Mapping[str, Any]]
RunRef = Union[str, Run]


def _run_id(run: RunRef) -> str:
    return run.run_id if isinstance(run, Run) else str(run)


def _columns_of(rows: Any) -> Optional[Mapping[str, Sequence[Any]]]:
    """Columns of a DataFrame-like input (a dict of sequences, or anything with ``to_dict('list')``)."""
    if isinstance(rows, Mapping):
        return rows
    to_dict = getattr(rows, "to_dict", None)
    if callable(to_dict) and hasattr(rows, "columns"):
        return to_dict("list")
    return None


def _method_name(method: Any) -> str:
    name = getattr(method, "_method", "")
    return name.decode() if isinstance(name, bytes) else str(name)


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _struct(row: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    for k, v in row.items():
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif hasattr(v, "item") and not isinstance(v, (str, bytes)):
            v = v.item()  # numpy scalars
        s[k] = v
    return s


class Client:
    """A client of a Refit deployment.

    ``addr`` is a host (each service at its default port, 50051…50057), a mapping of service name
    to ``host:port``, or None (``REFIT_<SERVICE>_ADDR``, else 127.0.0.1 and the default ports).
    ``credentials`` is a :class:`grpc.ChannelCredentials` (e.g. ``grpc.ssl_channel_credentials(ca)``);
    None means plaintext, as a development stack without TLS. ``token`` is a bearer token (``refit
    auth token``) sent as ``authorization: Bearer …`` on every call. :meth:`from_env` finds all of
    them the way the CLI does.
    """

    def __init__(
        self,
        addr: "str | Mapping[str, str] | None" = None,
        credentials: Optional[grpc.ChannelCredentials] = None,
        *,
        token: Optional[str] = None,
        timeout: float = 60.0,
        env: Optional[Mapping[str, str]] = None,
    ):
        self.addresses = addresses_for(addr, os.environ if env is None else env)
        self.timeout = timeout
        self._metadata: Tuple[Tuple[str, str], ...] = ()
        if credentials is not None and token:
            credentials = grpc.composite_channel_credentials(credentials, grpc.access_token_call_credentials(token))
        elif token:
            # gRPC sends call credentials only over TLS; on a plaintext channel the header is added per call.
            self._metadata = (("authorization", f"Bearer {token}"),)
        self._channels: dict = {}
        for target in set(self.addresses.values()):
            self._channels[target] = grpc.secure_channel(target, credentials) if credentials is not None else grpc.insecure_channel(target)
        ch = lambda s: self._channels[self.addresses[s]]  # noqa: E731
        self.trigger_stub = trigger_pb2_grpc.TriggerServiceStub(ch("trigger"))
        self.ingestion_stub = ingestion_pb2_grpc.IngestionServiceStub(ch("ingestion"))
        self.feature_stub = feature_pb2_grpc.FeatureServiceStub(ch("feature"))
        self.evaluator_stub = evaluator_pb2_grpc.EvaluatorServiceStub(ch("evaluator"))
        self.deployer_stub = deployer_pb2_grpc.DeployerServiceStub(ch("deployer"))
        self.trainer_stub = trainer_pb2_grpc.TrainerServiceStub(ch("trainer"))

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, **kwargs: Any) -> "Client":
        """A client configured as the CLI is: ``REFIT_<SERVICE>_ADDR``, ``REFIT_TLS_CA``,
        ``REFIT_TOKEN`` / ``REFIT_TOKEN_FILE``, or the nearest ``.refit/`` folder of a local stack."""
        env = os.environ if env is None else env
        found = credentials_from_env(env)
        return cls(None, found.channel, token=found.token, env=env, **kwargs)

    def close(self) -> None:
        for c in self._channels.values():
            c.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _call(self, method: Callable[..., Any], request: Any, timeout: Optional[float] = None) -> Any:
        try:
            return method(request, timeout=timeout or self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e, _method_name(method)) from None

    # Pipelines and runs -------------------------------------------------------------------------

    def apply_pipeline(self, spec: Union[str, os.PathLike]) -> Pipeline:
        """Creates or updates a pipeline from its YAML spec (the text, or a path to the file)."""
        text = Path(spec).read_text("utf-8") if isinstance(spec, os.PathLike) or (isinstance(spec, str) and "\n" not in spec and Path(spec).is_file()) else str(spec)
        r = self._call(self.trigger_stub.ApplyPipeline, trigger_pb2.ApplyPipelineRequest(spec_yaml=text))
        return Pipeline(r.pipeline.name, r.pipeline.version, r.changed)

    def trigger_run(self, pipeline: str, reason: str = "") -> TriggerOutcome:
        """Asks for a run now; says whether it started one, joined the one in flight, queued or was suppressed."""
        r = self._call(self.trigger_stub.TriggerRun, trigger_pb2.TriggerRunRequest(pipeline=pipeline, reason=reason))
        return TriggerOutcome(r.run.run_id, r.action, r.decision_id, r.message)

    def trigger(self, pipeline: str, reason: str = "") -> str:
        """Starts a run of ``pipeline`` now (or joins the one in flight) and returns its id.

        Raises :class:`TriggerSuppressedError` when the pipeline's budget suppressed the request.
        """
        o = self.trigger_run(pipeline, reason)
        if o.action == "suppress" or not o.run_id:
            raise TriggerSuppressedError(pipeline, o.message, o.decision_id)
        return o.run_id

    def run(self, run: RunRef) -> Run:
        """The run as it is now."""
        r = self._call(self.trigger_stub.GetRun, trigger_pb2.GetRunRequest(run_id=_run_id(run)))
        return Run.from_proto(r.run)

    def runs(self, pipeline: str = "", limit: int = 20) -> List[Run]:
        """The newest runs (of one pipeline, or of all)."""
        r = self._call(self.trigger_stub.ListRuns, trigger_pb2.ListRunsRequest(pipeline=pipeline, limit=limit))
        return [Run.from_proto(x) for x in r.runs]

    def wait(self, run: RunRef, timeout: float = 600.0, poll: float = 0.25, on_stage: Optional[Callable[[Any], None]] = None) -> Run:
        """Polls the run until it has ended (succeeded or failed) and returns it.

        Raises :class:`RunTimeoutError` when it is still running after ``timeout`` seconds (the run
        goes on). ``on_stage`` is called with each stage as it finishes.
        """
        run_id = _run_id(run)
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            r = self.run(run_id)
            for s in r.stages[seen:]:
                if on_stage:
                    on_stage(s)
            seen = len(r.stages)
            if r.done:
                return r
            if time.monotonic() >= deadline:
                raise RunTimeoutError(run_id, timeout)
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))

    # Data ---------------------------------------------------------------------------------------

    def push_data(self, pipeline: str, path: Union[str, os.PathLike], format: Optional[str] = None, resubmits_batch_id: str = "") -> Batch:
        """Streams a CSV (or JSON-lines: ``.jsonl`` or ``format='jsonl'``) file to the pipeline, as
        ``refit data push`` does; returns the batch with its counts, status and problems."""
        p = Path(path)
        fmt = format or ("jsonl" if p.suffix.lower() in (".jsonl", ".json") else "csv")
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"format {fmt!r}: use csv or jsonl")

        def parts() -> Iterator[ingestion_pb2.PushDataRequest]:
            yield ingestion_pb2.PushDataRequest(header=ingestion_pb2.PushHeader(pipeline=pipeline, format=fmt, filename=p.name, resubmits_batch_id=resubmits_batch_id))
            with p.open("rb") as f:
                while chunk := f.read(PUSH_CHUNK_BYTES):
                    yield ingestion_pb2.PushDataRequest(chunk=chunk)

        r = self._call(self.ingestion_stub.PushData, parts(), timeout=max(self.timeout, 3600.0))
        return Batch.from_proto(r)

    # Serving ------------------------------------------------------------------------------------

    def predict(self, pipeline: str, rows: Rows) -> Predictions:
        """Scores rows with the serving model.

        ``rows`` is a list of dicts (column → value, as in the training data), or DataFrame-like
        columns: a dict of column → sequence, or a pandas DataFrame. Numeric columns go by the
        columnar fast path (None and NaN are missing values); anything else is sent row by row.
        """
        cols = _columns_of(rows)
        if cols is not None:
            names = list(cols)
            values = [list(cols[n]) for n in names]
            n = len(values[0]) if values else 0
            if any(len(v) != n for v in values):
                raise ValueError("predict: every column needs the same number of rows")
            if all(_is_number(x) for v in values for x in v):
                flat = [math.nan if v[i] is None else float(v[i]) for i in range(n) for v in values]
                req = deployer_pb2.PredictRequest(pipeline=pipeline, columns=names, values=flat)
                return Predictions.from_proto(self._call(self.deployer_stub.Predict, req))
            rows = [{name: values[j][i] for j, name in enumerate(names)} for i in range(n)]
        req = deployer_pb2.PredictRequest(pipeline=pipeline, rows=[_struct(r) for r in rows])
        return Predictions.from_proto(self._call(self.deployer_stub.Predict, req))

    def feedback(self, pipeline: str, labels: Iterable[FeedbackItem]) -> FeedbackResult:
        """Sends true labels for logged predictions: ``(prediction_id, label)`` pairs,
        ``(prediction_id, label, label_value)`` triples or dicts with those keys."""
        items = []
        for x in labels:
            if isinstance(x, Mapping):
                items.append(deployer_pb2.Feedback(prediction_id=x["prediction_id"], label=float(x["label"]), label_value=str(x.get("label_value", ""))))
            else:
                pid, label, *rest = x
                items.append(deployer_pb2.Feedback(prediction_id=pid, label=float(label), label_value=str(rest[0]) if rest else ""))
        r = self._call(self.deployer_stub.SendFeedback, deployer_pb2.SendFeedbackRequest(pipeline=pipeline, feedback=items))
        return FeedbackResult(r.joined, list(r.unknown), r.duplicate, r.conflict, list(r.conflicting))

    def rollout(self, pipeline: str) -> Rollout:
        """The pipeline's progressive rollout (shadow, canary, A/B) with its typed analyses."""
        r = self._call(self.deployer_stub.GetRollout, deployer_pb2.GetRolloutRequest(pipeline=pipeline))
        return Rollout.from_proto(r.rollout)

    def promote_rollout(self, pipeline: str, reason: str) -> Rollout:
        """Ends the rollout now by promoting the candidate (needs the admin role; recorded)."""
        r = self._call(self.deployer_stub.PromoteRollout, deployer_pb2.PromoteRolloutRequest(pipeline=pipeline, reason=reason))
        return Rollout.from_proto(r.rollout)

    def abort_rollout(self, pipeline: str, reason: str) -> Rollout:
        """Ends the rollout now by rolling the candidate back (needs the admin role; recorded)."""
        r = self._call(self.deployer_stub.AbortRollout, deployer_pb2.AbortRolloutRequest(pipeline=pipeline, reason=reason))
        return Rollout.from_proto(r.rollout)

    # Reports ------------------------------------------------------------------------------------

    def evaluation(self, run: RunRef) -> EvaluationReport:
        """The run's evaluation report: verdict, gates, metrics, comparisons, slices… as dataclasses."""
        r = self._call(self.evaluator_stub.GetReport, evaluator_pb2.GetReportRequest(run_id=_run_id(run)))
        return EvaluationReport.from_proto(r.report)

    def drift(self, pipeline: str, source: str = "", limit: int = 20) -> List[DriftReport]:
        """Drift reports of the pipeline, newest first: ``source`` training (each run's data against
        the previous run's), live (served windows against the training data), or both."""
        r = self._call(self.feature_stub.ListDrift, feature_pb2.ListDriftRequest(pipeline=pipeline, source=source, limit=limit))
        return [DriftReport.from_proto(x) for x in r.reports]

    def stats(self, run: RunRef) -> SnapshotStats:
        """Statistics of the run's training split: rows, and per column its counts, moments,
        quantiles, histogram and sample (numeric) or category frequencies."""
        r = self._call(self.feature_stub.GetStats, feature_pb2.GetStatsRequest(run_id=_run_id(run)))
        return SnapshotStats.from_response(r)

    def transform(self, run: RunRef) -> FittedTransform:
        """The feature transform fitted on the run's training data: each feature's parameters and
        the model's input columns, in order."""
        r = self._call(self.feature_stub.GetTransform, feature_pb2.GetTransformRequest(run_id=_run_id(run)))
        return FittedTransform.from_response(r)

    def explain_triggers(self, pipeline: str, limit: int = 50) -> TriggerExplanation:
        """Why the pipeline's last run started and each policy's state since, in sentences, with
        the trigger decisions behind it (newest first, typed evidence and thresholds)."""
        r = self._call(self.trigger_stub.ExplainTriggers, trigger_pb2.ExplainTriggersRequest(pipeline=pipeline, limit=limit))
        return TriggerExplanation.from_proto(r)

    def decisions(self, pipeline: str, limit: int = 50) -> List[TriggerDecision]:
        """The pipeline's trigger decisions, newest first: each policy evaluation, fired or not,
        with what it measured against which thresholds and what it did."""
        return self.explain_triggers(pipeline, limit).decisions

    def stream_status(self, pipeline: str) -> StreamStatus:
        """A stream-fed pipeline (``data.source.stream``): its intake — rows/s, labels/s, lag,
        segments, quarantine — and its online learner next to the champion (what ``refit stream
        status`` shows). Either part is None while it does not exist; both missing is NOT_FOUND."""

        def optional(method: Callable[..., Any], request: Any) -> Any:
            try:
                return self._call(method, request)
            except RefitError as e:
                if e.code == grpc.StatusCode.NOT_FOUND:
                    return None
                raise

        s = optional(self.ingestion_stub.GetStreamStats, ingestion_pb2.GetStreamStatsRequest(pipeline=pipeline))
        l = optional(self.trainer_stub.GetLearner, trainer_pb2.GetLearnerRequest(pipeline=pipeline))
        if s is None and l is None:
            raise RefitError(grpc.StatusCode.NOT_FOUND, f"pipeline '{pipeline}' has no stream: give it data.source.stream")
        return StreamStatus(pipeline, StreamIntake.from_proto(s) if s is not None else None, StreamLearner.from_proto(l) if l is not None else None)
