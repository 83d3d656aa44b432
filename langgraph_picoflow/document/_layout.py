"""Which Picoflow layout a document is in (see SCHEMA.md, "Layout versions")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

#: ``A0`` (before 1.0.11), ``A1`` (1.0.11), ``B`` (1.0.12-1.0.13), ``C`` (1.1.x, read-only).
Layout = Literal["A0", "A1", "B", "C"]

#: Flow keys in the order Picoflow writes them, per layout.
FLOW_KEYS: dict[str, tuple[str, ...]] = {
    "A0": ("name", "memory", "steps", "context", "temperature"),
    "A1": ("name", "memory", "steps", "context", "sequence", "temperature"),
    "B": ("name", "memory", "steps", "context", "sequence"),
}
#: Top-level keys in the order Picoflow writes them (``_id`` only on Mongo).
TOP_LEVEL_KEYS = (
    "_id",
    "id",
    "version",
    "runStatus",
    "createdOn",
    "saveOn",
    "expireAfter",
    "tokens",
    "flows",
    "log",
    "error",
    "warn",
    "debug",
    "verbose",
)
#: The five log arrays, in document order.
LOG_ARRAYS = ("log", "error", "warn", "debug", "verbose")


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [x for x in value if isinstance(x, Mapping)] if isinstance(value, list) else []


def detect_layout(doc: Mapping[str, Any]) -> Layout:
    """Tell the layout of a document, leniently (documents re-saved by another version mix keys).

    - ``C``: a single ``flow`` object and no ``flows`` array;
    - ``B``: some step has ``modelParamsName``/``modelParams``, or flows have ``sequence`` but no
      ``temperature``; also ``flows: []`` and anything undecidable (B is what new documents use);
    - ``A1``: ``sequence`` with ``temperature`` (1.0.11, or an A0 document it re-saved);
    - ``A0``: flows without ``sequence``.

        >>> detect_layout({"flows": []}), detect_layout({"flow": {}})
        ('B', 'C')
    """
    if "flows" not in doc and isinstance(doc.get("flow"), Mapping):
        return "C"
    flows = _mappings(doc.get("flows"))
    if not flows:
        return "B"
    steps = [s for f in flows for s in _mappings(f.get("steps"))]
    if any("modelParamsName" in s or "modelParams" in s for s in steps):
        return "B"
    if any("sequence" in f for f in flows):
        return "A1" if any("temperature" in f for f in flows) else "B"
    return "A0"
