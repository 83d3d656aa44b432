"""The spellings of a session document, and the model form they all load into.

Model form: a plain ``dict`` tree in stored key order, JSON-compatible except that dates are
aware UTC ``datetime`` objects (millisecond precision) and ``_id`` is a string. The spelling
(plain JSON, relaxed or canonical Extended JSON, pymongo's in-driver values) is not recorded in
the tree: it is chosen again when the document is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

#: How a document is spelled: ``plain`` (``JSON.stringify``: ISO date strings, string ``_id``),
#: ``extended`` (relaxed Mongo Extended JSON), ``canonical`` (canonical Extended JSON) or
#: ``driver`` (the values pymongo hands over: ``datetime`` and ``ObjectId``).
Spelling = Literal["plain", "extended", "canonical", "driver"]
#: The spellings that have a text form.
TextSpelling = Literal["plain", "extended", "canonical"]
#: Model form of a session document.
Document = dict[str, Any]

#: A MongoDB ObjectId as Picoflow writes it in ``id``: 24 lowercase hex characters.
OBJECT_ID_RE = re.compile(r"^[0-9a-f]{24}$")
ANY_CASE_OBJECT_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")


def is_object_id_like(value: object) -> bool:
    """True for a bson ``ObjectId`` (checked by duck typing: this package never imports bson)."""
    if isinstance(value, str | bytes | int | float | Mapping | list | tuple) or value is None:
        return False
    if type(value).__name__ == "ObjectId":
        return True
    return hasattr(value, "binary") and bool(ANY_CASE_OBJECT_ID_RE.match(str(value)))
