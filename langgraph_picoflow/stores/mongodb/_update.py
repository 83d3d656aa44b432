"""A session update (:class:`UpdateSession`) as MongoDB writes on the head and its sidecars.

The *fast* form turns the patch into ``$set``/``$push`` on dotted paths, so a step sends
O(new messages) bytes, under a filter that is the compare-and-swap (``saveOn`` as the
writer read it) plus the exact length of every stored history: an append can never land
at the wrong position, and a head whose histories were cut to fit one item (*spilled*)
refuses it. Values are taken from ``op.result`` (the document after the patch); the patch
only says which paths changed.

The *full* form replaces the whole document (creation, adoption, structural changes,
spilled sessions); when the document is larger than one item its histories are cut to fit
(their whole content stays in the checkpoint log, see :mod:`._replay`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import bson

from langgraph_picoflow import codec
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.patch import (
    AddNamespace,
    AppendHistory,
    AppendItems,
    Path,
    ReplaceHistory,
    ReplaceSession,
    SetKey,
)
from langgraph_picoflow.records import Sidecars
from langgraph_picoflow.stores.mongodb._layout import (
    head_key,
    safe_key,
    session_doc,
    sidecars_doc,
    to_driver,
)
from langgraph_picoflow.stores.mongodb._ops import Insert, Model, Replace, Update
from langgraph_picoflow.stores.protocol import UpdateSession


@dataclass(frozen=True)
class SessionWrite:
    """The head write and the sidecar write of one session update."""

    head: Model
    sidecars: Model
    fast: bool


def revision_filter(expected: str) -> dict[str, Any]:
    """The ``saveOn`` values a revision string stands for (a BSON date, or as stored)."""
    if expected == "None":
        return {"$in": [None]}
    values: list[Any] = [expected]
    date = pdoc.parse_iso_ms(expected)
    if date is not None:
        values.insert(0, date)
    if expected.isdigit():
        values.append(int(expected))  # Picoflow also accepts epoch milliseconds
    return {"$in": values}


@dataclass
class _History:
    replaced: bool = False
    start: int | None = None
    sets: set[int] = field(default_factory=set)


def _dotted(path: Path) -> str | None:
    parts = [str(p) if isinstance(p, int) else p for p in path]
    return ".".join(parts) if path and all(safe_key(p) for p in parts) else None


def _walk(doc: Any, path: Path) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _conflicting(paths: list[str]) -> bool:
    """Whether one path is a prefix of another (MongoDB refuses such an update)."""
    ordered = sorted(p + "." for p in paths)
    return any(b.startswith(a) for a, b in itertools.pairwise(ordered))


def fast_write(op: UpdateSession, thread_id: str) -> SessionWrite | None:
    """The update-operator form of ``op``, or ``None`` when only a full write will do."""
    if op.expected is None:
        return None
    doc, side = op.result.document, op.result.sidecars
    sets: dict[Path, None] = {}
    appended: dict[Path, int] = {}
    histories: dict[tuple[int, int], _History] = {}
    added: dict[int, list[int]] = {}
    for change in op.patch:
        if isinstance(change, ReplaceSession):
            return None
        if isinstance(change, SetKey | AppendItems):
            if _dotted(change.path) is None or change.path[0] == "_id":
                return None
            if isinstance(change, SetKey):
                sets[change.path] = None
            else:
                appended[change.path] = appended.get(change.path, 0) + len(change.items)
        elif isinstance(change, AddNamespace):
            names = [m["nameSpace"] for m in doc["flows"][change.flow]["memory"]]
            if names.count(change.name) != 1:
                return None
            n = names.index(change.name)
            added.setdefault(change.flow, []).append(n)
            histories[(change.flow, n)] = _History(replaced=True)
        else:
            h = histories.setdefault((change.flow, change.ns), _History())
            if h.replaced:
                continue
            if isinstance(change, ReplaceHistory):
                h.replaced = True
            elif isinstance(change, AppendHistory):
                h.start = change.start if h.start is None else h.start
            elif h.start is None or change.index < h.start:
                h.sets.add(change.index)
    head: dict[str, dict[str, Any]] = {"$set": {}, "$push": {}}
    shadow: dict[str, dict[str, Any]] = {
        "$set": {"rev": op.result.revision, "spilled": False},
        "$push": {},
    }
    for path in sets:
        head["$set"][str(_dotted(path))] = to_driver(_walk(doc, path))
    for path, count in appended.items():
        if not any(path[: len(s)] == s for s in sets):
            items = _walk(doc, path)[len(_walk(doc, path)) - count :]
            head["$push"][str(_dotted(path))] = {"$each": to_driver(items)}
    where: dict[str, Any] = {"_id": head_key(thread_id), "saveOn": revision_filter(op.expected)}
    for f, flow in enumerate(doc.get("flows") or []):
        memory = flow.get("memory", [])
        new = sorted(added.get(f, []))
        kept = len(memory) - len(new)
        if new != list(range(kept, len(memory))):
            return None
        _length(where, f"flows.{f}.memory", kept)
        if new:
            head["$push"][f"flows.{f}.memory"] = {"$each": [to_driver(memory[n]) for n in new]}
            shadow["$push"][f"flows.{f}"] = {"$each": [_json(side[f][n]) for n in new]}
        for n in range(kept):
            _history(
                head, shadow, where, f, n, memory[n]["history"], side[f][n], histories.get((f, n))
            )
    paths = [*head["$set"], *head["$push"]]
    if not paths or _conflicting(paths):
        return None
    return SessionWrite(
        Update("sessions", where, {k: v for k, v in head.items() if v}),
        Update(
            "sidecars",
            {"_id": head_key(thread_id), "rev": op.expected},
            {k: v for k, v in shadow.items() if v},
        ),
        fast=True,
    )


def _json(sidecars: list[dict[str, Any]]) -> list[str]:
    return [codec.dumps(s) for s in sidecars]


def _length(where: dict[str, Any], array: str, length: int) -> None:
    """Require the stored array at ``array`` to hold exactly ``length`` items."""
    if length:
        where[f"{array}.{length - 1}"] = {"$exists": True}
    where[f"{array}.{length}"] = {"$exists": False}


def _history(
    head: dict[str, dict[str, Any]],
    shadow: dict[str, dict[str, Any]],
    where: dict[str, Any],
    f: int,
    n: int,
    entries: list[dict[str, Any]],
    sides: list[dict[str, Any]],
    change: _History | None,
) -> None:
    """Add one existing namespace's changes (and its length check) to the updates."""
    path, spath = f"flows.{f}.memory.{n}.history", f"flows.{f}.{n}"
    if change is not None and change.replaced:
        where[f"flows.{f}.memory.{n}"] = {"$exists": True}
        head["$set"][path] = to_driver(entries)
        shadow["$set"][spath] = _json(sides)
        return
    start = len(entries) if change is None or change.start is None else change.start
    _length(where, path, start)
    if change is None:
        return
    indexes = sorted(change.sets)
    if change.sets and len(entries) > start:
        # $set and $push on one array conflict: set the appended positions one by one.
        indexes += range(start, len(entries))
    elif len(entries) > start:
        head["$push"][path] = {"$each": to_driver(entries[start:])}
        shadow["$push"][spath] = {"$each": _json(sides[start:])}
    for i in indexes:
        head["$set"][f"{path}.{i}"] = to_driver(entries[i])
        shadow["$set"][f"{spath}.{i}"] = codec.dumps(sides[i])


