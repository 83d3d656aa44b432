"""Writing a model-form document in a chosen spelling (see `._spelling`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..errors import SessionDocumentError
from ._dates import epoch_ms, iso_ms, to_utc_ms
from ._json import MAX_DEPTH, join_path, js_number, js_stringify
from ._spelling import OBJECT_ID_RE, Document, Spelling, TextSpelling, is_object_id_like

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class _Writer:
    def __init__(self, spelling: Spelling, object_id: Callable[[str], Any] | None) -> None:
        self.spelling = spelling
        self.object_id = object_id

    def document(self, doc: Mapping[str, Any]) -> Document:
        out: Document = {}
        for k, v in doc.items():
            out[k] = self._id(v) if k == "_id" else self.value(v, join_path("", k), 2)
        return out

    def _id(self, v: Any) -> Any:
        if is_object_id_like(v):
            v = str(v).lower()
        if not isinstance(v, str) or not OBJECT_ID_RE.match(v):
            return self.value(v, "_id", 2)
        if self.spelling == "driver":
            return self.object_id(v) if self.object_id is not None else v
        return v if self.spelling == "plain" else {"$oid": v}

    def value(self, v: Any, path: str, depth: int) -> Any:
        s = self.spelling
        if v is None or v is True or v is False or isinstance(v, str):
            return v
        if isinstance(v, int):
            if s != "canonical":
                return v
            if _INT32[0] <= v <= _INT32[1]:
                return {"$numberInt": str(v)}
            if _INT64[0] <= v <= _INT64[1]:
                return {"$numberLong": str(v)}
            raise SessionDocumentError("integer does not fit in 64 bits", path)
        if isinstance(v, float):
            return self._float(float(v))
        if isinstance(v, datetime):
            return self._date(v)
        if isinstance(v, Mapping | list | tuple):
            if depth > MAX_DEPTH:
                raise SessionDocumentError(f"nested deeper than {MAX_DEPTH} levels", path)
            if isinstance(v, Mapping):
                return {k: self.value(x, join_path(path, k), depth + 1) for k, x in v.items()}
            return [self.value(x, join_path(path, i), depth + 1) for i, x in enumerate(v)]
        raise SessionDocumentError(f"unsupported value of type {type(v).__name__}", path)

    def _float(self, v: float) -> Any:
        s = self.spelling
        if s == "driver" or (s == "extended" and math.isfinite(v)):
            return v
        if s == "plain":
            return v if math.isfinite(v) else None  # what JSON.stringify does with NaN/Infinity
        if math.isnan(v):
            text = "NaN"
        elif math.isinf(v):
            text = "Infinity" if v > 0 else "-Infinity"
        elif v == 0 and math.copysign(1.0, v) < 0:
            text = "-0.0"
        elif v.is_integer() and abs(v) < 1e21:
            text = f"{int(v)}.0"  # js-bson writes integral doubles with toFixed(1)
        else:
            text = js_number(v)
        return {"$numberDouble": text}

    def _date(self, v: datetime) -> Any:
        s = self.spelling
        if s == "driver":
            return to_utc_ms(v)
        if s == "plain":
            return iso_ms(v)
        if s == "extended" and 1970 <= to_utc_ms(v).year <= 9999:
            return {"$date": iso_ms(v)}
        return {"$date": {"$numberLong": str(epoch_ms(v))}}


def dump(
    doc: Mapping[str, Any],
    spelling: Spelling = "plain",
    *,
    object_id: Callable[[str], Any] | None = None,
) -> Document:
    """Return a fresh copy of a model-form document in the given spelling.

    - ``plain``: dates as ``toISOString()`` strings, ``_id`` a string, NaN/Infinity as ``None``.
    - ``extended``: relaxed Extended JSON as mongosh/Compass export it: ``{"$date": "...Z"}``
      (``{"$numberLong"}`` outside 1970-9999), ``_id`` as ``{"$oid"}`` when it is 24 lowercase hex.
    - ``canonical``: ``{"$date": {"$numberLong"}}``, ``$numberInt`` (32-bit), ``$numberLong``
      (64-bit), ``$numberDouble`` (integral doubles as ``"1.0"``), ``$oid``.
    - ``driver``: for pymongo: dates stay aware UTC ``datetime`` objects; a 24-hex ``_id`` is
      passed through ``object_id`` (e.g. ``bson.ObjectId``) when given, else left a string.

        >>> dump({"_id": "6917ad4ac3d31db001ec2393", "version": 1}, "canonical")
        {'_id': {'$oid': '6917ad4ac3d31db001ec2393'}, 'version': {'$numberInt': '1'}}
    """
    if spelling not in ("plain", "extended", "canonical", "driver"):
        raise ValueError(f"unknown spelling {spelling!r}")
    return _Writer(spelling, object_id).document(doc)


def dumps(
    doc: Mapping[str, Any], spelling: TextSpelling = "plain", *, trailing_newline: bool = False
) -> str:
    """Serialise a model-form document as ``JSON.stringify(dump(doc, spelling), null, 2)``.

    >>> from datetime import timezone
    >>> dumps({"saveOn": datetime(2025, 1, 1, tzinfo=timezone.utc)})
    '{\\n  "saveOn": "2025-01-01T00:00:00.000Z"\\n}'
    """
    if spelling not in ("plain", "extended", "canonical"):
        raise ValueError(f"spelling {spelling!r} has no text form")
    text = js_stringify(dump(doc, spelling))
    return text + "\n" if trailing_newline else text
