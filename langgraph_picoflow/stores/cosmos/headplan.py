"""How one head update is written: a chain of patches, or one replace, plus log items.

:func:`plan_head` turns the saver's patch (:mod:`langgraph_picoflow.patch`) and the head
it leads to into Cosmos DB terms, given the layout (:mod:`.space`) of the stored head:

* **patch** (the usual case): ``set`` for changed fields, ``add`` at ``.../history/-``
  per new entry, at most ``patch_ops`` per request. Non-append operations (``saveOn``
  among them) all go in the first request, so the head's revision changes in one step;
  later requests only append, and a reader that finds them missing can finish them from
  the log entry (see :func:`missing_appends`).
* **replace**: the whole (trimmed) head, when the layout changes (history spilled to the
  log, a space rebuilt), the patch is not expressible, or the head is new.

Sidecars, spilled entries and large entries become log items written before the head.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.errors import StoreError
from langgraph_picoflow.patch import (
    AddNamespace,
    AppendHistory,
    AppendItems,
    PatchOp,
    ReplaceHistory,
    ReplaceSession,
    SetHistoryEntry,
    SetKey,
)
from langgraph_picoflow.records import SessionRecord
from langgraph_picoflow.stores.cosmos.config import CosmosLimits
from langgraph_picoflow.stores.cosmos.items import Item, size_of
from langgraph_picoflow.stores.cosmos.space import (
    Space,
    big_item,
    block_id,
    block_item,
    entry_key,
    plain,
    space_key,
    spill_item,
    stub,
)

#: Allowance for the system fields the service adds to the head item.
SYSTEM_BYTES = 256


@dataclass
class HeadPlan:
    """What to write for one head update (see the module docstring)."""

    mode: Literal["patch", "replace"]
    #: Patch mode: the requests, each a list of at most ``patch_ops`` operations.
    patches: list[list[dict[str, Any]]]
    #: The new document, and the size of the head item that stores it (an upper bound
    #: in patch mode).
    document: dict[str, Any]
    size: int
    spaces: dict[str, Space]
    #: Layouts replaced by this update, for readers of the head before it lands.
    prev: dict[str, Space]
    items: list[Item] = field(default_factory=list)
    #: Log items of replaced layouts, deleted once the head is written.
    garbage: list[str] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        """The head item as it will be stored (plain spelling, trimmed)."""
        return trim(self.document, self.spaces)


class _Fallback(Exception):
    """The patch does not match the known layout: write the head whole instead."""


def new_gen() -> str:
    """A fresh layout generation."""
    return uuid.uuid4().hex[:10]


def pointer(path: Sequence[str | int]) -> str:
    """JSON pointer of a document path (``~`` and ``/`` escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _history(doc: dict[str, Any], f: int, n: int) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = doc["flows"][f]["memory"][n]["history"]
    return history


def _walk(doc: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def trim_history(history: list[dict[str, Any]], sp: Space | None) -> list[dict[str, Any]]:
    """A history as the head holds it: spilled prefix removed, large entries stubbed."""
    if sp is None or not history:
        return history
    kept = [history[0], *history[1 + sp.spill :]]
    return [stub(e) if entry_key(e) in sp.stubs else e for e in kept]


def trim(doc: dict[str, Any], spaces: dict[str, Space]) -> dict[str, Any]:
    """The head item for ``doc`` (every history trimmed), in plain spelling."""
    flows = []
    for f, flow in enumerate(doc.get("flows", [])):
        if "memory" not in flow:
            flows.append(flow)
            continue
        memory = [
            {
                **space,
                "history": trim_history(space.get("history", []), spaces.get(space_key(f, n))),
            }
            for n, space in enumerate(flow["memory"])
        ]
        flows.append({**flow, "memory": memory})
    head = {**doc, "flows": flows} if "flows" in doc else dict(doc)
    return pdoc.dump(head, "plain")


class _Planner:
    def __init__(
        self,
        thread_id: str,
        old: dict[str, Space] | None,
        result: SessionRecord,
        limits: CosmosLimits,
        gen: Callable[[], str],
    ) -> None:
        self.tid = thread_id
        self.doc = result.document
        self.side = result.sidecars
        self.limits = limits
        self.gen = gen
        self.old = old or {}
        self.spaces: dict[str, Space] = {k: s.copy() for k, s in self.old.items()}
        self.prev: dict[str, Space] = {}
        self.items: list[Item] = []
        self.garbage: list[str] = []
        self.fixed: list[dict[str, Any]] = []
        self.appends: list[dict[str, Any]] = []
        self.rebuilt: set[str] = set()
        self.mode: Literal["patch", "replace"] = "patch" if old is not None else "replace"

    # -- the saver's patch -------------------------------------------------------------
    def apply(self, op: PatchOp) -> None:
        if isinstance(op, SetKey):
            self.fixed.append({"op": "set", "path": pointer(op.path), "value": plain(op.value)})
        elif isinstance(op, AppendItems):
            if len(op.items) == 1:
                value = plain(op.items[0])
                self.fixed.append({"op": "add", "path": pointer(op.path) + "/-", "value": value})
            else:
                value = plain(_walk(self.doc, op.path))
                self.fixed.append({"op": "set", "path": pointer(op.path), "value": value})
        elif isinstance(op, AddNamespace):
            n = sum(1 for k in self.spaces if k.split(".")[0] == str(op.flow))
            memory = self.doc["flows"][op.flow]["memory"]
            if n >= len(memory) or memory[n]["nameSpace"] != op.name:
                raise _Fallback
            self.spaces[space_key(op.flow, n)] = self._new_space()
            value = {"nameSpace": op.name, "history": []}
            self.fixed.append({"op": "add", "path": f"/flows/{op.flow}/memory/-", "value": value})
        elif isinstance(op, AppendHistory):
            self._append(op)
        elif isinstance(op, SetHistoryEntry):
            self._set_entry(op)
        elif isinstance(op, ReplaceHistory):
            self._rebuild(op.flow, op.ns)
        else:  # ReplaceSession is handled before any op is applied
            raise _Fallback

    def _space(self, f: int, n: int) -> Space:
        sp = self.spaces.get(space_key(f, n))
        if sp is None:
            raise _Fallback
        return sp

    def _new_space(self) -> Space:
        return Space(self.gen(), block=self.limits.sidecar_block)

    def _head_form(self, f: int, n: int, sp: Space, entry: dict[str, Any]) -> dict[str, Any]:
        if size_of(plain(entry)) < self.limits.entry_bytes:
            return entry
        big = big_item(self.tid, f, n, sp.gen, entry)
        self.items.append(big)
        sp.stubs[entry_key(entry)] = big["id"]
        return stub(entry)

    def _append(self, op: AppendHistory) -> None:
        key = space_key(op.flow, op.ns)
        if key in self.rebuilt:
            return
        sp = self._space(op.flow, op.ns)
        if op.start != sp.length:
            raise _Fallback
        path = f"/flows/{op.flow}/memory/{op.ns}/history/-"
        for entry, sidecar in zip(op.entries, op.sidecars, strict=True):
            value = plain(self._head_form(op.flow, op.ns, sp, entry))
            self.appends.append({"op": "add", "path": path, "value": value})
            self._add_sidecar(op.flow, op.ns, sp, entry_key(entry), sidecar)

    def _add_sidecar(self, f: int, n: int, sp: Space, key: str, sidecar: dict[str, Any]) -> None:
        if sp.length == 0:
            sp.first = (key, sidecar)
        else:
            sp.tail.append((key, sidecar))
        sp.length += 1
        size = sp.block
        while len(sp.tail) >= size:
            j = (sp.sealed - 1) // size
            self.items.append(block_item(self.tid, f, n, sp.gen, j, sp.tail[:size]))
            sp.sealed += size
            sp.tail = sp.tail[size:]

    def _set_entry(self, op: SetHistoryEntry) -> None:
        key = space_key(op.flow, op.ns)
        if key in self.rebuilt:
            return
        sp = self._space(op.flow, op.ns)
        i = op.index
        if i >= sp.length or (0 < i < sp.sealed) or (0 < i <= sp.spill):
            self._rebuild(op.flow, op.ns)  # rare: anything but the prompt or the tail
            return
        if i == 0:
            self.prev.setdefault(key, self.old[key].copy() if key in self.old else sp.copy())
            sp.first = (entry_key(op.entry), op.sidecar)
        else:
            sp.tail[i - sp.sealed] = (entry_key(op.entry), op.sidecar)
        value = plain(self._head_form(op.flow, op.ns, sp, op.entry))
        path = f"/flows/{op.flow}/memory/{op.ns}/history/{0 if i == 0 else i - sp.spill}"
        self.fixed.append({"op": "set", "path": path, "value": value})

    # -- layouts -----------------------------------------------------------------------
    def _rebuild(self, f: int, n: int) -> None:
        """A new layout for one space, from the result document (O(its history))."""
        key = space_key(f, n)
        old = self.spaces.get(key)
        if old is not None:
            self.prev.setdefault(key, self.old.get(key, old))
            self.garbage.extend(layout_items(key, old))
        sp = self._new_space()
        self.spaces[key] = sp
        self.rebuilt.add(key)
        history = _history(self.doc, f, n)
        for entry, sidecar in zip(history, self.side[f][n], strict=True):
            self._head_form(f, n, sp, entry)
            self._add_sidecar(f, n, sp, entry_key(entry), sidecar)

    def complete(self) -> None:
        """Rebuild the spaces the patch did not account for, drop vanished ones."""
        keys = set()
        for f, flow in enumerate(self.doc.get("flows", [])):
            for n, _ in enumerate(flow.get("memory", [])):
                keys.add(space_key(f, n))
                if space_key(f, n) not in self.spaces:
                    self._rebuild(f, n)
        for key in [k for k in self.spaces if k not in keys]:
            self.garbage.extend(layout_items(key, self.spaces.pop(key)))

    def fit(self, stored: int | None) -> int:
        """Size of the new head, spilling history to the log until it fits.

        ``stored`` is the size of the head as stored now. A patch only adds what its
        operations carry (a ``set`` replaces something of non-negative size), so their
        size bounds the growth; below the limit nothing is serialised whole.
        """
        if self.mode == "patch" and stored is not None:
            estimate = stored + size_of(self.fixed) + size_of(self.appends)
            estimate += sum(size_of(self._history_of(key)) for key in self.rebuilt)
            if estimate + SYSTEM_BYTES <= self.limits.head_bytes:
                return estimate
        body = trim(self.doc, self.spaces)
        size = size_of(body) + SYSTEM_BYTES
        if size <= self.limits.head_bytes:
            return size - SYSTEM_BYTES
        self.mode = "replace"
        excess = size - self.limits.head_target
        excess = self._spill(excess)
        if excess > 0:
            self._stub_largest(excess)
        size = size_of(trim(self.doc, self.spaces))
        if size + SYSTEM_BYTES > self.limits.head_bytes:
            raise StoreError(
                f"session {self.tid!r}: the document without its history exceeds "
                f"{self.limits.head_bytes} bytes, more than one Cosmos DB item can hold"
            )
        return size

    def _history_of(self, key: str) -> list[dict[str, Any]]:
        f, n = (int(x) for x in key.split("."))
        trimmed: list[dict[str, Any]] = plain(
            trim_history(_history(self.doc, f, n), self.spaces.get(key))
        )
        return trimmed

    def _head_size(self, sp: Space, entry: dict[str, Any]) -> int:
        return size_of(plain(stub(entry) if entry_key(entry) in sp.stubs else entry)) + 1

    def _spill(self, excess: int) -> int:
        """Move the oldest entries (never entry 0 or the last) out of the head."""
        order = []
        for key, sp in self.spaces.items():
            f, n = (int(x) for x in key.split("."))
            history = _history(self.doc, f, n)
            movable = history[1 + sp.spill : -1]
            order.append((sum(self._head_size(sp, e) for e in movable), f, n, key))
        for _, f, n, key in sorted(order, reverse=True):
            sp = self.spaces[key]
            history = _history(self.doc, f, n)
            k = sp.spill
            while excess > 0 and 1 + k < len(history) - 1:
                excess -= self._head_size(sp, history[1 + k])
                k += 1
            if k > sp.spill:
                moved = history[1 + sp.spill : 1 + k]
                item = spill_item(
                    self.tid, f, n, sp.gen, 1 + sp.spill, moved, entry_key(history[1 + k])
                )
                self.items.append(item)
                sp.spills.append((item["id"], 1 + sp.spill, 1 + k))
                for entry in moved:  # stubs of spilled entries are no longer needed
                    big = sp.stubs.pop(entry_key(entry), None)
                    if big is not None:
                        self.garbage.append(big)
                sp.spill = k
        return excess

    def _stub_largest(self, excess: int) -> None:
        """Still too large: stub the largest entries left in the head."""
        resident = []
        for key, sp in self.spaces.items():
            f, n = (int(x) for x in key.split("."))
            history = _history(self.doc, f, n)
            for entry in [*history[:1], *history[1 + sp.spill :]]:
                if entry_key(entry) not in sp.stubs:
                    saving = size_of(plain(entry)) - size_of(plain(stub(entry)))
                    resident.append((saving, f, n, entry))
        for saving, f, n, entry in sorted(resident, key=lambda r: -r[0]):
            if excess <= 0 or saving <= 0:
                break
            sp = self.spaces[space_key(f, n)]
            big = big_item(self.tid, f, n, sp.gen, entry)
            self.items.append(big)
            sp.stubs[entry_key(entry)] = big["id"]
            excess -= saving

    def patches(self) -> list[list[dict[str, Any]]]:
        """Split the operations into requests (count and size limits)."""
        for key in sorted(self.rebuilt):
            f, n = (int(x) for x in key.split("."))
            value = self._history_of(key)
            self.fixed.append(
                {"op": "set", "path": f"/flows/{f}/memory/{n}/history", "value": value}
            )
        limit, budget = self.limits.patch_ops, self.limits.batch_bytes
        if len(self.fixed) > limit or size_of(self.fixed) > budget:
            self.mode = "replace"
            return []
        requests = [list(self.fixed)]
        for op in self.appends:
            last = requests[-1]
            if len(last) >= limit or size_of(last) + size_of(op) > budget:
                requests.append([])
            requests[-1].append(op)
        return [r for r in requests if r]


def layout_items(key: str, sp: Space) -> list[str]:
    """Ids of the log items a space layout owns (blocks, spills, big entries)."""
    f, n = (int(x) for x in key.split("."))
    ids = [block_id(f, n, sp.gen, j) for j in range((sp.sealed - 1) // sp.block)]
    ids += [s[0] for s in sp.spills]
    ids += list(sp.stubs.values())
    return ids


def plan_head(
    thread_id: str,
    old: dict[str, Space] | None,
    patch: Sequence[PatchOp],
    result: SessionRecord,
    limits: CosmosLimits,
    *,
    chain: bool,
    size: int | None = None,
    gen: Callable[[], str] = new_gen,
) -> HeadPlan:
    """Plan the head update (see the module docstring).

    ``old`` is the layout of the stored head, ``None`` when it is unknown or absent (the
    head is then written whole with fresh layouts); ``size`` is that head's size when
    known. ``chain`` says whether the update may take several patch requests (the log
    entry describing it is written first).
    """
    planner = _Planner(thread_id, old, result, limits, gen)
    if old is not None and not any(isinstance(op, ReplaceSession) for op in patch):
        try:
            for op in patch:
                planner.apply(op)
        except _Fallback:
            return plan_head(thread_id, None, patch, result, limits, chain=chain, gen=gen)
    else:
        planner.prev = {k: s.copy() for k, s in planner.old.items()}
        planner.garbage = [i for k, s in planner.old.items() for i in layout_items(k, s)]
        planner.spaces = {}
        planner.mode = "replace"
    planner.complete()
    new_size = planner.fit(size)
    patches: list[list[dict[str, Any]]] = []
    if planner.mode == "patch":
        patches = planner.patches()
        if len(patches) > 1 and not chain:
            planner.mode = "replace"
        if planner.mode == "replace":
            patches = []
    return HeadPlan(
        planner.mode,
        patches,
        result.document,
        new_size,
        planner.spaces,
        planner.prev,
        planner.items,
        planner.garbage,
    )
