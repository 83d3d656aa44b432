"""The write program: one :class:`~langgraph_picoflow.stores.protocol.Write`, in order.

For each thread it touches:

1. the head's revision is checked against ``UpdateSession.expected`` (from memory when
   this store wrote or read that revision last, else by reading the head);
2. log items and the tip go first, in transactional batches (the tip under ``If-Match``);
3. the head is patched (or replaced) under ``If-Match`` on its ``_etag``; if that fails,
   what step 2 applied is undone and :class:`ConflictError` is raised; if a reader has
   meanwhile rolled this very update forward, the write counts as done ("this very
   update" is told by its log entry, never by its revision: a revision is a millisecond
   timestamp, and writers racing from one head can share one);
4. log deletions, then the head deletion, then leftovers of replaced layouts.

A ``413`` undoes the attempt, halves the store's size limits and tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.errors import ConflictError, StoreError
from langgraph_picoflow.mapping import revision_of
from langgraph_picoflow.records import CheckpointRecord
from langgraph_picoflow.stores.cosmos import items as it
from langgraph_picoflow.stores.cosmos.headplan import HeadPlan, plan_head
from langgraph_picoflow.stores.cosmos.ids import check_thread_id
from langgraph_picoflow.stores.cosmos.logwrite import (
    Effects,
    Put,
    TipMoved,
    TooLarge,
    apply_best_effort,
    plan_ops,
    run_ops,
    undo,
)
from langgraph_picoflow.stores.cosmos.ops import (
    CreateItem,
    PatchItem,
    ReplaceItem,
    etag_of,
    status,
)
from langgraph_picoflow.stores.cosmos.purge import delete_head
from langgraph_picoflow.stores.cosmos.reads import complete_head, read_head_item, read_tip
from langgraph_picoflow.stores.cosmos.state import Known, Program, StoreState
from langgraph_picoflow.stores.cosmos.tip import Tip
from langgraph_picoflow.stores.cosmos.tipplan import (
    delete_checkpoints,
    log_puts,
    newest_root,
    tip_blobs,
)
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    DeleteSession,
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    StoreOp,
    UpdateSession,
    Write,
)

log = logging.getLogger(__name__)
_ATTEMPTS = 6


def head_revision(head: dict[str, Any] | None) -> str | None:
    """The compare-and-swap revision of a stored head item (its ``saveOn``)."""
    if head is None:
        return None
    return revision_of(pdoc.load({"saveOn": head.get("saveOn")}))


def write(state: StoreState, request: Write) -> Program:
    """Apply a ``Write``, thread by thread (each thread's part is checked and undone alone)."""
    by_thread: dict[str, list[StoreOp]] = {}
    for op in request.ops:
        tid = op.record.thread_id if isinstance(op, PutCheckpoint) else _thread_of(op)
        by_thread.setdefault(check_thread_id(tid), []).append(op)
    for tid, ops in by_thread.items():
        try:
            yield from _write_thread(state, tid, ops)
        except UnicodeEncodeError as exc:
            state.forget(tid)
            raise StoreError(
                f"thread {tid!r}: text that is not valid Unicode ({exc.reason}) cannot be "
                "stored in Cosmos DB (JSON is UTF-8)"
            ) from exc
        except BaseException:
            state.forget(tid)
            raise


def _thread_of(op: StoreOp) -> str:
    if isinstance(op, PutBlobs):
        return op.blobs[0].thread_id if op.blobs else ""
    if isinstance(op, PutWrites):
        return op.writes[0].thread_id if op.writes else ""
    assert not isinstance(op, PutCheckpoint)
    return op.thread_id


def _write_thread(state: StoreState, tid: str, ops: Sequence[StoreOp]) -> Program:
    ops = [op for op in ops if not _empty(op)]
    updates = [op for op in ops if isinstance(op, UpdateSession)]
    if len(updates) > 1:
        raise StoreError("a Write may update a session at most once")
    update = updates[0] if updates else None
    entry = _entry(ops, update)
    for _ in range(_ATTEMPTS):
        known = yield from _load(state, tid, update, ops, entry)
        effects = Effects()
        try:
            yield from _attempt(state, tid, ops, update, known, effects, entry)
            if update is not None:
                log.debug(
                    "thread %r: head %s -> %s%s",
                    tid,
                    update.expected,
                    update.result.revision,
                    " (tip taken over)" if known.taken else "",
                )
            return
        except TipMoved:
            yield from undo(state, tid, effects, known.tip.raw if known.tip else None)
            state.forget(tid)
        except TooLarge:
            yield from undo(state, tid, effects, known.tip.raw if known.tip else None)
            state.forget(tid)
            state.limits = state.limits.halved()
            log.info("Cosmos DB refused a request as too large; limits now %s", state.limits)
        except Exception:  # (not BaseException: no request may be sent while closing)
            yield from undo(state, tid, effects, known.tip.raw if known.tip else None)
            raise
    raise StoreError(f"thread {tid!r}: gave up after {_ATTEMPTS} attempts (contention or 413)")


def _empty(op: StoreOp) -> bool:
    return (isinstance(op, PutBlobs) and not op.blobs) or (
        isinstance(op, PutWrites) and not op.writes
    )


def _entry(ops: Sequence[StoreOp], update: UpdateSession | None) -> CheckpointRecord | None:
    """The root log entry whose session update this write commits.

    ``None`` when it commits none of its own: a reader rolling a stored entry forward,
    an import, maintenance.
    """
    if update is None:
        return None
    found = None
    for op in ops:
        if (
            isinstance(op, PutCheckpoint)
            and op.record.checkpoint_ns == ""
            and (op.record.session or {}).get("rev") == update.result.revision
        ):
            found = op.record  # (the last one, as log_puts picks it)
    return found


def _touches_tip(ops: Sequence[StoreOp]) -> bool:
    return any(
        isinstance(op, UpdateSession)
        or (isinstance(op, PutCheckpoint) and op.record.checkpoint_ns == "")
        or (isinstance(op, PutWrites) and any(w.checkpoint_ns == "" for w in op.writes))
        for op in ops
    )


def _load(
    state: StoreState,
    tid: str,
    update: UpdateSession | None,
    ops: Sequence[StoreOp],
    entry: CheckpointRecord | None,
) -> Program:
    """What is known of the thread, read if needed; checks the expected revision."""
    known = state.known.get(tid)
    if update is None:
        if known is None and _touches_tip(ops):
            known = Known(None, None, (yield from read_tip(state, tid)), head_read=False)
            state.known[tid] = known
        return known or Known(None, None, None, head_read=False)
    # The cache is trusted only when its tip describes its head (our own last write, or a
    # read of a settled thread); anything else is re-read and checked by _take_over.
    if (
        known is None
        or not known.head_read
        or known.head_rev != update.expected
        or (known.tip is not None and known.tip.rev != known.head_rev)
    ):
        head = yield from read_head_item(state, tid)
        tip = yield from read_tip(state, tid)
        if head is not None:
            head = yield from complete_head(state, tid, head, tip)
        known = Known(head.get("_etag") if head else None, head_revision(head), tip)
        state.known[tid] = known
        if known.head_rev == update.expected and tip is not None:
            yield from _take_over(state, tid, head, known, update, entry)
    if known.head_rev != update.expected:
        raise ConflictError(tid, f"expected revision {update.expected}, found {known.head_rev}")
    return known


def _take_over(
    state: StoreState,
    tid: str,
    head: dict[str, Any] | None,
    known: Known,
    update: UpdateSession,
    entry: CheckpointRecord | None,
) -> Program:
    """Deal with a tip written for a revision the head does not have.

    Its writer is between its log write and its head write (or died there), or Picoflow
    rewrote the head since. A live writer is left alone: this one is refused (it would
    lose the head's compare-and-swap anyway once that writer commits), unless it is
    rolling that very update forward. Otherwise the tip is taken over after *fencing*:
    the head is rewritten unchanged, which gives it a new etag, so a writer still holding
    the old one can no longer commit a head the new tip does not describe.
    """
    tip = known.tip
    assert tip is not None
    if tip.rev is None or tip.rev == known.head_rev:
        return
    # "That very update": a roll-forward (no entry of its own) applies the tip's entry;
    # a writer's own entry must be the tip's. A tip merely at our revision may be another
    # writer's step from the same head in the same millisecond: going on would overwrite
    # its tip, and its head commit would then look like a reader's roll-forward of ours
    # (both writers "applied").
    if tip.rev == update.result.revision and (entry is None or tip.holds(entry)):
        return
    if tip.base == known.head_rev:  # (both None: another writer creating the session)
        age = state.clock() - (tip.ts or 0.0)
        if age < state.config.lease:
            raise ConflictError(tid, "another writer is updating the session")
    known.taken = True
    if head is None:
        return
    try:
        fenced = yield PatchItem(
            "sessions",
            tid,
            tid,
            [{"op": "set", "path": "/saveOn", "value": head["saveOn"]}],
            head["_etag"],
            minimal=True,
        )
    except Exception as exc:
        if status(exc) not in (404, 412):
            raise
        raise ConflictError(tid, "another writer updated the session meanwhile") from None
    known.head_etag = etag_of(fenced)


def _attempt(
    state: StoreState,
    tid: str,
    ops: Sequence[StoreOp],
    update: UpdateSession | None,
    known: Known,
    effects: Effects,
    entry: CheckpointRecord | None,
) -> Program:
    old_tip = known.tip
    if known.taken and old_tip is not None:
        # Nothing of a taken-over tip is trusted: its checkpoint is another writer's.
        tip = Tip(etag=old_tip.etag, raw=old_tip.raw, ts=old_tip.ts)
    else:
        tip = old_tip.copy() if old_tip else Tip()
    committing = update.result.revision if update else None
    puts, dirty, own = log_puts(state, tid, ops, tip, committing=committing)
    if known.taken and tip.record is None:
        yield from newest_root(state, tid, tip)
    if dirty and tip.record is not None:
        tip.blobs, tip.absent = yield from tip_blobs(state, tid, tip, puts)
    plan: HeadPlan | None = None
    if update is not None:
        valid = not known.taken and old_tip is not None and old_tip.rev == known.head_rev
        plan = plan_head(
            tid,
            old_tip.spaces if valid and old_tip else None,
            update.patch,
            update.result,
            state.limits,
            chain=own is not None,
            size=old_tip.size if valid and old_tip else None,
        )
        tip.rev, tip.base = update.result.revision, update.expected
        tip.spaces, tip.prev, tip.size = plan.spaces, plan.prev, plan.size
        puts += [Put(item, "keep") for item in plan.items]
        dirty = True
    tip_item = tip.item(tid) if dirty else None
    queue = plan_ops(state, tip_item, old_tip.etag if old_tip else None, puts)
    yield from run_ops(state, tid, queue, effects)
    effects.committed = update is None  # without a head to update, the log is the write
    if tip_item is not None:
        tip.raw = it.split(tip_item, state.limits.item_bytes, state.limits.part_bytes)[0]
        tip.etag = effects.tip_etag
    garbage = list(effects.stale)
    if dirty and old_tip is not None and old_tip.raw and old_tip.raw.get("parts"):
        garbage += it.part_ids(old_tip.raw)
    if update is not None and plan is not None:
        etag, committed = yield from _write_head(state, tid, update, plan, known, entry)
        effects.committed = True
        if committed:
            garbage += plan.garbage
            state.known[tid] = Known(etag, update.result.revision, tip)
        else:  # a reader committed it from our log entry, with a tip of its own
            garbage = []
            state.forget(tid)
    else:
        state.known[tid] = Known(
            known.head_etag, known.head_rev, tip if dirty else old_tip, known.head_read
        )
    for op in ops:
        if isinstance(op, DeleteCheckpoints):
            yield from delete_checkpoints(state, tid, op)
    if any(isinstance(op, DeleteSession) for op in ops):
        yield from delete_head(tid)
        yield from _orphan_tip(state, tid)
    if garbage:
        yield from apply_best_effort(state, tid, [("delete", (i,), {}) for i in garbage])


def _orphan_tip(state: StoreState, tid: str) -> Program:
    """After the head is deleted, its tip describes no head (so a new one can be created)."""
    current = state.known.get(tid)
    tip = current.tip if current else (yield from read_tip(state, tid))
    state.forget(tid)
    if tip is None or tip.rev is None:
        return
    tip = tip.copy()
    tip.rev = tip.base = None
    tip.spaces, tip.prev = {}, {}
    try:
        yield from run_ops(state, tid, plan_ops(state, tip.item(tid), tip.etag, []), Effects())
    except TipMoved:
        log.info("tip of %r changed while its head was deleted", tid)


def _write_head(
    state: StoreState,
    tid: str,
    update: UpdateSession,
    plan: HeadPlan,
    known: Known,
    entry: CheckpointRecord | None,
) -> Program:
    """Patch or replace the head under ``If-Match``; -> ``(etag, written by us)``."""
    try:
        if plan.mode == "patch" and known.head_etag is not None:
            etag = known.head_etag
            for i, ops in enumerate(plan.patches):
                try:
                    head = yield PatchItem("sessions", tid, tid, ops, etag, minimal=True)
                except Exception as exc:
                    if i == 0 or status(exc) != 412:
                        raise
                    # A reader found the chain unfinished and is finishing it.
                    return (yield from _finish_chain(state, tid, update, known)), True
                etag = etag_of(head)
            return etag, True
        body = {**plan.body, "id": tid}
        if known.head_etag is None:
            head = yield CreateItem("sessions", body, minimal=True)
        else:
            head = yield ReplaceItem("sessions", body, known.head_etag, minimal=True)
        return etag_of(head), True
    except (TipMoved, TooLarge):
        raise
    except Exception as exc:
        code = status(exc)
        if code == 413:
            raise TooLarge from exc
        if code not in (404, 409, 412):
            raise
        current = yield from read_head_item(state, tid)
        if (
            current is not None
            and entry is not None
            and head_revision(current) == update.result.revision
        ):
            # Our revision is in the head: either a reader rolled this very update
            # forward from our log entry (then the tip holds it), or another writer
            # produced the same millisecond (then it does not).
            now = yield from read_tip(state, tid)
            if now is not None and now.holds(entry):
                return current["_etag"], False
        raise ConflictError(
            tid, f"expected revision {update.expected}, found {head_revision(current)}"
        ) from None


def _finish_chain(state: StoreState, tid: str, update: UpdateSession, known: Known) -> Program:
    head = yield from read_head_item(state, tid)
    if head is not None and head_revision(head) == update.result.revision:
        tip = yield from read_tip(state, tid)
        head = yield from complete_head(state, tid, head, tip)
    return head["_etag"] if head else None
