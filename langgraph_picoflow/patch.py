"""Changes to a session document, as data.

The pure core decides *what* changes (:func:`diff`); each store only translates the
operations into its own primitives (SQLite rows, MongoDB ``$set``/``$push``, Cosmos
patch ``set``/``add``), which is what keeps a save O(new messages) on every backend.
:func:`apply` is the reference semantics, used by the in-memory store, by roll-forward
and by time travel.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from langgraph_picoflow.codec import from_jsonable, to_jsonable
from langgraph_picoflow.records import Sidecars

Path: TypeAlias = tuple[str | int, ...]


@dataclass(frozen=True)
class SetKey:
    """Set ``document[path]`` (a key of the skeleton, never inside a ``history``)."""

    path: Path
    value: Any


@dataclass(frozen=True)
class AppendItems:
    """Append items to the list at ``path`` (the log arrays: ``log``, ``error``...)."""

    path: Path
    items: list[Any]


@dataclass(frozen=True)
class AddNamespace:
    """Append ``{nameSpace, history: []}`` to ``flows[flow].memory``."""

    flow: int
    name: str


@dataclass(frozen=True)
class AppendHistory:
    """Append entries to ``flows[flow].memory[ns].history``, which has ``start`` entries."""

    flow: int
    ns: int
    start: int
    entries: list[dict[str, Any]]
    sidecars: list[dict[str, Any]]


@dataclass(frozen=True)
class SetHistoryEntry:
    """Replace one history entry in place (the system prompt at index 0 is the usual one)."""

    flow: int
    ns: int
    index: int
    entry: dict[str, Any]
    sidecar: dict[str, Any]


@dataclass(frozen=True)
class ReplaceHistory:
    """Replace a whole namespace history (a change that was not an append)."""

    flow: int
    ns: int
    entries: list[dict[str, Any]]
    sidecars: list[dict[str, Any]]


@dataclass(frozen=True)
class ReplaceSession:
    """Write the whole document (creation, adoption, or a structural change)."""

    document: dict[str, Any]
    sidecars: Sidecars


PatchOp: TypeAlias = (
    SetKey | AppendItems | AddNamespace | AppendHistory | SetHistoryEntry | ReplaceHistory
) | ReplaceSession

_LOG_KEYS = ("log", "error", "warn", "debug", "verbose")


def empty_sidecars(document: dict[str, Any]) -> Sidecars:
    """Sidecars for a document that came from Picoflow: nothing beyond the entries."""
    return [
        [[{} for _ in space.get("history", [])] for space in flow.get("memory", [])]
        for flow in document.get("flows", [])
    ]


def diff(
    old: dict[str, Any] | None,
    old_sidecars: Sidecars | None,
    new: dict[str, Any],
    new_sidecars: Sidecars,
) -> list[PatchOp]:
    """The smallest patch that turns ``old`` into ``new`` (keys compared in order).

    >>> diff({"a": 1}, [], {"a": 2}, [])
    [SetKey(path=('a',), value=2)]
    """
    if old is None or old_sidecars is None or not _same_shape(old, new):
        return [ReplaceSession(new, new_sidecars)]
    ops: list[PatchOp] = []
    for key, value in new.items():
        if key not in old:
            ops.append(SetKey((key,), value))
        elif key == "flows":
            for f, (old_flow, new_flow) in enumerate(zip(old["flows"], value, strict=True)):
                ops.extend(_diff_flow(f, old_flow, new_flow, old_sidecars[f], new_sidecars[f]))
        elif old[key] != value:
            ops.append(_list_or_set((key,), old[key], value))
    return ops


def _same_shape(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether ``new`` only changes or appends to ``old`` (no key removed or reordered)."""
    if list(new)[: len(old)] != list(old):
        return False
    old_flows, new_flows = old.get("flows", []), new.get("flows", [])
    if len(old_flows) != len(new_flows):
        return False
    for old_flow, new_flow in zip(old_flows, new_flows, strict=True):
        if list(new_flow)[: len(old_flow)] != list(old_flow):
            return False
        old_names = [m["nameSpace"] for m in old_flow.get("memory", [])]
        new_names = [m["nameSpace"] for m in new_flow.get("memory", [])]
        if new_names[: len(old_names)] != old_names:
            return False
    return True


def _list_or_set(path: Path, old: Any, new: Any) -> PatchOp:
    if (
        path[-1] in _LOG_KEYS
        and isinstance(old, list)
        and isinstance(new, list)
        and len(new) > len(old)
        and new[: len(old)] == old
    ):
        return AppendItems(path, new[len(old) :])
    return SetKey(path, new)


