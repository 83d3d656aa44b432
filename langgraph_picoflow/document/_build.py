"""Builders for new documents, flows, steps and messages, in Picoflow's key order."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..errors import SessionDocumentError
from ._dates import to_utc_ms
from ._layout import LOG_ARRAYS, Layout
from ._spelling import OBJECT_ID_RE, Document
from ._validate import MESSAGE_TYPES, TOOL_STATUSES

#: SESSION_EXPIRATION's default in Picoflow 1.0.x, in seconds.
DEFAULT_EXPIRE_AFTER = 600


def _writable(layout: Layout) -> None:
    if layout not in ("A0", "A1", "B"):
        raise ValueError(f"cannot build layout {layout!r}: layout C is read-only")


def new_step(
    name: str,
    *,
    active: bool,
    state: Mapping[str, Any] | None = None,
    layout: Layout = "B",
    model_name: str | None = None,
    model_params_name: str | None = None,
    model_params: Mapping[str, Any] | None = None,
    logic: bool = False,
    temperature: float = -1,
) -> dict[str, Any]:
    """A step entry in the key order of ``layout``.

    - A0: ``name, isActive, state, modelName, temperature``;
    - A1: the same for an LLM step, only ``name, isActive, state`` for a ``logic`` step;
    - B: ``name, isActive, state, modelName, modelParamsName, modelParams`` for every step,
      ``modelParamsName`` defaulting to ``model_name`` and ``modelParams`` to ``{}``.

    Model fields are informational (Picoflow rewrites them from code); they are left out when
    ``model_name`` is ``None``::

        >>> list(new_step("HelloStep", active=True, model_name="gpt-4o"))
        ['name', 'isActive', 'state', 'modelName', 'modelParamsName', 'modelParams']
    """
    _writable(layout)
    step: dict[str, Any] = {
        "name": name,
        "isActive": active,
        "state": copy.deepcopy(dict(state)) if state is not None else {},
    }
    if layout == "B":
        if model_name is not None:
            step["modelName"] = model_name
            step["modelParamsName"] = model_params_name or model_name
            step["modelParams"] = copy.deepcopy(dict(model_params or {}))
    elif not (layout == "A1" and logic):
        if model_name is not None:
            step["modelName"] = model_name
        step["temperature"] = temperature
    return step


def new_flow(
    name: str,
    steps: Sequence[Mapping[str, Any]] = (),
    layout: Layout = "B",
    *,
    context_config: Any = None,
    sequence: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A flow entry with empty ``memory``, in the key order of ``layout``.

    ``steps`` are step entries (see `new_step`), copied in declaration order. ``sequence``
    (A1, B) defaults to the names of the active steps. ``context`` is ``{"config":
    context_config}``; A0/A1 end with ``temperature: -1``::

        >>> new_flow("MedicalFlow", [new_step("SymptomsStep", active=True)])["sequence"]
        ['SymptomsStep']
    """
    _writable(layout)
    step_list = [copy.deepcopy(dict(s)) for s in steps]
    flow: dict[str, Any] = {
        "name": name,
        "memory": [],
        "steps": step_list,
        "context": {"config": copy.deepcopy(context_config)},
    }
    if layout != "A0":
        flow["sequence"] = (
            list(sequence)
            if sequence is not None
            else [s["name"] for s in step_list if s.get("isActive") is True]
        )
    if layout != "B":
        flow["temperature"] = -1
    return flow


def new_session(
    session_id: str,
    *,
    now: datetime,
    flow_name: str | None,
    steps: Sequence[Mapping[str, Any]] = (),
    layout: Layout = "B",
    expire_after: int = DEFAULT_EXPIRE_AFTER,
    mongo_id: bool = True,
    context_config: Any = None,
) -> Document:
    """A new running session in Picoflow's top-level key order.

    ``_id`` is written only when ``mongo_id`` is true and ``session_id`` is 24 lowercase hex
    (what Picoflow's Mongo store needs to find it). ``tokens`` starts as ``{}`` (Picoflow adds
    each counter once it is non-zero). ``flows`` is ``[]`` when ``flow_name`` is ``None``::

        >>> from datetime import timezone
        >>> doc = new_session("6917ad4ac3d31db001ec2393", now=datetime(2025, 1, 1,
        ...                   tzinfo=timezone.utc), flow_name=None)
        >>> list(doc)[:5], doc["flows"]
        (['_id', 'id', 'version', 'runStatus', 'createdOn'], [])
    """
    _writable(layout)
    stamp = to_utc_ms(now)
    doc: Document = {}
    if mongo_id and OBJECT_ID_RE.match(session_id):
        doc["_id"] = session_id
    doc.update(
        id=session_id,
        version=1,
        runStatus="running",
        createdOn=stamp,
        saveOn=stamp,
        expireAfter=expire_after,
        tokens={},
        flows=[]
        if flow_name is None
        else [new_flow(flow_name, steps, layout, context_config=context_config)],
    )
    for name in LOG_ARRAYS:
        doc[name] = []
    return doc


def new_message(
    type: str,
    content: str | Mapping[str, Any] | Sequence[Any],
    id: str,
    *,
    additional_kwargs: Mapping[str, Any] | None = None,
    tool_calls: Sequence[Mapping[str, Any]] | None = None,
    tool_call_id: str | None = None,
    status: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """A history entry in SCHEMA.md's key order.

    ``type, content, id``, then ``additional_kwargs`` only when non-empty, then ``tool_calls``
    (``ai`` with calls; each ``{name, args, id}`` first, any other keys after) or
    ``tool_call_id, status, name`` (``tool``; ``status`` defaults to ``"success"``). Arguments
    that do not fit the type raise `SessionDocumentError`::

        >>> new_message("human", "Hi", "HelloStep|2025-11-14T22:29:30.660Z|7849520331",
        ...             additional_kwargs={"direct": False})["additional_kwargs"]
        {'direct': False}
    """
    if type not in MESSAGE_TYPES:
        raise SessionDocumentError(f"expected one of {MESSAGE_TYPES}, got {type!r}", "type")
    if type != "ai" and tool_calls:
        raise SessionDocumentError("only an ai message carries tool calls", "tool_calls")
    if type != "tool" and (tool_call_id is not None or status is not None or name is not None):
        raise SessionDocumentError("only a tool message has tool_call_id, status and name")
    if isinstance(content, Mapping):
        content = dict(content)
    elif not isinstance(content, str):
        content = list(content)
    message: dict[str, Any] = {"type": type, "content": copy.deepcopy(content), "id": id}
    if additional_kwargs:
        message["additional_kwargs"] = copy.deepcopy(dict(additional_kwargs))
    if tool_calls:
        message["tool_calls"] = [_tool_call(call, i) for i, call in enumerate(tool_calls)]
    if type == "tool":
        if tool_call_id is None or name is None:
            raise SessionDocumentError("a tool message needs tool_call_id and name")
        status = status or "success"
        if status not in TOOL_STATUSES:
            raise SessionDocumentError(f"expected one of {TOOL_STATUSES}, got {status!r}", "status")
        message.update(tool_call_id=tool_call_id, status=status, name=name)
    return message


def _tool_call(call: Mapping[str, Any], index: int) -> dict[str, Any]:
    missing = [k for k in ("name", "args", "id") if k not in call]
    if missing:
        raise SessionDocumentError(f"missing {', '.join(missing)}", f"tool_calls[{index}]")
    out = {k: copy.deepcopy(call[k]) for k in ("name", "args", "id")}
    out.update((k, copy.deepcopy(v)) for k, v in call.items() if k not in out)
    return out
