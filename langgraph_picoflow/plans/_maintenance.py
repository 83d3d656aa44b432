"""Thread maintenance: delete, delete runs, prune (DeltaChannel-safe), copy, list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from langgraph_picoflow import patch as patches
from langgraph_picoflow.document import check_text
from langgraph_picoflow.plans._base import Context, Plan
from langgraph_picoflow.plans._heads import load_head
from langgraph_picoflow.plans._read import documents_at
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, SessionRecord, WriteRecord
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    DeleteSession,
    ListCheckpoints,
    ListThreads,
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    ReadBlobs,
    ReadWrites,
    StoreOp,
    UpdateSession,
    Write,
)


def delete_thread(ctx: Context, thread_id: str) -> Plan:
    """Remove the session document, its log, writes and blobs."""
    check_text(thread_id, "thread_id")
    ctx.heads.pop(thread_id, None)
    yield Write((DeleteSession(thread_id), DeleteCheckpoints(thread_id, blobs=True)))


def delete_for_runs(ctx: Context, run_ids: Sequence[str]) -> Plan:
    """Remove the checkpoints (and their writes) of these runs; heads fall back."""
    if not run_ids:
        return
    doomed: list[CheckpointRecord] = yield ListCheckpoints(
        run_ids=tuple(str(r) for r in run_ids), with_session=False
    )
    for thread_id in dict.fromkeys(r.thread_id for r in doomed):
        ids = {r.checkpoint_id for r in doomed if r.thread_id == thread_id}
        yield from _drop_checkpoints(ctx, thread_id, ids)


def prune(ctx: Context, thread_ids: Sequence[str], strategy: str) -> Plan:
    """``delete`` whole threads, or ``keep_latest`` per namespace.

    ``keep_latest`` also keeps, for a thread whose graph uses ``DeltaChannel``, the chain
    of ancestors back to each delta channel's last stored value, without which its state
    would silently rebuild as empty.
    """
    if strategy not in ("keep_latest", "delete"):
        raise ValueError(f"prune strategy must be 'keep_latest' or 'delete', got {strategy!r}")
    for given in thread_ids:
        thread_id = check_text(str(given), "thread_ids")
        if strategy == "delete":
            yield from delete_thread(ctx, thread_id)
            continue
        entries: list[CheckpointRecord] = yield ListCheckpoints(thread_id, with_session=False)
        keep: set[str] = set()
        for ns in {r.checkpoint_ns for r in entries}:
            in_ns = [r for r in entries if r.checkpoint_ns == ns]
            keep |= _chain_to_seeds(in_ns)
        drop = {r.checkpoint_id for r in entries if r.checkpoint_id not in keep}
        if drop:
            yield from _drop_checkpoints(ctx, thread_id, drop)


def _chain_to_seeds(entries: list[CheckpointRecord]) -> set[str]:
    latest = max(entries, key=lambda r: r.checkpoint_id)
    counters = latest.metadata.get("counters_since_delta_snapshot") or {}
    remaining = {ch for ch in counters if ch not in latest.checkpoint.get("values", ())}
    by_id = {r.checkpoint_id: r for r in entries}
    keep = {latest.checkpoint_id}
    cursor = by_id.get(latest.parent_id) if latest.parent_id else None
    while cursor is not None and remaining:
        keep.add(cursor.checkpoint_id)
        remaining -= set(cursor.checkpoint.get("values", ()))
        cursor = by_id.get(cursor.parent_id) if cursor.parent_id else None
    return keep


def _drop_checkpoints(ctx: Context, thread_id: str, drop: set[str]) -> Plan:
    """Delete log entries and keep the rest of the root log replayable and the head right.

    A surviving root entry whose predecessor goes is rewritten as a full snapshot, and the
    head is reset to the newest surviving root checkpoint (or removed when none is left).
    """
    entries: list[CheckpointRecord] = yield ListCheckpoints(thread_id)
    root = sorted((r for r in entries if r.checkpoint_ns == ""), key=lambda r: r.seq)
    ops: list[StoreOp] = []
    root_dropped = any(r.checkpoint_id in drop for r in root)
    if root_dropped:
        docs = yield from documents_at(thread_id, {r.checkpoint_id for r in root})
        previous_kept = True
        survivors = []
        for r in root:
            if r.checkpoint_id in drop:
                previous_kept = False
                continue
            if not previous_kept and r.checkpoint_id in docs and r.session is not None:
                doc, side = docs[r.checkpoint_id]
                full = patches.to_json([patches.ReplaceSession(doc, side)])
                r = replace(r, session={**r.session, "patch": full, "base": None})
                ops.append(PutCheckpoint(r))
            previous_kept = True
            survivors.append(r)
        head = yield from load_head(ctx, thread_id)
        ctx.heads.pop(thread_id, None)
        if survivors and survivors[-1].checkpoint_id in docs and survivors[-1].session:
            doc, side = docs[survivors[-1].checkpoint_id]
            result = SessionRecord(doc, side, survivors[-1].session["rev"])
            ops.append(
                UpdateSession(
                    thread_id,
                    head.record.revision if head else None,
                    [patches.ReplaceSession(doc, side)],
                    result,
                )
            )
        elif head is not None and head.entry is not None:
            ops.append(DeleteSession(thread_id))
    for ns in {r.checkpoint_ns for r in entries}:
        ids = tuple(
            r.checkpoint_id for r in entries if r.checkpoint_ns == ns and r.checkpoint_id in drop
        )
        if ids:
            ops.append(DeleteCheckpoints(thread_id, ns, ids))
    yield Write(tuple(ops))


def copy_thread(ctx: Context, source: str, target: str) -> Plan:
    """Copy a thread (document, log, writes, blobs) to another thread id."""
    check_text(source, "source_thread_id")
    head = yield from load_head(ctx, source)
    entries: list[CheckpointRecord] = yield ListCheckpoints(source)
    writes: list[WriteRecord] = yield ReadWrites(source, None, None)
    blobs: list[BlobRecord] = yield ReadBlobs(source, None, None)
    yield from delete_thread(ctx, target)
    ops: list[StoreOp] = []
    if blobs:
        ops.append(PutBlobs([replace(b, thread_id=target) for b in blobs]))
    ops += [PutCheckpoint(replace(r, thread_id=target)) for r in entries]
    if writes:
        ops.append(PutWrites([replace(w, thread_id=target) for w in writes], overwrite=True))
    if head is not None:
        doc = dict(head.record.document)
        doc["id"] = target
        if "_id" in doc:
            doc["_id"] = target
        result = SessionRecord(doc, head.record.sidecars, head.record.revision)
        ops.append(
            UpdateSession(target, None, [patches.ReplaceSession(doc, result.sidecars)], result)
        )
    yield Write(tuple(ops))


def list_threads(ctx: Context) -> Plan:
    """Every thread id the store knows, sorted."""
    return (yield ListThreads())
