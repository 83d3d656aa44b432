"""Layout C (Picoflow 1.1.x) to layout B, as SCHEMA.md "Layout C" maps it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..errors import SessionDocumentError
from ._layout import LOG_ARRAYS, detect_layout
from ._spelling import Document
from ._validate import validate

_B_TOKENS = ("inputTokens", "outputTokens", "totalTokens")
_C_FLOW_CONSUMED = ("name", "model", "context", "memory", "steps", "currentStep", "sequence")
_MESSAGE_ORDER = ("type", "content", "id", "additional_kwargs", "tool_calls")


def _message_b(msg: Mapping[str, Any]) -> dict[str, Any]:
    """A C message in B's key order: ``timestamp`` dropped, an empty non-tool ``name`` dropped."""
    out: dict[str, Any] = {k: copy.deepcopy(msg[k]) for k in _MESSAGE_ORDER if k in msg}
    if not out.get("additional_kwargs"):
        out.pop("additional_kwargs", None)  # B writes it only when non-empty
    if msg.get("type") == "tool":
        if "tool_call_id" in msg:
            out["tool_call_id"] = msg["tool_call_id"]
        # LangChain's ToolMessage defaults to "success", and B always has the field.
        out["status"] = msg.get("status", "success")
        if "name" in msg:
            out["name"] = msg["name"]
    for key, value in msg.items():
        if key in out or key in ("timestamp", "additional_kwargs"):
            continue
        if key == "name" and not value:
            continue  # C gives every message a name, empty unless it is a tool result
        out[key] = copy.deepcopy(value)
    return out


def _step_b(step: Mapping[str, Any], current: Any, flow_model: Any) -> dict[str, Any]:
    model = step.get("model") or flow_model
    out: dict[str, Any] = {
        "name": step["name"],
        "isActive": step["name"] == current,
        "state": copy.deepcopy(step["state"]),
    }
    if isinstance(model, Mapping):
        out["modelName"] = model.get("name")
        out["modelParamsName"] = model.get("name")
        out["modelParams"] = copy.deepcopy(model.get("params", {}))
    for key, value in step.items():
        if key not in ("name", "state", "model"):
            out[key] = copy.deepcopy(value)
    return out


def _flow_b(flow: Mapping[str, Any]) -> dict[str, Any]:
    current = flow["currentStep"]
    memory = [
        {"nameSpace": ns, "history": [_message_b(m) for m in entry["messages"]]}
        for ns, entry in flow["memory"].items()
    ]
    out: dict[str, Any] = {
        "name": flow["name"],
        "memory": memory,
        "steps": [_step_b(s, current, flow.get("model")) for s in flow["steps"]],
        "context": copy.deepcopy(flow.get("context", {})),
        "sequence": [item["stepName"] for item in flow["sequence"]],
    }
    for key, value in flow.items():
        if key not in _C_FLOW_CONSUMED:
            out[key] = copy.deepcopy(value)
    return out


def to_layout_b(doc_c: Mapping[str, Any]) -> Document:
    """Convert a layout C document (Picoflow 1.1.x) into a new layout B document.

    ``flows[0]`` is the C ``flow``; the memory map becomes ``[{nameSpace, history}]`` in key
    order (summaries and message ``timestamp`` dropped); ``isActive`` is ``name ==
    currentStep``; ``modelName``/``modelParamsName``/``modelParams`` come from the step's model,
    else the flow's; ``sequence`` is the ``stepName`` list; ``tokens`` keeps the three B
    fields; ``revision`` is dropped. Top-level keys follow Picoflow's order, unknown keys
    after them. Raises `SessionDocumentError` when ``doc_c`` is not a valid C document.
    """
    if detect_layout(doc_c) != "C":
        raise SessionDocumentError("not a layout C document (expected a single 'flow' object)")
    problems = validate(doc_c)
    if problems:
        raise SessionDocumentError(problems)
    out: Document = {}
    for key in ("_id", "id", "version", "runStatus", "createdOn", "saveOn", "expireAfter"):
        if key in doc_c:
            out[key] = copy.deepcopy(doc_c[key])
    tokens = doc_c["tokens"]
    out["tokens"] = {k: tokens[k] for k in _B_TOKENS if k in tokens}
    out["flows"] = [_flow_b(doc_c["flow"])]
    for key in LOG_ARRAYS:
        out[key] = copy.deepcopy(doc_c[key])
    for key, value in doc_c.items():
        if key not in out and key not in ("flow", "revision"):
            out[key] = copy.deepcopy(value)
    return out
