"""Layout conversion for migration: C -> B always, A0/A1 -> B on request.

A head is converted together with its checkpoint log: every root log entry's document is
rebuilt (replayed), converted and diffed again against the previous converted one, so time
travel shows converted documents and a roll-forward applies patches that fit the new head.
Memory (namespaces and their histories) is never touched, so sidecars stay aligned and the
LangGraph state of every checkpoint keeps its messages.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from langgraph_picoflow import document as pdoc
from langgraph_picoflow import patch as patches
from langgraph_picoflow import plans
from langgraph_picoflow.drive import drive
from langgraph_picoflow.migrate._thread import ThreadData
from langgraph_picoflow.records import CheckpointRecord, SessionRecord, Sidecars

Convert = Callable[[dict[str, Any]], dict[str, Any]]
_B_FLOW = ("name", "memory", "steps", "context", "sequence")
_B_STEP = ("name", "isActive", "state", "modelName", "modelParamsName", "modelParams")


def a_to_b(doc: dict[str, Any]) -> dict[str, Any]:
    """A layout A0/A1 (or mixed) document in layout B; other documents are returned as copies.

    Flows lose ``temperature`` and gain ``sequence`` when they have none (the step names in
    the order their messages first appear, ending with the active step: the best the
    document tells). Steps get ``modelParamsName`` (= ``modelName``) and ``modelParams``
    (``{"temperature": t}`` when the step, or else its flow, set one; ``-1`` means unset).
    Unknown keys are kept after the known ones.
    """
    out = copy.deepcopy(doc)
    if pdoc.detect_layout(doc) not in ("A0", "A1"):
        return out
    out["flows"] = [_flow_b(flow) for flow in out.get("flows", [])]
    return out


def _flow_b(flow: dict[str, Any]) -> dict[str, Any]:
    flow_temperature = flow.get("temperature", -1)
    steps = [_step_b(step, flow_temperature) for step in flow.get("steps", [])]
    known: dict[str, Any] = {
        "name": flow.get("name"),
        "memory": flow.get("memory", []),
        "steps": steps,
        "context": flow.get("context", {"config": None}),
        "sequence": flow["sequence"] if "sequence" in flow else _derived_sequence(flow),
    }
    rest = {k: v for k, v in flow.items() if k not in _B_FLOW and k != "temperature"}
    return {**known, **rest}


def _step_b(step: dict[str, Any], flow_temperature: Any) -> dict[str, Any]:
    temperature = step.get("temperature", -1)
    if temperature == -1:
        temperature = flow_temperature
    out: dict[str, Any] = {k: step[k] for k in ("name", "isActive", "state") if k in step}
    if "modelName" in step:
        out["modelName"] = step["modelName"]
        out["modelParamsName"] = step["modelName"]
        out["modelParams"] = {"temperature": temperature} if temperature != -1 else {}
    rest = {k: v for k, v in step.items() if k not in _B_STEP and k != "temperature"}
    return {**out, **rest}


def _derived_sequence(flow: dict[str, Any]) -> list[str]:
    stamped: list[tuple[str, str]] = []
    for space in flow.get("memory", []):
        for entry in space.get("history", []):
            parsed = pdoc.parse_message_id(str(entry.get("id", "")))
            if parsed is not None:
                stamped.append((pdoc.iso_ms(parsed[1]), parsed[0]))
    sequence: list[str] = []
    for _, step in sorted(stamped):
        if not sequence or sequence[-1] != step:
            sequence.append(step)
    active = [s["name"] for s in flow.get("steps", []) if s.get("isActive") is True]
    if active and (not sequence or sequence[-1] != active[0]):
        sequence.append(active[0])
    return sequence


def converter(to_layout: Literal["B"] | None) -> Convert:
    """The document conversion a migration applies: C -> B always, A -> B when asked."""

    def convert(doc: dict[str, Any]) -> dict[str, Any]:
        layout = pdoc.detect_layout(doc)
        if layout == "C":
            return pdoc.to_layout_b(doc)
        if to_layout == "B" and layout in ("A0", "A1"):
            return a_to_b(doc)
        return doc

    return convert


def _sidecars_for(doc: dict[str, Any], sidecars: Sidecars) -> Sidecars:
    """Keep sidecars that still align with the histories; a C document has none to keep."""
    shape = [[len(s.get("history", [])) for s in f.get("memory", [])] for f in doc["flows"]]
    if [[len(h) for h in f] for f in sidecars] == shape:
        return sidecars
    return patches.empty_sidecars(doc)


def convert_thread(data: ThreadData, convert: Convert) -> ThreadData:
    """``data`` with its head and its root log documents converted (unchanged if none is)."""
    head = data.session
    document = convert(head.document) if head is not None else None
    if head is None or document is None or document is head.document:
        return data
    session = SessionRecord(document, _sidecars_for(document, head.sidecars), head.revision)
    return replace(data, session=session, checkpoints=_convert_log(data, convert))


def _convert_log(data: ThreadData, convert: Convert) -> list[CheckpointRecord]:
    roots = sorted(
        (r for r in data.checkpoints if r.checkpoint_ns == "" and r.session),
        key=lambda r: r.seq,
    )
    wanted = {r.checkpoint_id for r in roots}
    # documents_at is a plan: answer its one ListCheckpoints request from what we hold.
    docs = drive(plans.documents_at(data.thread_id, wanted), lambda _request: roots)
    rewritten: dict[str, CheckpointRecord] = {}
    previous: tuple[dict[str, Any], Sidecars] | None = None
    for r in roots:
        if r.checkpoint_id not in docs or r.session is None:
            continue
        doc, side = docs[r.checkpoint_id]
        new_doc = convert(doc)
        new_side = _sidecars_for(new_doc, side)
        restart = r.session["patch"][:1] and r.session["patch"][0].get("op") == "ReplaceSession"
        if restart or previous is None:
            ops: list[patches.PatchOp] = [patches.ReplaceSession(new_doc, new_side)]
        else:
            ops = patches.diff(previous[0], previous[1], new_doc, new_side)
        session = {**r.session, "patch": patches.to_json(ops)}
        rewritten[r.checkpoint_id] = replace(r, session=session)
        previous = (new_doc, new_side)
    return [
        rewritten.get(r.checkpoint_id, r) if r.checkpoint_ns == "" else r for r in data.checkpoints
    ]
