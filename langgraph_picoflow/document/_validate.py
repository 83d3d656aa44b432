"""Validation: every problem of a document, each with its JSON path and what was expected.

What is checked is what a Picoflow 1.0.x runtime needs to resume the document (SCHEMA.md, "What
Picoflow 1.0.x needs") plus the types of every field SCHEMA.md names. Unknown keys are allowed
anywhere. ``strict=True`` adds what Picoflow always writes but never reads back: ``version``,
``createdOn`` and ``expireAfter`` present, message ids in full ``<Step>|<time>|<10 digits>``
form, and a system message at index 0 of every non-empty history.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from ..errors import Problem, SessionDocumentError
from ._ids import message_id_step, parse_message_id
from ._json import MAX_DEPTH, join_path
from ._layout import LOG_ARRAYS, detect_layout
from ._spelling import OBJECT_ID_RE, is_object_id_like
from ._storable import storable_problems

RUN_STATUSES = ("running", "completed", "aborted")
MESSAGE_TYPES = ("system", "human", "ai", "tool")
TOOL_STATUSES = ("success", "error")

_ISO_DATE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
_MAX_WALK_PROBLEMS = 20


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_name(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_object(v: Any) -> bool:
    return isinstance(v, Mapping)


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


def _is_date(v: Any) -> bool:
    # Picoflow accepts a Date, an ISO string or epoch milliseconds wherever it reads a date.
    if isinstance(v, datetime):
        return True
    if isinstance(v, str):
        return bool(_ISO_DATE_RE.match(v))
    return _is_number(v)


def _is_content(v: Any) -> bool:
    # What a LangChain message can hold: text, an object, or blocks that are text or objects.
    if isinstance(v, list):
        return all(isinstance(block, str | Mapping) for block in v)
    return isinstance(v, str | Mapping)


_STRING = (_is_str, "expected a string")
_NAME = (_is_name, "expected a non-empty string")
_NUMBER = (_is_number, "expected a number")
_INT = (_is_int, "expected an integer")
_BOOL = (_is_bool, "expected true or false")
_OBJECT = (_is_object, "expected an object")
_LIST = (_is_list, "expected an array")
_DATE = (_is_date, "expected a date (BSON date, ISO-8601 string or epoch milliseconds)")
_CONTENT = (
    _is_content,
    "expected a string, an object or an array of content blocks (strings or objects)",
)

_Check = tuple[Callable[[Any], bool], str]


class _Validator:
    def __init__(self, *, require_object_id: bool, strict: bool) -> None:
        self.require_object_id = require_object_id
        self.strict = strict
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def field(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        check: _Check,
        *,
        required: bool = True,
        why: str = "",
    ) -> Any:
        """Check ``obj[key]``; return it when present and valid, else ``None``."""
        where = join_path(path, key)
        if key not in obj:
            if required:
                self.add(where, f"required{why}")
            return None
        value = obj[key]
        ok, expected = check
        if not ok(value):
            self.add(where, f"{expected}, got {_describe(value)}")
            return None
        return value

    def one_of(
        self, obj: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...], why: str = ""
    ) -> Any:
        where = join_path(path, key)
        if key not in obj:
            self.add(where, f"required{why}")
            return None
        if obj[key] not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            self.add(where, f"expected one of {choices}, got {_describe(obj[key])}")
            return None
        return obj[key]

    def unique_name(
        self, obj: Mapping[str, Any], key: str, path: str, seen: set[str], what: str
    ) -> Any:
        """Check a required non-empty name that must not repeat among its siblings."""
        name = self.field(obj, key, path, _NAME)
        if name is not None:
            if name in seen:
                self.add(join_path(path, key), f"duplicate {what} {name!r}")
            seen.add(name)
        return name

    def objects(self, value: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """The object items of an array; items that are not objects are reported in turn."""
        for i, item in enumerate(value if isinstance(value, list) else ()):
            where = join_path(path, i)
            if isinstance(item, Mapping):
                yield where, item
            else:
                self.add(where, f"expected an object, got {_describe(item)}")

    # -- top level -------------------------------------------------------------------------

    def document(self, doc: Any) -> None:
        if not isinstance(doc, Mapping):
            self.add("", f"a session document must be an object, got {_describe(doc)}")
            return
        self.walk(doc)
        layout = detect_layout(doc)
        self.identity(doc)
        self.field(doc, "version", "", _NUMBER, required=self.strict)
        self.one_of(doc, "runStatus", "", RUN_STATUSES)
        self.field(doc, "createdOn", "", _DATE, required=self.strict)
        self.field(doc, "saveOn", "", _DATE)
        self.field(doc, "expireAfter", "", _NUMBER, required=self.strict)
        tokens = self.field(doc, "tokens", "", _OBJECT)
        for key, value in (tokens or {}).items():
            if not _is_number(value):
                self.add(join_path("tokens", key), f"expected a number, got {_describe(value)}")
        if layout == "C":
            self.field(doc, "revision", "", _INT, required=False)
            flow = self.field(doc, "flow", "", _OBJECT)
            if flow is not None:
                self.flow_c(flow, "flow")
        else:
            flows = self.field(doc, "flows", "", _LIST)
            self.flows(flows or [], layout)
        for name in LOG_ARRAYS:
            entries = self.field(doc, name, "", _LIST)
            for where, entry in self.objects(entries, name):
                self.field(entry, "timestamp", where, _DATE)
                self.field(entry, "level", where, _STRING)
                if "message" not in entry:
                    self.add(join_path(where, "message"), "required")

    def identity(self, doc: Mapping[str, Any]) -> None:
        session_id = self.field(doc, "id", "", _NAME)
        if "_id" not in doc:
            if self.require_object_id:
                self.add("_id", "required: this document is stored with an ObjectId _id")
            return
        raw = doc["_id"]
        oid = str(raw).lower() if is_object_id_like(raw) else raw
        if self.require_object_id and not (isinstance(oid, str) and OBJECT_ID_RE.match(oid)):
            self.add("_id", f"expected a 24-character lowercase hex ObjectId, got {_describe(raw)}")
        elif not isinstance(oid, str):
            self.add("_id", f"expected a string, got {_describe(raw)}")
        elif session_id is not None and oid != session_id:
            self.add("id", f"expected the same value as _id ({oid!r}), got {session_id!r}")

    # -- flows[] (A0, A1, B) ---------------------------------------------------------------

    def flows(self, flows: list[Any], layout: str) -> None:
        seen: set[str] = set()
        for where, flow in self.objects(flows, "flows"):
            self.unique_name(flow, "name", where, seen, "flow name")
            memory = self.field(flow, "memory", where, _LIST)
            self.memory(memory, join_path(where, "memory"))
            steps = self.field(flow, "steps", where, _LIST)
            self.steps(steps, join_path(where, "steps"))
            self.field(flow, "context", where, _OBJECT)
            sequence = self.field(
                flow, "sequence", where, _LIST, required=layout != "A0", why=f" in layout {layout}"
            )
            for i, item in enumerate(sequence or ()):
                if not _is_name(item):
                    where_item = join_path(join_path(where, "sequence"), i)
                    self.add(where_item, f"expected a step name, got {_describe(item)}")
            self.field(flow, "temperature", where, _NUMBER, required=False)

    def memory(self, memory: Any, path: str) -> None:
        seen: set[str] = set()
        for where, ns in self.objects(memory, path):
            self.unique_name(ns, "nameSpace", where, seen, "nameSpace")
            history = self.field(ns, "history", where, _LIST)
            for at, message in self.objects(history, join_path(where, "history")):
                self.message(message, at, layout_c=False)
            first = history[0] if history else None
            if self.strict and isinstance(first, Mapping) and first.get("type") != "system":
                self.add(
                    join_path(join_path(where, "history"), 0),
                    "expected a system message at index 0 (Picoflow replaces it with the prompt)",
                )

    def steps(self, steps: Any, path: str) -> None:
        active: list[str] = []
        seen: set[str] = set()
        for where, step in self.objects(steps, path):
            self.unique_name(step, "name", where, seen, "step name")
            if self.field(step, "isActive", where, _BOOL) is True:
                active.append(where)
            self.state(step, where)
            self.field(step, "modelName", where, _STRING, required=False)
            self.field(step, "modelParamsName", where, _STRING, required=False)
            self.field(step, "modelParams", where, _OBJECT, required=False)
            self.field(step, "temperature", where, _NUMBER, required=False)
        if len(active) > 1:
            self.add(path, f"exactly one step may be active, found {len(active)}: {active}")
        elif isinstance(steps, list) and steps and not active:
            self.add(path, "exactly one step must be active (isActive: true), found none")

    def state(self, step: Mapping[str, Any], path: str) -> None:
        state = self.field(step, "state", path, _OBJECT)
        if state is None:
            return
        where = join_path(path, "state")
        self.field(state, "_saveOn", where, _DATE, required=False)
        self.field(state, "_prompt", where, _STRING, required=False)
        stop = self.field(state, "_stopTool", where, _OBJECT, required=False)
        for tool, flag in (stop or {}).items():
            if not isinstance(flag, bool):
                self.add(join_path(join_path(where, "_stopTool"), tool), _BOOL[1])

    # -- messages --------------------------------------------------------------------------

    def message(self, msg: Mapping[str, Any], path: str, *, layout_c: bool) -> None:
        kind = self.one_of(msg, "type", path, MESSAGE_TYPES)
        self.field(msg, "content", path, _CONTENT)
        message_id = self.field(msg, "id", path, _STRING)
        if message_id is not None and not layout_c:
            self.message_id(message_id, join_path(path, "id"))
        self.field(msg, "additional_kwargs", path, _OBJECT, required=False)
        if layout_c:
            self.field(msg, "timestamp", path, _DATE, required=False)
        if kind == "ai":
            calls = self.field(msg, "tool_calls", path, _LIST, required=False)
            for where, call in self.objects(calls, join_path(path, "tool_calls")):
                self.field(call, "name", where, _NAME)
                self.field(call, "args", where, _OBJECT)
                self.field(call, "id", where, _STRING)
        elif kind == "tool":
            why = " for a tool message"
            self.field(msg, "tool_call_id", path, _STRING, why=why)
            if layout_c:
                if "status" in msg:
                    self.one_of(msg, "status", path, TOOL_STATUSES)
            else:
                self.one_of(msg, "status", path, TOOL_STATUSES, why=why)
            self.field(msg, "name", path, _STRING, why=why)
        elif layout_c:
            self.field(msg, "name", path, _STRING, required=False)

    def message_id(self, message_id: str, path: str) -> None:
        if self.strict:
            if parse_message_id(message_id) is None:
                expected = "'<Step>|<YYYY-MM-DDTHH:mm:ss.SSSZ>|<10 digits>'"
                self.add(path, f"expected {expected}, got {message_id!r}")
        elif message_id_step(message_id) is None:
            self.add(
                path,
                f"expected '<Step>|...' (Picoflow reads the step prefix), got {message_id!r}",
            )

    # -- layout C --------------------------------------------------------------------------

    def flow_c(self, flow: Mapping[str, Any], path: str) -> None:
        self.field(flow, "name", path, _NAME)
        self.model_c(flow, path, required=False)
        self.field(flow, "context", path, _OBJECT, required=False)
        memory = self.field(flow, "memory", path, _OBJECT)
        for ns, entry in (memory or {}).items():
            where = join_path(join_path(path, "memory"), ns)
            if not isinstance(entry, Mapping):
                self.add(where, f"expected an object, got {_describe(entry)}")
                continue
            messages = self.field(entry, "messages", where, _LIST)
            for at, msg in self.objects(messages, join_path(where, "messages")):
                self.message(msg, at, layout_c=True)
            self.field(entry, "summarizedThroughId", where, _STRING, required=False)
        steps = self.field(flow, "steps", path, _LIST)
        names: set[str] = set()
        for where, step in self.objects(steps, join_path(path, "steps")):
            name = self.field(step, "name", where, _NAME)
            if name is not None:
                names.add(name)
            self.state(step, where)
            self.model_c(step, where, required=False)
        current = self.field(flow, "currentStep", path, _NAME)
        if current is not None and steps is not None and current not in names:
            self.add(join_path(path, "currentStep"), f"names no step of the flow: {current!r}")
        sequence = self.field(flow, "sequence", path, _LIST)
        for where, item in self.objects(sequence, join_path(path, "sequence")):
            self.field(item, "level", where, _INT)
            self.field(item, "stepName", where, _NAME)

    def model_c(self, obj: Mapping[str, Any], path: str, *, required: bool) -> None:
        model = self.field(obj, "model", path, _OBJECT, required=required)
        if model is not None:
            where = join_path(path, "model")
            self.field(model, "name", where, _NAME)
            self.field(model, "params", where, _OBJECT, required=False)

    # -- every value ---------------------------------------------------------------------

    def walk(self, doc: Mapping[str, Any]) -> None:
        """Check that every value is JSON or a date, and nesting stays within bounds.

        Iterative, so that a 10,000-level tree gives a problem instead of a RecursionError.
        """
        found = 0
        stack: list[tuple[Any, str, int]] = [(doc, "", 1)]
        while stack and found < _MAX_WALK_PROBLEMS:
            value, path, depth = stack.pop()
            if isinstance(value, Mapping | list | tuple):
                if depth > MAX_DEPTH:
                    self.add(path, f"nested deeper than {MAX_DEPTH} levels")
                    found += 1
                    continue
                items = value.items() if isinstance(value, Mapping) else enumerate(value)
                for key, child in reversed(list(items)):
                    if isinstance(value, Mapping) and not isinstance(key, str):
                        self.add(path, f"object key {key!r} is not a string")
                        found += 1
                        continue
                    stack.append((child, join_path(path, key), depth + 1))
            elif not (
                value is None
                or isinstance(value, str | int | float | datetime)
                or (path == "_id" and is_object_id_like(value))
            ):
                self.add(path, f"{type(value).__name__} is not a JSON value or a date")
                found += 1


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, datetime):
        return "a date"
    return f"a {type(value).__name__}"


def validate(
    doc: Mapping[str, Any], *, require_object_id: bool = False, strict: bool = False
) -> list[Problem]:
    """Return every problem of a model-form document (empty when it is valid).

    ``require_object_id``: the document is (or will be) stored with an ObjectId ``_id`` (it was
    loaded from ``$oid`` or a driver ObjectId, see `Parsed.object_id`), so ``_id`` must be 24
    lowercase hex. ``strict``: also require what Picoflow always writes (see the module doc)::

        >>> [p.path for p in validate({"id": "s", "runStatus": "done"})][:3]
        ['runStatus', 'saveOn', 'tokens']
    """
    v = _Validator(require_object_id=require_object_id, strict=strict)
    v.document(doc)
    return [*v.problems, *storable_problems(doc)]


def check(doc: Mapping[str, Any], *, require_object_id: bool = False, strict: bool = False) -> None:
    """Raise `SessionDocumentError` listing every problem `validate` finds; return if none."""
    problems = validate(doc, require_object_id=require_object_id, strict=strict)
    if problems:
        raise SessionDocumentError(problems)
