"""The :class:`Write` request as a program: blobs, log entry, then the session (CAS).

By default (no transaction) the blobs, the log entry, the session's compare-and-swap and
its sidecars go in one ordered bulk write: one round trip on MongoDB 8 (client-level
``bulkWrite``). A refused compare-and-swap is undone by deleting (or restoring) what this
``Write`` put before it; pending writes and deletes, which cannot be undone, run only after
the session update succeeded. A crash between the log entry and the session update leaves
the head behind its log, and the next read rolls it forward.

With ``transactions=True`` every operation of a ``Write`` commits together instead, and a
mismatch aborts the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Sequence
from typing import Any, Literal, TypeAlias

from langgraph_picoflow.errors import ConflictError, StoreError
from langgraph_picoflow.mapping import revision_of
from langgraph_picoflow.stores.mongodb._layout import head_key
from langgraph_picoflow.stores.mongodb._models import models_for, replace_doc, upserting
from langgraph_picoflow.stores.mongodb._ops import (
    Bulk,
    BulkResult,
    Delete,
    Find,
    Insert,
    Model,
    Op,
    Replace,
    Txn,
    Update,
    WriteFailure,
)
from langgraph_picoflow.stores.mongodb._profile import Profile
from langgraph_picoflow.stores.mongodb._update import (
    SessionWrite,
    fast_write,
    fits,
    full_write,
    sidecars_write,
)
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    DeleteSession,
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    UpdateSession,
    Write,
)

Program: TypeAlias = Generator[Op, Any, Any]
Outcome: TypeAlias = Literal["done", "retry", "full"]

#: Transactions retried after a transient error (a concurrent transaction on the same head).
TXN_ATTEMPTS = 8


def write(request: Write, profile: Profile) -> Program:
    """Apply a ``Write``; a refused session update raises :class:`ConflictError`."""
    updates = [op for op in request.ops if isinstance(op, UpdateSession)]
    if len(updates) > 1:
        raise StoreError("a Write may update at most one session")
    if updates and profile.transactions:
        return (yield from _transaction(request, updates[0], profile))
    if updates:
        return (yield from _compensated(request, updates[0], profile))
    models = [m for op in request.ops for m in models_for(op, profile, insert_first=True)]
    deleting = any(isinstance(op, DeleteSession | DeleteCheckpoints) for op in request.ops)
    if deleting and profile.transactions and len({m.coll for m in models}) > 1:
        return (yield from _transaction(request, None, profile))
    yield from _apply(models, profile)
    return None


def _apply(models: list[Model], profile: Profile) -> Program:
    """Write ``models`` in order (no transaction): an insert-first model refused as a duplicate
    runs as its upsert, and so does every one after it (one extra round trip at most).
    """
    start = 0
    while True:
        result: BulkResult = yield Bulk(tuple(models[start:]), client=profile.client_bulk)
        error = result.error
        if error is None:
            return
        at = start + error.index
        if error.kind != "duplicate" or upserting(models[at]) is models[at]:
            check(result)
        models[at:], start = [upserting(m) for m in models[at:]], at


def check(result: BulkResult) -> None:
    """Raise :class:`StoreError` if a bulk write failed."""
    if result.error is not None:
        raise StoreError(f"MongoDB write failed ({result.error.code}): {result.error.message}")


# --- the session update ---------------------------------------------------------------


def _session_write(
    request: Write, op: UpdateSession, profile: Profile, full: bool
) -> Generator[Op, Any, SessionWrite]:
    fast = None if full else fast_write(op, op.thread_id)
    if fast is not None and not (
        profile.check_sizes and not fits(op, op.thread_id, profile.head_bytes)
    ):
        return fast
    written, spilled = full_write(op, op.thread_id, profile.head_bytes)
    if spilled:
        yield from _require_logged(request, op)
    return written


def _require_logged(request: Write, op: UpdateSession) -> Program:
    """A head cut to fit one item is rebuilt from the log: that revision must be there."""
    rev = op.result.revision
    for other in request.ops:
        if isinstance(other, PutCheckpoint) and (other.record.session or {}).get("rev") == rev:
            return
    where = {"_id.t": op.thread_id, "_id.n": "", "rev": rev}
    if not (yield Find("checkpoints", where, projection={"_id": 1}, limit=1)):
        raise StoreError(
            f"session {op.thread_id!r} is larger than one document and its revision {rev} "
            "is not in the checkpoint log, so it cannot be stored"
        )


def _current_revision(thread_id: str) -> Program:
    found = yield Find("sessions", {"_id": head_key(thread_id)}, projection={"saveOn": 1})
    return revision_of(found[0]) if found else None


def _conflict(op: UpdateSession, found: str | None) -> ConflictError:
    return ConflictError(op.thread_id, f"expected revision {op.expected}, found {found}")


def _failed(failure: WriteFailure) -> StoreError:
    return StoreError(f"MongoDB write failed ({failure.code}): {failure.message}")


# --- with a transaction ---------------------------------------------------------------


def _transaction(request: Write, op: UpdateSession | None, profile: Profile) -> Program:
    full = False
    for _ in range(TXN_ATTEMPTS):
        sw = (yield from _session_write(request, op, profile, full)) if op is not None else None
        models: list[Model] = []
        head = -1
        for store_op in request.ops:
            if isinstance(store_op, UpdateSession) and sw is not None:
                head = len(models)
                models += [sw.head, sw.sidecars]
            else:
                models += models_for(store_op, profile)
        yield Txn("start")
        try:
            outcome = yield from _txn_body(models, head, op, sw, profile)
        except BaseException:
            yield Txn("abort")
            raise
        if outcome != "done":
            yield Txn("abort")
            full = full or outcome == "full"
            continue
        failure = yield Txn("commit")
        if failure is None:
            return None
        if failure.kind != "transient":
            raise _failed(failure)
    thread = op.thread_id if op is not None else "?"
    raise ConflictError(thread, "transaction kept conflicting with concurrent writers")


def _txn_body(
    models: list[Model],
    head: int,
    op: UpdateSession | None,
    sw: SessionWrite | None,
    profile: Profile,
) -> Generator[Op, Any, Outcome]:
    """One attempt; ``head`` is the index of the session write (its sidecars follow it)."""
    result: BulkResult = yield Bulk(tuple(models), client=profile.client_bulk)
    error = result.error
    if error is not None:
        if error.kind == "transient":
            return "retry"
        if op is not None and sw is not None and error.index in (head, head + 1):
            if error.kind == "duplicate" and error.index == head:
                raise _conflict(op, "an existing session")
            if error.kind == "too_large" and sw.fast:
                return "full"
        raise _failed(error)
    if op is None or sw is None:
        return "done"
    if result.counts.get(head) == 0:
        found = yield from _current_revision(op.thread_id)
        if found != op.expected or not sw.fast:
            raise _conflict(op, found)
        return "full"  # the head is spilled: its histories are shorter than the writer's
    if sw.fast and result.counts.get(head + 1) == 0:
        check((yield Bulk((sidecars_write(op, op.thread_id),))))
    return "done"


# --- without a transaction ------------------------------------------------------------


def _compensated(request: Write, op: UpdateSession, profile: Profile) -> Program:
    """Blobs, log entry, session and sidecars in one ordered bulk write; undone if refused.

    The sidecar update rides in the same round trip as the session's compare-and-swap. A
    writer whose compare-and-swap is refused may still have updated the sidecars (they were
    at its base revision): it marks them untrusted (``rev: None``) if its own write
    (``w``: its token) is still there, and readers then rebuild them from the log.
    """
    token = uuid.uuid4().hex
    sw = yield from _session_write(request, op, profile, False)
    before = [o for o in request.ops if isinstance(o, PutBlobs | PutCheckpoint)]
    after = [o for o in request.ops if isinstance(o, PutWrites | DeleteSession | DeleteCheckpoints)]
    models = [m for o in before for m in models_for(o, profile, log_insert=True, insert_first=True)]
    head, start = len(models), 0
    models += [sw.head, _tagged(sw.sidecars, token)]
    undo: list[Model] = [_untrust(op, token)]
    while True:
        result: BulkResult = yield Bulk(tuple(models[start:]), client=profile.client_bulk)
        undo += _undo(models[start:], result)
        error = result.error
        at = start + error.index if error is not None else head
        if error is None and result.counts.get(head - start) != 0:
            break
        if error is not None and at == head + 1:  # the session is written, its sidecars failed
            break
        if error is None or (at == head and error.kind == "too_large"):
            # Refused (0 matched) or too large: a conflict, or a head cut to fit one item.
            found = yield from _current_revision(op.thread_id)
            if found != op.expected or not sw.fast:
                yield from _rollback(undo)
                raise _conflict(op, found) if error is None else _failed(error)
            sw = yield from _session_write(request, op, profile, True)
            models[head : head + 2], start = [sw.head, _tagged(sw.sidecars, token)], head
            continue
        target = models[at]
        if error.kind == "duplicate" and upserting(target) is not target:
            # Stored already (a blob, a chunk): the upserts it stood for do the rest.
            models[at:head], start = [upserting(m) for m in models[at:head]], at
            continue
        if (
            isinstance(target, Insert)
            and target.coll == "checkpoints"
            and error.kind == "duplicate"
        ):
            # An existing entry is rewritten (e.g. marked aborted): keep it to restore.
            old = yield Find("checkpoints", {"_id": target.doc["_id"]})
            undo += [replace_doc("checkpoints", old[0])] if old else []
            models[at], start = replace_doc("checkpoints", dict(target.doc)), at
            continue
        yield from _rollback(undo)
        duplicate = at == head and error.kind == "duplicate"
        raise _conflict(op, "an existing session") if duplicate else _failed(error)
    if result.error is not None and result.error.kind == "too_large":
        # The sidecars outgrew one item: rewrite the session whole, cut to fit.
        rewrite = UpdateSession(op.thread_id, op.result.revision, op.patch, op.result)
        written = yield from _session_write(request, rewrite, profile, True)
        check((yield Bulk((written.head, _tagged(written.sidecars, token)))))
    elif sw.fast and (result.error is not None or result.counts.get(head + 1 - start) == 0):
        # The sidecars were not at this write's base revision: write them whole.
        check((yield Bulk((_tagged(sidecars_write(op, op.thread_id), token),))))
    post = [m for o in after for m in models_for(o, profile, insert_first=True)]
    if post:
        yield from _apply(post, profile)


def _tagged(model: Model, token: str) -> Model:
    """The sidecar write, signed with this writer's token."""
    if isinstance(model, Update):
        sets = {**model.update.get("$set", {}), "w": token}
        return Update(model.coll, model.filter, {**model.update, "$set": sets}, model.upsert)
    assert isinstance(model, Replace)
    return Replace(model.coll, model.filter, {**model.doc, "w": token}, model.upsert)


def _untrust(op: UpdateSession, token: str) -> Model:
    """Mark the sidecars untrusted if this (refused) writer's update is what they hold."""
    return Update("sidecars", {"_id": head_key(op.thread_id), "w": token}, {"$set": {"rev": None}})


def _undo(models: Sequence[Model], result: BulkResult) -> list[Model]:
    """What deletes the documents these models inserted (those that were applied)."""
    out: list[Model] = []
    for i, m in enumerate(models[: result.applied(len(models))]):
        if isinstance(m, Insert):
            out.append(Delete(m.coll, {"_id": m.doc["_id"]}))
        elif isinstance(m, Update | Replace) and m.upsert and i in result.upserted:
            out.append(Delete(m.coll, {"_id": m.filter["_id"]}))
    return out


def _rollback(undo: list[Model]) -> Program:
    if undo:
        yield Bulk(tuple(reversed(undo)))  # best effort: the conflict is what gets reported
