"""JSON text for what the stores keep internally (log entries, skeletons, sidecars).

Dates are the one value JSON lacks; they are kept as ``{"$date": "<isoformat>"}`` so a
stored value reads back exactly (a Picoflow export uses the same marker).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

_DATE = "$date"


def to_jsonable(value: Any) -> Any:
    """``value`` with every ``datetime`` replaced by its ``{"$date": iso}`` marker."""
    if isinstance(value, datetime):
        return {_DATE: value.isoformat()}
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def from_jsonable(value: Any) -> Any:
    """Inverse of :func:`to_jsonable`."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(_DATE), str):
            return datetime.fromisoformat(value[_DATE])
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Compact JSON text, dates included."""
    return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """Inverse of :func:`dumps`."""
    return from_jsonable(json.loads(text))