# --- full writes ---------------------------------------------------------------------


def full_write(op: UpdateSession, thread_id: str, budget: int) -> tuple[SessionWrite, bool]:
    """The replace form of ``op``; ``True`` with it when the histories had to be cut."""
    stored, stored_side, spilled = fit(op.result.document, op.result.sidecars, thread_id, budget)
    if op.expected is None:
        head: Model = Insert("sessions", stored)
    else:
        cas = {"_id": stored["_id"], "saveOn": revision_filter(op.expected)}
        head = Replace("sessions", cas, stored)
    shadow = sidecars_doc(thread_id, op.result.revision, spilled, stored_side)
    return SessionWrite(
        head, Replace("sidecars", {"_id": stored["_id"]}, shadow, upsert=True), False
    ), (spilled)


def sidecars_write(op: UpdateSession, thread_id: str) -> Model:
    """The whole sidecar document after ``op`` (when the stored one was not at its base)."""
    doc = sidecars_doc(thread_id, op.result.revision, False, op.result.sidecars)
    return Replace("sidecars", {"_id": doc["_id"]}, doc, upsert=True)


def encoded_size(doc: dict[str, Any]) -> int:
    """BSON size of a document."""
    return len(bson.encode(doc))


def fits(op: UpdateSession, thread_id: str, budget: int) -> bool:
    """Whether the session and its sidecars after ``op`` fit one item each (measured)."""
    rev, side = op.result.revision, op.result.sidecars
    return (
        encoded_size(session_doc(op.result.document, thread_id)) <= budget
        and encoded_size(sidecars_doc(thread_id, rev, False, side)) <= budget
    )


def fit(
    document: dict[str, Any], sidecars: Sidecars, thread_id: str, budget: int
) -> tuple[dict[str, Any], Sidecars, bool]:
    """The stored form of a session, its histories cut (keeping prefixes) to fit ``budget``.

    Returns the stored document, the sidecars aligned with it, and whether anything was cut.
    """
    stored = session_doc(document, thread_id)
    if encoded_size(stored) <= budget and _side_size(sidecars) <= budget:
        return stored, sidecars, False
    for attempt in range(8):
        limit = int(budget * (0.9**attempt))
        cut, cut_side = _cut(stored, sidecars, limit)
        if encoded_size(cut) <= budget and _side_size(cut_side) <= budget:
            return cut, cut_side, True
    raise ValueError("the session skeleton alone does not fit one document")


def _side_size(sidecars: Sidecars) -> int:
    return encoded_size({"flows": [[_json(ns) for ns in flow] for flow in sidecars]}) + 256


def _cut(stored: dict[str, Any], sidecars: Sidecars, limit: int) -> tuple[dict[str, Any], Sidecars]:
    flows = stored.get("flows") or []
    skeleton = {**stored, "flows": [_emptied(flow) for flow in flows]}
    used, side_used = encoded_size(skeleton), _side_size([[[] for _ in f] for f in sidecars])
    out_flows, out_side = [], []
    for f, flow in enumerate(flows):
        memory, side_memory = [], []
        for n, space in enumerate(flow.get("memory", [])):
            kept, kept_side = [], []
            for i, entry in enumerate(space.get("history", [])):
                side = sidecars[f][n][i]
                size = encoded_size({"e": entry}) + len(str(i))
                side_size = len(codec.dumps(side)) + len(str(i)) + 8
                if used + size > limit or side_used + side_size > limit:
                    break
                used, side_used = used + size, side_used + side_size
                kept.append(entry)
                kept_side.append(side)
            memory.append({**space, "history": kept})
            side_memory.append(kept_side)
        out_flows.append({**flow, "memory": memory} if "memory" in flow else flow)
        out_side.append(side_memory)
    return {**stored, "flows": out_flows} if "flows" in stored else stored, out_side


def _emptied(flow: dict[str, Any]) -> dict[str, Any]:
    if "memory" not in flow:
        return flow
    return {**flow, "memory": [{**m, "history": []} for m in flow["memory"]]}
