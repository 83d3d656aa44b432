"""What the tip holds after a write: the newest root checkpoint, its writes and blobs.

Also the log deletions (which may take the tip's checkpoint away) and the queries that
find a thread's newest root checkpoint again when the tip cannot say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph_picoflow.errors import StoreError
from langgraph_picoflow.stores.cosmos import items as it
from langgraph_picoflow.stores.cosmos.ids import log_id
from langgraph_picoflow.stores.cosmos.logwrite import (
    Effects,
    Put,
    TipMoved,
    apply_best_effort,
    plan_ops,
    run_ops,
)
from langgraph_picoflow.stores.cosmos.ops import Query
from langgraph_picoflow.stores.cosmos.purge import purge_log
from langgraph_picoflow.stores.cosmos.reads import fetch_parts, read_tip
from langgraph_picoflow.stores.cosmos.state import Program, StoreState
from langgraph_picoflow.stores.cosmos.tip import Tip
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    StoreOp,
    head_blob_keys,
)

_ROOT_WRITES = (
    "SELECT * FROM c WHERE c.thread_id = @t AND c.kind = 'write' AND c.ns = '' AND c.cid = @cid"
)


def log_puts(
    state: StoreState, tid: str, ops: Sequence[StoreOp], tip: Tip, *, committing: str | None
) -> tuple[list[Put], bool, str | None]:
    """Log items to store; the tip is changed in place.

    -> ``(puts, tip changed, id of the root checkpoint this write commits)``.
    ``committing`` is the head revision the write will set: its root checkpoint becomes
    the tip's even if an older id (the newest id wins otherwise, as in every store).
    """
    puts: list[Put] = []
    dirty = False
    own: str | None = None
    pending = state.pending.setdefault(tid, {})
    for op in ops:
        if isinstance(op, PutBlobs):
            puts += [Put(it.blob_item(b), "keep") for b in op.blobs]
        elif isinstance(op, PutCheckpoint):
            r = op.record
            item = it.checkpoint_item(r)
            puts.append(Put(item, "replace"))
            current = tip.record["cid"] if tip.record else None
            commits = committing is not None and (r.session or {}).get("rev") == committing
            if r.checkpoint_ns == "" and (commits or current is None or r.checkpoint_id >= current):
                if r.checkpoint_id != current:
                    tip.writes = pending.pop(r.checkpoint_id, {})
                tip.record = item
                own = r.checkpoint_id if commits else own
                dirty = True
        elif isinstance(op, PutWrites):
            for w in op.writes:
                item = it.write_item(w)
                puts.append(Put(item, "replace" if op.overwrite else "keep"))
                if w.checkpoint_ns != "":
                    continue
                if tip.record is not None and tip.record["cid"] == w.checkpoint_id:
                    merge(tip.writes, item, op.overwrite)
                    dirty = True
                else:
                    merge(pending.setdefault(w.checkpoint_id, {}), item, op.overwrite)
    if tip.record is not None:  # writes of older checkpoints will never be taken over
        for cid in [c for c in pending if c < tip.record["cid"]]:
            del pending[cid]
    return puts, dirty, own


def merge(target: dict[str, it.Item], item: it.Item, overwrite: bool) -> None:
    """Add a write: replace an existing one only with ``overwrite`` (special channels)."""
    if overwrite or item["id"] not in target:
        target[item["id"]] = item


def tip_blobs(state: StoreState, tid: str, tip: Tip, puts: Sequence[Put]) -> Program:
    """The channel values the tip's checkpoint needs (carried over, new, or read once).

    -> ``(blobs by id, ids of blobs that do not exist)``. A checkpoint names versions of
    channels that hold no value in it (``values`` lists those that do); the saver stores
    a blob only for a channel with a value, so those are known absent without a query.
    """
    assert tip.record is not None
    record = it.checkpoint_record(tip.record)
    keys = head_blob_keys(record)
    held = record.checkpoint.get("values")
    fresh = {p.item["id"]: p.item for p in puts if p.item["kind"] == "blob" and p.item["ns"] == ""}
    wanted = [log_id("b", "", ch, v) for ch, v in keys]
    absent = set(tip.absent) | {
        log_id("b", "", ch, v) for ch, v in keys if isinstance(held, list) and ch not in held
    }
    out = {i: fresh.get(i) or tip.blobs.get(i) for i in wanted}
    missing = [i for i, b in out.items() if b is None and i not in absent]
    if missing:
        rows = yield Query(
            "log",
            "SELECT * FROM c WHERE c.thread_id = @t AND c.kind = 'blob' "
            "AND ARRAY_CONTAINS(@ids, c.id)",
            (("@t", tid), ("@ids", missing)),
            tid,
            state.config.page_size,
        )
        for row in (yield from fetch_parts(state, tid, rows)):
            out[row["id"]] = row
    found = {i: b for i, b in out.items() if b is not None}
    return found, [i for i in wanted if i not in found]


def newest_root(state: StoreState, tid: str, tip: Tip) -> Program:
    """Set the tip's checkpoint to the thread's newest root one (with writes and blobs)."""
    rows = yield Query(
        "log",
        "SELECT TOP 1 * FROM c WHERE c.thread_id = @t AND c.kind = 'checkpoint' "
        "AND c.ns = '' ORDER BY c.cid DESC",
        (("@t", tid),),
        tid,
        state.config.page_size,
    )
    rows = yield from fetch_parts(state, tid, rows)
    tip.record = rows[0] if rows else None
    tip.writes, tip.blobs, tip.absent = {}, {}, []
    if tip.record is not None:
        writes = yield Query(
            "log",
            _ROOT_WRITES,
            (("@t", tid), ("@cid", tip.record["cid"])),
            tid,
            state.config.page_size,
        )
        tip.writes = {w["id"]: w for w in (yield from fetch_parts(state, tid, writes))}
        tip.blobs, tip.absent = yield from tip_blobs(state, tid, tip, [])


def delete_checkpoints(state: StoreState, tid: str, op: DeleteCheckpoints) -> Program:
    """Delete log entries (and writes, blobs); refresh the tip if its checkpoint went."""
    if op.checkpoint_ns is None and op.checkpoint_ids is None and op.blobs:
        yield from purge_log(state, tid)
        state.forget(tid)
        return
    where = ["c.thread_id = @t", "(c.kind = 'checkpoint' OR c.kind = 'write')"]
    params: list[tuple[str, Any]] = [("@t", tid)]
    if op.checkpoint_ns is not None:
        where.append("c.ns = @ns")
        params.append(("@ns", op.checkpoint_ns))
    if op.checkpoint_ids is not None:
        where.append("ARRAY_CONTAINS(@ids, c.cid)")
        params.append(("@ids", list(op.checkpoint_ids)))
    text = f"SELECT c.id, c.kind, c.ns, c.cid, c.parts, c.pgen FROM c WHERE ({' AND '.join(where)})"
    if op.blobs:
        ns = " AND c.ns = @ns" if op.checkpoint_ns is not None else ""
        text += f" OR (c.thread_id = @t AND c.kind = 'blob'{ns})"
    if op.blob_keys:
        text += " OR (c.thread_id = @t AND c.kind = 'blob' AND ARRAY_CONTAINS(@bids, c.id))"
        params.append(("@bids", [log_id("b", ns, ch, v) for ns, ch, v in op.blob_keys]))
    rows = yield Query("log", text, tuple(params), tid, state.config.page_size)
    ids = [i for r in rows for i in (r["id"], *it.part_ids(r))]
    yield from apply_best_effort(state, tid, [("delete", (i,), {}) for i in ids])
    gone = {r["cid"] for r in rows if r["kind"] == "checkpoint" and r["ns"] == ""}
    known = state.known.get(tid)
    tip = known.tip if known else (yield from read_tip(state, tid))
    if tip is not None and tip.record is not None and tip.record["cid"] in gone:
        yield from _refresh_tip(state, tid, tip)


def _refresh_tip(state: StoreState, tid: str, tip: Tip) -> Program:
    """Point the tip at the newest remaining root checkpoint (after deletions)."""
    for _ in range(6):
        fresh = tip.copy()
        yield from newest_root(state, tid, fresh)
        try:
            yield from run_ops(
                state, tid, plan_ops(state, fresh.item(tid), tip.etag, []), Effects()
            )
        except TipMoved:
            tip = (yield from read_tip(state, tid)) or Tip()
            continue
        state.forget(tid)
        return
    raise StoreError(f"thread {tid!r}: could not refresh its tip")
