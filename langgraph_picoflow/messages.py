"""Lossless mapping between LangChain messages and Picoflow history entries.

A Picoflow history entry (see SCHEMA.md, "Messages") is a JSON object with keys in the order
``type, content, id``, then ``additional_kwargs`` only when non-empty, then ``tool_calls`` for an
``ai`` entry with calls, or ``tool_call_id, status, name`` for a ``tool`` entry. This module is
pure: it never reads or writes a store.

Two promises hold:

* ``to_entry(from_entry(e), entry_id=...)`` returns ``e`` exactly (same keys, same order, same
  values) and an empty sidecar, for every valid entry. That is how a document written by Picoflow
  is adopted and re-saved with its earlier history unchanged.
* ``from_entry(*to_entry(m, entry_id=...)) == m`` (same class, all fields equal) for every
  system, human, ai and tool message whose values are JSON.

Design choices:

* **Ids.** Picoflow derives step crossings from the ``<Step>|<time>|<10 digits>`` id prefix, so
  an entry keeps the message's id only when it has that form; otherwise it gets ``entry_id``.
* **additional_kwargs.** Only the keys Picoflow defines (``direct``, ``stopTool``) are written to
  the entry, so provider internals (OpenAI ``tool_calls``, Gemini signatures...) never reach a
  document that the TypeScript runtime will replay. An entry's ``additional_kwargs`` become the
  message's verbatim.
* **Object content.** LangChain content must be a string or a list, so an entry whose content is
  a JSON object (structured output) becomes a message whose content is that object as compact
  JSON text (what a model produced and what Picoflow itself sends for direct replies), marked by
  ``response_metadata["picoflow"] == {"content": "object"}``. ``to_entry`` turns such a message
  back into the object, with its key order, provided the text is still the compact encoding.
* **Unusual entries.** An entry that the rules above would not reproduce (unknown keys, another
  key order, empty ``additional_kwargs``, a tool entry without ``status``, an id not in Picoflow
  form...) is kept whole in ``response_metadata["picoflow"] == {"entry": <entry>}``;
  ``to_entry`` writes it back verbatim as long as the message still matches it.
* **Sidecar.** Everything a message has that its entry cannot carry: a JSON object whose keys are
  message field names (``id``, ``name``, ``usage_metadata``, ``response_metadata``,
  ``additional_kwargs``, ``invalid_tool_calls``, ``artifact``, ``tool_call_chunks``, pydantic
  extras...) with the value that *replaces* the one derived from the entry, plus ``class`` for
  the chunk classes (``AIMessageChunk``, ``HumanMessageChunk``, ``SystemMessageChunk``,
  ``ToolMessageChunk``), which are kept rather than refused. It is ``{}`` for messages read from
  a Picoflow document.
* **Refused.** Any other class (``ChatMessage``, ``FunctionMessage``, ``RemoveMessage``, user
  subclasses) raises ``UnsupportedMessageError``; a value that is not JSON (a ``Document``
  artifact, NaN, a tuple) raises ``SessionDocumentError`` naming where it is.

Entries and sidecars share nested values with the message rather than copying them; treat them
as read-only.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, partial
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    SystemMessageChunk,
    ToolMessage,
    ToolMessageChunk,
)

from langgraph_picoflow.document import storable_problems, text_problem
from langgraph_picoflow.errors import Problem, SessionDocumentError

__all__ = [
    "METADATA_KEY",
    "PICOFLOW_ID_RE",
    "PICOFLOW_KWARGS",
    "UnsupportedMessageError",
    "from_entry",
    "from_history",
    "is_picoflow_id",
    "to_entry",
    "to_history",
]

#: A Picoflow message id: ``<StepName>|<UTC YYYY-MM-DDTHH:mm:ss.SSSZ>|<integer in [1e9, 1e10)>``.
PICOFLOW_ID_RE = re.compile(
    r"\A[^|]+\|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\|[1-9]\d{9}\Z", re.ASCII
)

#: The ``additional_kwargs`` keys Picoflow defines; only these are written to an entry.
PICOFLOW_KWARGS = frozenset({"direct", "stopTool"})

#: The ``response_metadata`` key holding what a message needs to restore its entry exactly.
METADATA_KEY = "picoflow"

_OBJECT_HINT = {"content": "object"}
_KEYS = {
    "system": ("type", "content", "id", "additional_kwargs"),
    "human": ("type", "content", "id", "additional_kwargs"),
    "ai": ("type", "content", "id", "additional_kwargs", "tool_calls"),
    "tool": ("type", "content", "id", "additional_kwargs", "tool_call_id", "status", "name"),
}
# Exact classes only (no subclasses): a subclass may carry state or behaviour we cannot restore.
_CLASSES: dict[str, tuple[type[BaseMessage], type[BaseMessage]]] = {
    "system": (SystemMessage, SystemMessageChunk),
    "human": (HumanMessage, HumanMessageChunk),
    "ai": (AIMessage, AIMessageChunk),
    "tool": (ToolMessage, ToolMessageChunk),
}
_PLAIN = {etype: plain for etype, (plain, _) in _CLASSES.items()}
_CHUNKS = {chunk.__name__: chunk for _, chunk in _CLASSES.values()}
_TYPE_OF = {cls: etype for etype, pair in _CLASSES.items() for cls in pair}
_MISSING = object()


class UnsupportedMessageError(SessionDocumentError):
    """A message whose class a Picoflow history cannot hold (only system/human/ai/tool can)."""


def is_picoflow_id(value: object) -> bool:
    """Tell whether ``value`` is a message id in Picoflow's ``<Step>|<time>|<digits>`` form."""
    return isinstance(value, str) and PICOFLOW_ID_RE.match(value) is not None


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _dump_object(value: Mapping[str, Any]) -> str:
    # Compact like JSON.stringify, and the one spelling to_entry accepts as "still the object".
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_object(text: str) -> dict[str, Any] | None:
    """The JSON object ``text`` is the compact encoding of, or None."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) and _dump_object(value) == text else None


def _check_json(value: Any, path: str) -> None:
    """Raise unless ``value`` is made of JSON values only (so it survives any JSON store)."""
    if isinstance(value, str | int):  # text and integers every store can hold
        problems = list(storable_problems(value, path))
        if problems:
            raise SessionDocumentError(problems)
        return
    if value is None:
        return
    if isinstance(value, float):
        if math.isfinite(value):
            return
        raise SessionDocumentError(f"{value!r} is not a JSON number", path)
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SessionDocumentError(f"object key {key!r} is not a string", path)
            problem = text_problem(key, key=True)
            if problem:
                raise SessionDocumentError(f"key {problem}", _at(path, key))
            _check_json(item, _at(path, key))
        return
    raise SessionDocumentError(f"a {type(value).__name__} is not a JSON value", path)


def _read_entry(entry: object, path: str) -> tuple[str, dict[str, Any]]:
    """Validate ``entry``; return its type and the message fields it stands for."""
    if not isinstance(entry, Mapping):
        raise SessionDocumentError("expected a history entry (a JSON object)", path)
    etype = entry.get("type")
    if etype not in _KEYS:
        raise SessionDocumentError(
            f"unknown message type {etype!r}; expected system, human, ai or tool", _at(path, "type")
        )
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(_at(path, key), message))

    fields: dict[str, Any] = {}
    # "canonical": to_entry would write exactly this entry back from the message alone.
    canonical = list(entry) == [key for key in _KEYS[etype] if key in entry]
    content = entry.get("content")
    if isinstance(content, str):
        fields["content"] = content
    elif isinstance(content, list):
        for index, block in enumerate(content):
            if not isinstance(block, (str, dict)):
                bad(f"content[{index}]", "expected a string or a content block object")
        fields["content"] = content
    elif isinstance(content, dict):
        try:
            fields["content"] = _dump_object(content)
        except (TypeError, ValueError) as exc:
            bad("content", f"not a JSON object: {exc}")
    else:
        bad("content", "expected a string, a list of content blocks or a JSON object")
    entry_id = entry.get("id")
    if not isinstance(entry_id, str):
        bad("id", "expected a string")
    fields["id"] = entry_id
    canonical = canonical and is_picoflow_id(entry_id)
    if "additional_kwargs" in entry:
        kwargs = entry["additional_kwargs"]
        if isinstance(kwargs, dict):
            fields["additional_kwargs"] = dict(kwargs)
            canonical = canonical and bool(kwargs) and set(kwargs) <= PICOFLOW_KWARGS
        else:
            bad("additional_kwargs", "expected an object")
    if etype == "ai" and "tool_calls" in entry:
        calls = entry["tool_calls"]
        if not isinstance(calls, list):
            calls = []
            bad("tool_calls", "expected a list")
        canonical = canonical and bool(calls)
        fields["tool_calls"] = []
        for index, call in enumerate(calls):
            where = f"tool_calls[{index}]"
            if not isinstance(call, dict):
                bad(where, "expected an object")
                continue
            if not isinstance(call.get("name"), str):
                bad(f"{where}.name", "expected a string")
            if not isinstance(call.get("args"), dict):
                bad(f"{where}.args", "expected an object")
            if not isinstance(call.get("id"), (str, type(None))):
                bad(f"{where}.id", "expected a string or null")
            canonical = canonical and list(call) == ["name", "args", "id"]
            # Only the standard keys: anything else stays in the entry hint, not the message.
            standard = {key: call.get(key) for key in ("name", "args", "id")}
            fields["tool_calls"].append(standard | {"type": "tool_call"})
    if etype == "tool":
        if not isinstance(entry.get("tool_call_id"), str):
            bad("tool_call_id", "a tool entry needs a string tool_call_id")
        fields["tool_call_id"] = entry.get("tool_call_id")
        status = entry.get("status", "success")
        if status not in ("success", "error"):
            bad("status", "expected 'success' or 'error'")
        fields["status"] = status
        if not isinstance(entry.get("name"), (str, type(None))):
            bad("name", "expected a string or null")
        fields["name"] = entry.get("name")
        canonical = canonical and "status" in entry and isinstance(entry.get("name"), str)
    if problems:
        raise SessionDocumentError(problems)
    if not canonical:
        fields["response_metadata"] = {METADATA_KEY: {"entry": copy.deepcopy(dict(entry))}}
    elif isinstance(content, dict):
        fields["response_metadata"] = {METADATA_KEY: dict(_OBJECT_HINT)}
    return etype, fields


@cache
def _defaults(cls: type[BaseMessage]) -> dict[str, Any]:
    """The default of every optional field of ``cls``; shared, so copy a value before use."""
    # Cached because pydantic inspects the default factory's signature on every call.
    return {
        name: info.get_default(call_default_factory=True)
        for name, info in cls.model_fields.items()
        if name != "type" and not info.is_required()
    }


def _diff(message: BaseMessage, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``message`` that differ from those ``fields`` (plus defaults) describe."""
    defaults = _defaults(type(message))
    sidecar: dict[str, Any] = {}
    for name in [*type(message).model_fields, *(message.model_extra or {})]:
        if name == "type":  # fixed by the class
            continue
        value = getattr(message, name)
        if value != fields.get(name, defaults.get(name, _MISSING)):
            sidecar[name] = value
    return sidecar


