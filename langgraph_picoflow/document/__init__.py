"""The Picoflow session document as data: load, validate, build and write it. Pure.

A loaded document is in *model form*: a plain ``dict`` tree in Picoflow's key order,
JSON-compatible except that dates are aware UTC ``datetime`` objects (millisecond precision)
and ``_id`` is a string. `dump`/`dumps` write it in any spelling::

    >>> doc = load('{"_id": {"$oid": "6917ad4ac3d31db001ec2393"}, "version": 1}')
    >>> dumps(doc, "plain")
    '{\\n  "_id": "6917ad4ac3d31db001ec2393",\\n  "version": 1\\n}'

Nothing here performs I/O or imports a database driver.
"""

from ._build import DEFAULT_EXPIRE_AFTER, new_flow, new_message, new_session, new_step
from ._convert import to_layout_b
from ._dates import ISO_MS_RE, iso_ms, parse_iso_ms, to_utc_ms, utc_now_ms
from ._ids import (
    MESSAGE_ID_RE,
    message_id_step,
    new_message_id,
    new_session_id,
    parse_message_id,
)
from ._json import MAX_DEPTH, join_path, js_number, js_stringify
from ._layout import FLOW_KEYS, LOG_ARRAYS, TOP_LEVEL_KEYS, Layout, detect_layout
from ._read import Parsed, load, parse
from ._spelling import OBJECT_ID_RE, Document, Spelling, TextSpelling, is_object_id_like
from ._storable import check_text, storable_problems, text_problem
from ._validate import MESSAGE_TYPES, RUN_STATUSES, TOOL_STATUSES, check, validate
from ._write import dump, dumps

__all__ = [
    "DEFAULT_EXPIRE_AFTER",
    "FLOW_KEYS",
    "ISO_MS_RE",
    "LOG_ARRAYS",
    "MAX_DEPTH",
    "MESSAGE_ID_RE",
    "MESSAGE_TYPES",
    "OBJECT_ID_RE",
    "RUN_STATUSES",
    "TOOL_STATUSES",
    "TOP_LEVEL_KEYS",
    "Document",
    "Layout",
    "Parsed",
    "Spelling",
    "TextSpelling",
    "check",
    "check_text",
    "detect_layout",
    "dump",
    "dumps",
    "is_object_id_like",
    "iso_ms",
    "join_path",
    "js_number",
    "js_stringify",
    "load",
    "message_id_step",
    "new_flow",
    "new_message",
    "new_message_id",
    "new_session",
    "new_session_id",
    "new_step",
    "parse",
    "parse_iso_ms",
    "parse_message_id",
    "storable_problems",
    "text_problem",
    "to_layout_b",
    "to_utc_ms",
    "utc_now_ms",
    "validate",
]