def _diff_flow(
    f: int,
    old: dict[str, Any],
    new: dict[str, Any],
    old_sidecars: list[list[dict[str, Any]]],
    new_sidecars: list[list[dict[str, Any]]],
) -> list[PatchOp]:
    ops: list[PatchOp] = []
    for key, value in new.items():
        if key != "memory":
            if key not in old or old[key] != value:
                ops.append(SetKey(("flows", f, key), value))
            continue
        old_memory = old.get("memory", [])
        for n, space in enumerate(value):
            if n >= len(old_memory):
                ops.append(AddNamespace(f, space["nameSpace"]))
                old_history: list[dict[str, Any]] = []
                old_side: list[dict[str, Any]] = []
            else:
                old_history, old_side = old_memory[n]["history"], old_sidecars[n]
            ops.extend(
                _diff_history(f, n, old_history, old_side, space["history"], new_sidecars[n])
            )
    return ops


def _diff_history(
    f: int,
    n: int,
    old: list[dict[str, Any]],
    old_side: list[dict[str, Any]],
    new: list[dict[str, Any]],
    new_side: list[dict[str, Any]],
) -> list[PatchOp]:
    k = len(old)
    if len(new) < k:
        return [ReplaceHistory(f, n, new, new_side)]
    ops: list[PatchOp] = []
    # Picoflow rewrites the system prompt in slot 0 on every model call: keep that a
    # one-entry change instead of a full rewrite.
    if k and (new[0] != old[0] or new_side[0] != old_side[0]):
        if new[1:k] != old[1:k] or new_side[1:k] != old_side[1:k]:
            return [ReplaceHistory(f, n, new, new_side)]
        ops.append(SetHistoryEntry(f, n, 0, new[0], new_side[0]))
    elif new[:k] != old or new_side[:k] != old_side:
        return [ReplaceHistory(f, n, new, new_side)]
    if len(new) > k:
        ops.append(AppendHistory(f, n, k, new[k:], new_side[k:]))
    return ops


def apply(
    document: dict[str, Any], sidecars: Sidecars, ops: Iterable[PatchOp]
) -> tuple[dict[str, Any], Sidecars]:
    """Return the document and sidecars with ``ops`` applied (inputs are not mutated)."""
    doc = copy.deepcopy(document)
    side = copy.deepcopy(sidecars)
    for op in ops:
        if isinstance(op, ReplaceSession):
            doc, side = copy.deepcopy(op.document), copy.deepcopy(op.sidecars)
        elif isinstance(op, SetKey):
            parent = _walk(doc, op.path[:-1])
            parent[op.path[-1]] = copy.deepcopy(op.value)
        elif isinstance(op, AppendItems):
            _walk(doc, op.path).extend(copy.deepcopy(op.items))
        elif isinstance(op, AddNamespace):
            doc["flows"][op.flow]["memory"].append({"nameSpace": op.name, "history": []})
            side[op.flow].append([])
        else:
            history = doc["flows"][op.flow]["memory"][op.ns]["history"]
            hist_side = side[op.flow][op.ns]
            if isinstance(op, AppendHistory):
                history.extend(copy.deepcopy(op.entries))
                hist_side.extend(copy.deepcopy(op.sidecars))
            elif isinstance(op, SetHistoryEntry):
                history[op.index] = copy.deepcopy(op.entry)
                hist_side[op.index] = copy.deepcopy(op.sidecar)
            else:
                history[:] = copy.deepcopy(op.entries)
                hist_side[:] = copy.deepcopy(op.sidecars)
    return doc, side


def _walk(doc: Any, path: Sequence[str | int]) -> Any:
    node = doc
    for part in path:
        node = node[part]
    return node


# --- JSON form of a patch, as the checkpoint log stores it -------------------------


def to_json(ops: Sequence[PatchOp]) -> list[dict[str, Any]]:
    """The patch as JSON-compatible data (dates kept as ``{"$date": iso}``)."""
    out: list[dict[str, Any]] = []
    for op in ops:
        fields = {k: to_jsonable(v) for k, v in vars(op).items()}
        if "path" in fields:
            fields["path"] = list(fields["path"])
        out.append({"op": type(op).__name__, **fields})
    return out


_OPS: dict[str, type[PatchOp]] = {
    cls.__name__: cls
    for cls in (
        SetKey,
        AppendItems,
        AddNamespace,
        AppendHistory,
        SetHistoryEntry,
        ReplaceHistory,
        ReplaceSession,
    )
}


def from_json(data: Sequence[dict[str, Any]]) -> list[PatchOp]:
    """Inverse of :func:`to_json`."""
    ops: list[PatchOp] = []
    for item in data:
        fields = {k: from_jsonable(v) for k, v in item.items() if k != "op"}
        if "path" in fields:
            fields["path"] = tuple(fields["path"])
        ops.append(_OPS[item["op"]](**fields))
    return ops
