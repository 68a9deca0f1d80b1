"""Errors of the Refit client: every failed call is a :class:`RefitError` with the gRPC status."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import grpc

#: The standard trailing-metadata key of a serialized ``google.rpc.Status`` (code, message and
#: details: ErrorInfo, BadRequest, RetryInfo), which every failed call of a Refit service carries.
STATUS_DETAILS_KEY = "grpc-status-details-bin"

#: Trailing-metadata key in which Refit services send an error's details (UTF-8 JSON). Deprecated:
#: sent for one more release next to :data:`STATUS_DETAILS_KEY`; read as a fallback.
ERROR_DETAILS_KEY = "refit-error-details-bin"


class FieldViolation(NamedTuple):
    """One bad field of a request (``google.rpc.BadRequest.FieldViolation``): its path, e.g. ``rows[3].wind``."""

    field: str
    description: str


@dataclass(frozen=True)
class StatusDetails:
    """What a ``google.rpc.Status`` in the ``grpc-status-details-bin`` trailer says."""

    code: int
    message: str
    reason: str = ""
    domain: str = ""
    metadata: Tuple[Tuple[str, str], ...] = ()
    field_violations: Tuple[FieldViolation, ...] = ()
    #: Seconds to wait before retrying (``google.rpc.RetryInfo``), None when the server did not say.
    retry_delay: Optional[float] = None


def _rpc_modules():
    """``google.rpc``'s status_pb2 and error_details_pb2: googleapis-common-protos' when installed
    (so the two never clash in the descriptor pool), else the ones generate.sh made from proto/google/rpc."""
    try:
        from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-not-found]
    except ImportError:
        from refit_client._proto.google.rpc import error_details_pb2, status_pb2
    return status_pb2, error_details_pb2


def decode_status(data: bytes) -> Optional[StatusDetails]:
    """The :class:`StatusDetails` of a serialized ``google.rpc.Status`` (None if it is not one).
    Details of types other than ErrorInfo, BadRequest and RetryInfo are skipped."""
    status_pb2, error_details_pb2 = _rpc_modules()
    status = status_pb2.Status()
    try:
        status.ParseFromString(data)
    except Exception:  # noqa: BLE001 - protobuf raises DecodeError (a Message.DecodeError subclass)
        return None
    reason, domain, metadata = "", "", ()
    violations: List[FieldViolation] = []
    retry_delay: Optional[float] = None
    for detail in status.details:
        info, bad, retry = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest(), error_details_pb2.RetryInfo()
        if detail.Is(info.DESCRIPTOR) and detail.Unpack(info) and not reason:
            reason, domain, metadata = info.reason, info.domain, tuple(sorted(info.metadata.items()))
        elif detail.Is(bad.DESCRIPTOR) and detail.Unpack(bad):
            violations.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
        elif detail.Is(retry.DESCRIPTOR) and detail.Unpack(retry) and retry_delay is None:
            retry_delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return StatusDetails(status.code, status.message, reason, domain, metadata, tuple(violations), retry_delay)


class RefitError(Exception):
    """A call to a Refit service failed.

    ``code`` is the :class:`grpc.StatusCode` (``code_name`` its name, e.g. ``"NOT_FOUND"``),
    ``message`` the service's sentence (written for the caller), ``method`` the gRPC method that
    failed and ``details`` the structured details the service attached, if any.

    From the standard ``google.rpc.Status`` the service sent (``status``): ``reason`` (the
    ErrorInfo's UPPER_SNAKE reason, e.g. ``"INVALID_INPUT"``), ``domain`` (``"refit.dev"``),
    ``error_metadata`` (the ErrorInfo's metadata: service, method…), ``field_violations`` (the bad
    fields of the request, :class:`FieldViolation`) and ``retry_delay`` (seconds to wait, or None).
    """

    def __init__(self, code: grpc.StatusCode, message: str, method: str = "", details: Optional[Any] = None,
                 status: Optional[StatusDetails] = None):
        self.code = code
        self.message = message
        self.method = method
        self.details = details
        self.status = status
        where = f" ({method})" if method else ""
        super().__init__(f"{code.name}{where}: {message}")

    @property
    def reason(self) -> str:
        """The ErrorInfo reason (``INVALID_INPUT``, ``NOT_FOUND``, ``MISSING_FEATURE``…); empty if none was sent."""
        return self.status.reason if self.status else ""

    @property
    def domain(self) -> str:
        """The ErrorInfo domain (``refit.dev``); empty if none was sent."""
        return self.status.domain if self.status else ""

    @property
    def error_metadata(self) -> Dict[str, str]:
        """The ErrorInfo metadata (``service``, ``method``, ``requestId`` and the error's scalar details)."""
        return dict(self.status.metadata) if self.status else {}

    @property
    def field_violations(self) -> List[FieldViolation]:
        """The bad fields of the request (google.rpc.BadRequest). From a server without the standard
        trailer, the legacy details' ``field``, described by the message."""
        if self.status:
            return list(self.status.field_violations)
        if self.code == grpc.StatusCode.INVALID_ARGUMENT and isinstance(self.details, dict) and isinstance(self.details.get("field"), str):
            return [FieldViolation(self.details["field"], self.message)]
        return []

    @property
    def retry_delay(self) -> Optional[float]:
        """Seconds the service asked to wait before a retry (google.rpc.RetryInfo), or None."""
        return self.status.retry_delay if self.status else None

    @property
    def code_name(self) -> str:
        """The status code's name: ``NOT_FOUND``, ``INVALID_ARGUMENT``…"""
        return self.code.name

    @property
    def is_not_found(self) -> bool:
        return self.code == grpc.StatusCode.NOT_FOUND

    @property
    def is_invalid_argument(self) -> bool:
        return self.code == grpc.StatusCode.INVALID_ARGUMENT

    @property
    def is_unavailable(self) -> bool:
        return self.code == grpc.StatusCode.UNAVAILABLE

    @property
    def is_unauthenticated(self) -> bool:
        return self.code == grpc.StatusCode.UNAUTHENTICATED

    @property
    def is_permission_denied(self) -> bool:
        return self.code == grpc.StatusCode.PERMISSION_DENIED


class RunTimeoutError(RefitError, TimeoutError):
    """:meth:`refit_client.Client.wait` gave up: the run was still running at the deadline (it goes on)."""

    def __init__(self, run_id: str, timeout: float):
        self.run_id = run_id
        super().__init__(grpc.StatusCode.DEADLINE_EXCEEDED, f"run {run_id} still running after {timeout:g} s; it goes on", "")


class TriggerSuppressedError(RefitError):
    """:meth:`refit_client.Client.trigger` started no run: the pipeline's budget suppressed it."""

    def __init__(self, pipeline: str, message: str, decision_id: str):
        self.pipeline = pipeline
        self.decision_id = decision_id
        super().__init__(grpc.StatusCode.RESOURCE_EXHAUSTED, f"no run started for {pipeline}: {message}", "")


def _trailers(err: grpc.RpcError):
    trailers = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    return trailers or ()


def _details(err: grpc.RpcError) -> Optional[Any]:
    for key, value in _trailers(err):
        if key == ERROR_DETAILS_KEY:
            try:
                return json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)
            except ValueError:
                return value
    return None


def _status(err: grpc.RpcError) -> Optional[StatusDetails]:
    for key, value in _trailers(err):
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            return decode_status(value)
    return None


def from_rpc_error(err: grpc.RpcError, method: str = "") -> RefitError:
    """The :class:`RefitError` of a failed call (``grpc.RpcError`` raised by a stub)."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    message = err.details() if hasattr(err, "details") else str(err)
    return RefitError(code or grpc.StatusCode.UNKNOWN, message or "", method, _details(err), _status(err))