def _to_entry(
    message: BaseMessage, new_id: Callable[[], str], path: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    cls = type(message)
    etype = _TYPE_OF.get(cls)
    if etype is None or "class" in (message.model_extra or {}):
        raise UnsupportedMessageError(
            f"a {cls.__name__} (id {message.id!r}) cannot be stored in a Picoflow history; "
            "only system, human, ai and tool messages can",
            path,
        )
    hint = message.response_metadata.get(METADATA_KEY)
    if cls is _PLAIN[etype] and isinstance(hint, Mapping) and list(hint) == ["entry"]:
        try:
            raw_type, fields = _read_entry(hint["entry"], path)
        except SessionDocumentError:
            pass  # a stale or foreign hint: fall through and describe the message itself
        else:
            if raw_type == etype and not _diff(message, fields):
                return copy.deepcopy(dict(hint["entry"])), {}

    entry_id = message.id
    if not is_picoflow_id(entry_id):
        entry_id = new_id()
        if not is_picoflow_id(entry_id):
            raise SessionDocumentError(
                f"entry_id {entry_id!r} is not a Picoflow message id", _at(path, "id")
            )
    content: Any = message.content
    if hint == _OBJECT_HINT and isinstance(content, str):
        parsed = _parse_object(content)
        content = content if parsed is None else parsed
    entry: dict[str, Any] = {"type": etype, "content": content, "id": entry_id}
    kwargs = {k: v for k, v in message.additional_kwargs.items() if k in PICOFLOW_KWARGS}
    if kwargs:
        entry["additional_kwargs"] = kwargs
    if isinstance(message, AIMessage) and message.tool_calls:
        entry["tool_calls"] = [
            {"name": call["name"], "args": call["args"], "id": call.get("id")}
            for call in message.tool_calls
        ]
    if isinstance(message, ToolMessage):
        entry |= {"tool_call_id": message.tool_call_id, "status": message.status}
        # Picoflow's tool entries always name the tool; "" is its "no name" (layout C).
        entry["name"] = message.name if message.name is not None else ""
    _check_json(entry, path)
    sidecar = _diff(message, _read_entry(entry, path)[1])
    if cls is not _PLAIN[etype]:
        sidecar["class"] = cls.__name__
    _check_json(sidecar, _at(path, "sidecar"))
    return entry, sidecar


def to_entry(
    message: BaseMessage, *, entry_id: str, path: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Turn ``message`` into ``(entry, sidecar)``: its Picoflow history entry and what else it has.

    ``entry_id`` is used when the message's own id is not in Picoflow form. ``path`` (e.g.
    ``flows[0].memory[1].history[3]``) prefixes the location in errors. Raises
    ``UnsupportedMessageError`` for a class Picoflow cannot hold and ``SessionDocumentError``
    for a value that is not JSON or an ``entry_id`` that is not a Picoflow id.
    """
    return _to_entry(message, lambda: entry_id, path)


def from_entry(
    entry: Mapping[str, Any], sidecar: Mapping[str, Any] | None = None, *, path: str = ""
) -> BaseMessage:
    """Build the LangChain message a Picoflow history entry (plus its sidecar, if any) stands for.

    Raises ``SessionDocumentError`` naming every malformed field, located under ``path``.
    """
    etype, fields = _read_entry(entry, path)
    overrides = dict(sidecar or {})
    class_name = overrides.pop("class", None)
    cls = _PLAIN[etype] if class_name is None else _CHUNKS.get(str(class_name))
    if cls is None or _TYPE_OF[cls] != etype:
        raise SessionDocumentError(
            f"class {class_name!r} cannot hold a {etype!r} entry", _at(path, "sidecar.class")
        )
    fields |= overrides
    try:
        message = cls(**fields)
    except (TypeError, ValueError) as exc:
        raise SessionDocumentError(f"cannot build a {cls.__name__}: {exc}", path) from exc
    # LangChain validators derive fields from others (tool calls from additional_kwargs or from
    # chunks); the entry and sidecar are the authority, so put back what they say.
    for name, value in (_defaults(cls) | fields).items():
        if getattr(message, name, _MISSING) != value:
            setattr(message, name, copy.deepcopy(value))
    return message


def to_history(
    messages: Iterable[BaseMessage],
    *,
    new_entry_id: Callable[[BaseMessage], str],
    path: str = "",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Turn messages into ``(entries, sidecars)`` (parallel lists), as ``to_entry`` does.

    ``new_entry_id(message)`` is called only for a message whose id must be replaced. Errors
    are located at ``path[index]``.
    """
    entries: list[dict[str, Any]] = []
    sidecars: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        entry, sidecar = _to_entry(message, partial(new_entry_id, message), f"{path}[{index}]")
        entries.append(entry)
        sidecars.append(sidecar)
    return entries, sidecars


def from_history(
    entries: Sequence[Mapping[str, Any]],
    sidecars: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    path: str = "",
) -> list[BaseMessage]:
    """Build the messages of a Picoflow history; ``sidecars``, if given, parallels ``entries``."""
    if sidecars is not None and len(sidecars) != len(entries):
        raise SessionDocumentError(
            f"{len(sidecars)} sidecars for {len(entries)} history entries", path
        )
    return [
        from_entry(entry, None if sidecars is None else sidecars[index], path=f"{path}[{index}]")
        for index, entry in enumerate(entries)
    ]
