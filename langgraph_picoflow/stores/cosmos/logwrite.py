"""Writing log items in transactional batches, and undoing them after a conflict.

Items go in batches of at most ``batch_ops`` operations and ``batch_bytes`` bytes, one
logical partition each, parts before the item that names them (a reader never finds an
item whose parts are missing). The tip, when written, comes first under ``If-Match``:
if another writer moved it, nothing else of this write is attempted.

Batches are atomic on Azure but not on every emulator, so the result of each operation
is read one by one: applied ones are recorded in :class:`Effects` (what a compensation
must undo), ``424`` ones (not attempted) are sent again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph_picoflow.stores.cosmos import items as it
from langgraph_picoflow.stores.cosmos.ops import Batch, BatchOp, ReadItem, batch_statuses, status
from langgraph_picoflow.stores.cosmos.state import Program, StoreState
from langgraph_picoflow.stores.cosmos.tip import TIP_ID

log = logging.getLogger(__name__)


class TipMoved(Exception):
    """Another writer changed the tip since it was read."""


class TooLarge(Exception):
    """The service refused a request as too large (HTTP 413)."""


@dataclass
class Put:
    """A logical log item to store: ``keep`` an existing one, or ``replace`` it."""

    item: it.Item
    mode: Literal["keep", "replace"]


@dataclass
class Effects:
    """What a write applied so far (so that a conflict can undo it)."""

    created: list[str] = field(default_factory=list)
    #: id -> stored item it replaced (restored on undo).
    replaced: dict[str, it.Item] = field(default_factory=dict)
    #: Etag of the tip this write stored (``None``: the tip was not written).
    tip_etag: str | None = None
    #: Parts of replaced items, deleted once the write has succeeded.
    stale: list[str] = field(default_factory=list)
    #: The head was written: nothing may be undone any more.
    committed: bool = False


@dataclass
class _Phys:
    op: BatchOp
    role: Literal["tip", "part", "main"]
    item_id: str
    mode: Literal["keep", "replace"] = "keep"


def _size(op: BatchOp) -> int:
    return sum(it.size_of(a) for a in op[1] if isinstance(a, dict)) + 64


def plan_ops(
    state: StoreState, tip: it.Item | None, tip_etag: str | None, puts: list[Put]
) -> list[_Phys]:
    """Physical operations for a tip (written under ``If-Match``) and some items."""
    limits = state.limits
    queue: list[_Phys] = []
    if tip is not None:
        *parts, main = _parts_last(it.split(tip, limits.item_bytes, limits.part_bytes))
        queue += [_Phys(("create", (p,), {}), "part", p["id"]) for p in parts]
        if tip_etag is None:
            queue.append(_Phys(("create", (main,), {}), "tip", TIP_ID))
        else:
            queue.append(
                _Phys(("replace", (TIP_ID, main), {"if_match_etag": tip_etag}), "tip", TIP_ID)
            )
    for put in puts:
        *parts, main = _parts_last(it.split(put.item, limits.item_bytes, limits.part_bytes))
        queue += [_Phys(("create", (p,), {}), "part", p["id"]) for p in parts]
        queue.append(_Phys(("create", (main,), {}), "main", main["id"], put.mode))
    return queue


def _parts_last(physical: list[it.Item]) -> list[it.Item]:
    return [*physical[1:], physical[0]]


def _take(state: StoreState, queue: list[_Phys]) -> list[_Phys]:
    batch: list[_Phys] = []
    size = 0
    for p in queue:
        cost = _size(p.op)
        if batch and (
            len(batch) >= state.limits.batch_ops or size + cost > state.limits.batch_bytes
        ):
            break
        batch.append(p)
        size += cost
    return batch


def run_ops(state: StoreState, thread_id: str, queue: list[_Phys], effects: Effects) -> Program:
    """Apply ``queue`` batch by batch, recording what was applied in ``effects``."""
    while queue:
        batch = _take(state, queue)
        rest = queue[len(batch) :]
        try:
            results = yield Batch("log", thread_id, [p.op for p in batch])
        except Exception as exc:
            if status(exc) == 413:
                raise TooLarge from exc
            statuses = batch_statuses(exc)
            if statuses is None:
                raise
            responses = getattr(exc, "operation_responses", [])
            redo = []
            for i, (p, st) in enumerate(zip(batch, statuses, strict=False)):
                if 200 <= st < 300:
                    _applied(p, responses[i], effects)
                elif st == 424:
                    redo.append(p)
                elif st == 409 and p.role in ("part", "main") and p.mode == "keep":
                    pass  # insert-or-ignore, or a part with this very content
                elif st == 409 and p.role == "main":
                    redo.append((yield from _replacing(thread_id, p, effects)))
                elif p.role == "tip" and st in (404, 409, 412):
                    raise TipMoved from exc
                elif st == 413:
                    raise TooLarge from exc
                else:
                    raise
            queue = redo + rest
            continue
        for p, result in zip(batch, results, strict=False):
            _applied(p, result, effects)
        queue = rest


def _applied(p: _Phys, result: Any, effects: Effects) -> None:
    if p.role == "tip":
        effects.tip_etag = result.get("eTag") if isinstance(result, dict) else None
    elif p.op[0] == "create":
        effects.created.append(p.item_id)


def _replacing(thread_id: str, p: _Phys, effects: Effects) -> Program:
    """An insert-or-replace found its item: keep the old one for undo, then overwrite."""
    if p.item_id not in effects.replaced:
        try:
            old = yield ReadItem("log", p.item_id, thread_id)
        except Exception as exc:
            if status(exc) != 404:
                raise
            return p  # gone in between: create it after all
        effects.replaced[p.item_id] = it.strip_system(old)
        effects.stale += it.part_ids(old)
    body = p.op[1][0]
    return _Phys(("upsert", (body,), {}), "main", p.item_id, p.mode)


def undo(state: StoreState, thread_id: str, effects: Effects, old_tip: it.Item | None) -> Program:
    """Best-effort undo of ``effects`` (a write that lost its compare-and-swap).

    The tip goes back first, under ``If-Match`` on the etag this write gave it. If that
    fails, another writer has built on our tip (and may use the items we created), so
    those are left in place.
    """
    if effects.committed:
        return
    if effects.tip_etag is not None:
        guard = {"if_match_etag": effects.tip_etag}
        op: BatchOp = (
            ("delete", (TIP_ID,), guard)
            if old_tip is None
            else ("replace", (TIP_ID, old_tip), guard)
        )
        try:
            yield Batch("log", thread_id, [op])
        except Exception as exc:
            log.info("thread %r: our tip was taken over, its items stay (%s)", thread_id, exc)
            return
    ops: list[BatchOp] = [("upsert", (old,), {}) for old in effects.replaced.values()]
    ops += [("delete", (i,), {}) for i in reversed(effects.created)]
    yield from apply_best_effort(state, thread_id, ops)


def apply_best_effort(state: StoreState, thread_id: str, ops: list[BatchOp]) -> Program:
    """Run ``ops`` in batches; a missing or changed item is skipped, other errors logged."""
    queue = [_Phys(op, "main", str(op[1][0])) for op in ops]
    while queue:
        batch = _take(state, queue)
        queue = queue[len(batch) :]
        try:
            yield Batch("log", thread_id, [p.op for p in batch])
        except Exception as exc:
            statuses = batch_statuses(exc)
            if statuses is None:
                log.warning("cleanup of thread %r failed: %s", thread_id, exc)
                continue
            # Drop what failed for a reason of its own; send the rest again.
            queue = [p for p, st in zip(batch, statuses, strict=False) if st == 424] + queue
