"""Reading any spelling of a session document into model form (see `._spelling`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import SessionDocumentError
from ._dates import from_epoch_ms, parse_iso_ms, to_utc_ms
from ._json import MAX_DEPTH, join_path, parse_json_text
from ._layout import LOG_ARRAYS
from ._spelling import ANY_CASE_OBJECT_ID_RE, Document, Spelling, is_object_id_like

# Relaxed $date strings: js-bson writes milliseconds always, mongoexport drops trailing zeros.
_EJSON_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$"
)


@dataclass(frozen=True)
class Parsed:
    """A loaded document plus what its source said about itself.

    ``object_id`` is true when ``_id`` arrived as an ObjectId (``{"$oid": ...}`` or a driver
    ObjectId): such a document must keep a 24-hex ``_id`` (see ``validate(require_object_id=)``).
    ``trailing_newline`` records whether text input ended with ``\\n``, so that a rewrite in the
    same spelling can reproduce the file byte for byte.
    """

    document: Document
    spelling: Spelling
    trailing_newline: bool = False
    object_id: bool = False


def _ejson_date(text: str) -> datetime | None:
    m = _EJSON_DATE_RE.match(text)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or "", m.group(8)
    try:
        dt = datetime(y, mo, d, h, mi, s, int((frac + "000000")[:6]), tzinfo=timezone.utc)
        if zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            dt -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    except (ValueError, OverflowError):  # not a calendar date, or outside years 1-9999
        return None
    return to_utc_ms(dt)


class _Reader:
    """One pass over a source tree: converts to model form and notes which spelling it saw."""

    def __init__(self) -> None:
        self.extended = False
        self.canonical = False
        self.driver = False

    def value(self, v: Any, path: str, depth: int) -> Any:
        if v is None or v is True or v is False:
            return v
        if isinstance(v, str):
            return str(v)
        if isinstance(v, int):
            return int(v)  # bson Int64 is an int subclass
        if isinstance(v, float):
            return float(v)
        if isinstance(v, Mapping | list | tuple):
            if depth > MAX_DEPTH:
                raise SessionDocumentError(f"nested deeper than {MAX_DEPTH} levels", path)
            if isinstance(v, Mapping):
                if len(v) == 1:
                    found, converted = self._wrapper(v)
                    if found:
                        return converted
                out: dict[str, Any] = {}
                for k, x in v.items():
                    if not isinstance(k, str):
                        raise SessionDocumentError(f"object key {k!r} is not a string", path)
                    out[str(k)] = self.value(x, join_path(path, k), depth + 1)
                return out
            return [self.value(x, join_path(path, i), depth + 1) for i, x in enumerate(v)]
        if isinstance(v, datetime):
            self.driver = True
            return to_utc_ms(v)
        if is_object_id_like(v):
            self.driver = True
            return str(v).lower()
        raise SessionDocumentError(f"unsupported value of type {type(v).__name__}", path)

    def _wrapper(self, v: Mapping[str, Any]) -> tuple[bool, Any]:
        """Decode an Extended JSON wrapper; ``(False, None)`` when ``v`` is an ordinary object.

        A wrapper that does not decode (``{"$date": "tomorrow"}`` in a step's free-form state)
        is kept as an ordinary object: refusing it would make a valid Picoflow document
        unreadable.
        """
        ((key, inner),) = v.items()
        decoded: Any = None
        if key == "$oid" and isinstance(inner, str):
            decoded = inner.lower() if ANY_CASE_OBJECT_ID_RE.match(inner) else inner
        elif key == "$date":
            decoded = self._date(inner)
        elif key in ("$numberInt", "$numberLong", "$numberDouble") and isinstance(inner, str):
            try:
                decoded = float(inner) if key == "$numberDouble" else int(inner)
            except ValueError:
                decoded = None
            # Relaxed Extended JSON only uses $numberDouble for NaN and the infinities.
            if decoded is not None and (key != "$numberDouble" or math.isfinite(decoded)):
                self.canonical = True
        if decoded is None:
            return False, None
        self.extended = True
        return True, decoded

    def _date(self, inner: Any) -> datetime | None:
        if isinstance(inner, str):
            return _ejson_date(inner)
        if isinstance(inner, Mapping) and set(inner) == {"$numberLong"}:
            try:
                dt = from_epoch_ms(int(inner["$numberLong"]))
            except (ValueError, TypeError, OverflowError):
                return None
            # Relaxed mode spells in-range dates as strings, so this one came from canonical.
            if 1970 <= dt.year <= 9999:
                self.canonical = True
            return dt
        return None

    def spelling(self) -> Spelling:
        if self.driver:
            return "driver"
        if self.canonical:
            return "canonical"
        return "extended" if self.extended else "plain"


def _revive(container: Any, key: str) -> None:
    if isinstance(container, dict) and isinstance(container.get(key), str):
        dt = parse_iso_ms(container[key])
        if dt is not None:
            container[key] = dt


def _revive_plain_dates(doc: Document) -> None:
    """Turn ISO strings back into datetimes, but only where Picoflow stores Date objects."""
    _revive(doc, "createdOn")
    _revive(doc, "saveOn")
    flows = doc.get("flows")
    flow_list = flows if isinstance(flows, list) else [doc.get("flow")]
    for flow in flow_list:
        steps = flow.get("steps") if isinstance(flow, dict) else None
        for step in steps if isinstance(steps, list) else ():
            if isinstance(step, dict):
                _revive(step.get("state"), "_saveOn")
    for name in LOG_ARRAYS:
        entries = doc.get(name)
        for entry in entries if isinstance(entries, list) else ():
            _revive(entry, "timestamp")


def parse(source: Mapping[str, Any] | str | bytes) -> Parsed:
    """Load a document from any spelling and report which spelling it was.

    ``source`` is JSON text (``str`` or UTF-8 ``bytes``) or a mapping (e.g. what pymongo or the
    Cosmos SDK returned). Raises `SessionDocumentError` for invalid JSON (with line and column),
    a non-object, nesting deeper than 256 levels, or a value that is not JSON (nor a date or
    ObjectId). An Extended JSON wrapper that does not decode is kept as an ordinary object::

        >>> p = parse('{"id": "x", "saveOn": {"$date": "2025-01-01T00:00:00.000Z"}}')
        >>> p.spelling, p.document["saveOn"].year
        ('extended', 2025)
    """
    trailing_newline = False
    if isinstance(source, bytes | bytearray):
        try:
            source = bytes(source).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SessionDocumentError(f"not UTF-8 text: {exc}") from None
    if isinstance(source, str):
        text = source.removeprefix("\ufeff")
        trailing_newline = text.endswith("\n")
        tree: Any = parse_json_text(text)
    else:
        tree = source
    if not isinstance(tree, Mapping):
        raise SessionDocumentError("a session document must be a JSON object")
    reader = _Reader()
    raw_id = tree.get("_id")
    doc: Document = reader.value(tree, "", 1)
    spelling = reader.spelling()
    if spelling == "plain":
        _revive_plain_dates(doc)
    object_id = is_object_id_like(raw_id) or (
        isinstance(raw_id, Mapping) and set(raw_id) == {"$oid"}
    )
    return Parsed(doc, spelling, trailing_newline, object_id)


def load(source: Mapping[str, Any] | str | bytes) -> Document:
    """Load a session document in any spelling into model form (see `parse`).

    >>> load('{"_id": {"$oid": "6917ad4ac3d31db001ec2393"}}')
    {'_id': '6917ad4ac3d31db001ec2393'}
    """
    return parse(source).document
