"""Shared pieces of the typed layer: a typed message's fields as Python values, and a stored JSON
document (a ``*_json`` field from a server older than its typed field) read as that message."""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, Mapping, Optional, Type, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


def opt(m: Any, name: str) -> Any:
    """An ``optional`` field of a message (or a message field): its value, or None when unset."""
    return getattr(m, name) if m.HasField(name) else None


def opt_int(m: Any, name: str) -> Optional[int]:
    """An ``optional int64``: a Python int, or None when unset."""
    return int(getattr(m, name)) if m.HasField(name) else None


def msg(m: Any, name: str, convert: Callable[[Any], Any]) -> Any:
    """A message field converted, or None when unset."""
    return convert(getattr(m, name)) if m.HasField(name) else None


def as_dict(mapping: Any, value: Callable[[Any], Any] = lambda v: v) -> Dict[str, Any]:
    """A proto map as a plain dict."""
    return {k: value(v) for k, v in mapping.items()}


def _without_nulls(v: Any) -> Any:
    # A null in a stored document is a number it could not hold, or one not measured: unset.
    if isinstance(v, dict):
        return {k: _without_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_without_nulls(x) for x in v if x is not None]
    return v


def from_doc(doc: Any, message: Type[M], fix: Optional[Callable[[Dict[str, Any]], None]] = None) -> M:
    """The typed message of a stored JSON document (a dict, or its text): the message's JSON names
    are the document's keys; nulls are unset; keys the message does not know are ignored. ``fix``
    adjusts the few keys whose JSON is not the message's before parsing."""
    if isinstance(doc, (str, bytes)):
        doc = json.loads(doc) if doc else {}
    doc = _without_nulls(doc if isinstance(doc, Mapping) else {})
    if fix:
        fix(doc)
    return json_format.ParseDict(doc, message(), ignore_unknown_fields=True)


def typed_or_json(m: Any, field: str, json_field: str, message: Type[M], fix: Optional[Callable[[Dict[str, Any]], None]] = None) -> Optional[M]:
    """The typed field of ``m`` when set; else, from a server of the release before it, the same
    message read from its JSON field; None when neither has anything."""
    if m.HasField(field):
        return getattr(m, field)
    text = getattr(m, json_field)
    return from_doc(text, message, fix) if text else None
