"""Errors of the Refit client: every failed call is a :class:`RefitError` with the gRPC status."""
from __future__ import annotations

import json
from typing import Any, Optional

import grpc

#: Trailing-metadata key in which Refit services send an error's details (UTF-8 JSON).
ERROR_DETAILS_KEY = "refit-error-details-bin"


class RefitError(Exception):
    """A call to a Refit service failed.

    ``code`` is the :class:`grpc.StatusCode` (``code_name`` its name, e.g. ``"NOT_FOUND"``),
    ``message`` the service's sentence (written for the caller), ``method`` the gRPC method that
    failed and ``details`` the structured details the service attached, if any.
    """

    def __init__(self, code: grpc.StatusCode, message: str, method: str = "", details: Optional[Any] = None):
        self.code = code
        self.message = message
        self.method = method
        self.details = details
        where = f" ({method})" if method else ""
        super().__init__(f"{code.name}{where}: {message}")

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


def _details(err: grpc.RpcError) -> Optional[Any]:
    trailers = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == ERROR_DETAILS_KEY:
            try:
                return json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)
            except ValueError:
                return value
    return None


def from_rpc_error(err: grpc.RpcError, method: str = "") -> RefitError:
    """The :class:`RefitError` of a failed call (``grpc.RpcError`` raised by a stub)."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    message = err.details() if hasattr(err, "details") else str(err)
    return RefitError(code or grpc.StatusCode.UNKNOWN, message or "", method, _details(err))
