"""Each store operation as MongoDB write models (chunked payloads before their owner).

Upserts keep every write idempotent: a blob or a pending write that is already stored is
left as it is (``$setOnInsert``), an overwriting write or a log entry replaces its document.
With ``insert_first`` (writes outside a transaction) each upsert by ``_id`` is sent as an
insert carrying the upsert as its ``fallback`` (see :class:`._ops.Insert`): a new document
costs no query, whatever the collection holds.
"""

from __future__ import annotations

from typing import Any

from langgraph_picoflow.stores.mongodb import _chunks
from langgraph_picoflow.stores.mongodb._layout import (
    blob_doc,
    blob_key,
    checkpoint_doc,
    head_key,
    write_doc,
)
from langgraph_picoflow.stores.mongodb._ops import Coll, Delete, Insert, Model, Replace, Update
from langgraph_picoflow.stores.mongodb._profile import Profile
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    DeleteSession,
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    StoreOp,
)


def _with_chunks(
    coll: Coll,
    doc: dict[str, Any],
    profile: Profile,
    thread: str,
    ns: str,
    cid: str | None,
    insert_first: bool,
) -> tuple[dict[str, Any], list[Model]]:
    owner, chunks = _chunks.split(coll, doc, profile.inline_bytes, thread=thread, ns=ns, cid=cid)
    return owner, [_first(replace_doc("chunks", c), c, insert_first) for c in chunks]


def _insert_or_keep(coll: Coll, owner: dict[str, Any]) -> Update:
    body = {k: v for k, v in owner.items() if k != "_id"}
    return Update(coll, {"_id": owner["_id"]}, {"$setOnInsert": body}, upsert=True)


def _first(upsert: Update | Replace, doc: dict[str, Any], insert_first: bool) -> Model:
    """``upsert``, or (``insert_first``) the insert of ``doc`` that falls back to it."""
    return Insert(upsert.coll, doc, fallback=upsert) if insert_first else upsert


def upserting(model: Model) -> Model:
    """The upsert an insert-first model stands for (other models as they are)."""
    return model.fallback if isinstance(model, Insert) and model.fallback is not None else model


def models_for(
    op: StoreOp, profile: Profile, *, log_insert: bool = False, insert_first: bool = False
) -> list[Model]:
    """The writes of one store operation (chunks before their owner).

    ``log_insert``: a log entry is inserted (the caller handles an existing one);
    ``insert_first``: upserts by ``_id`` become inserts falling back to them (never inside
    a transaction, which a duplicate key error would abort).
    """
    out: list[Model] = []
    if isinstance(op, PutBlobs):
        for b in op.blobs:
            owner, chunks = _with_chunks(
                "blobs", blob_doc(b), profile, b.thread_id, b.checkpoint_ns, None, insert_first
            )
            out += [*chunks, _first(_insert_or_keep("blobs", owner), owner, insert_first)]
    elif isinstance(op, PutCheckpoint):
        r = op.record
        doc = checkpoint_doc(r, head_key(r.thread_id))
        owner, chunks = _with_chunks(
            "checkpoints", doc, profile, r.thread_id, r.checkpoint_ns, r.checkpoint_id, insert_first
        )
        entry: Model = (
            Insert("checkpoints", owner) if log_insert else replace_doc("checkpoints", owner)
        )
        out += [*chunks, entry]
    elif isinstance(op, PutWrites):
        for w in op.writes:
            owner, chunks = _with_chunks(
                "writes",
                write_doc(w),
                profile,
                w.thread_id,
                w.checkpoint_ns,
                w.checkpoint_id,
                insert_first,
            )
            write = (
                replace_doc("writes", owner) if op.overwrite else _insert_or_keep("writes", owner)
            )
            out += [*chunks, _first(write, owner, insert_first)]
    elif isinstance(op, DeleteSession):
        key = head_key(op.thread_id)
        out += [Delete("sessions", {"_id": key}), Delete("sidecars", {"_id": key})]
    elif isinstance(op, DeleteCheckpoints):
        out += _deletes(op)
    return out


def replace_doc(coll: Coll, owner: dict[str, Any]) -> Replace:
    """Insert or replace the document ``owner``."""
    return Replace(coll, {"_id": owner["_id"]}, owner, upsert=True)


def _deletes(op: DeleteCheckpoints) -> list[Model]:
    t, ns, ids = op.thread_id, op.checkpoint_ns, op.checkpoint_ids
    entries: dict[str, Any] = {"_id.t": t}
    writes: dict[str, Any] = {"_id.cp.t": t}
    chunks: dict[str, Any] = {"t": t}
    if ns is not None:
        entries["_id.n"] = writes["_id.cp.n"] = chunks["n"] = ns
    if ids is not None:
        entries["_id.c"] = writes["_id.cp.c"] = chunks["c"] = {"$in": list(ids)}
    elif not op.blobs:
        chunks["c"] = {"$ne": None}  # blob chunks have no checkpoint
    out: list[Model] = [Delete("checkpoints", entries), Delete("writes", writes)]
    out.append(Delete("chunks", chunks))
    if op.blobs:
        blobs = {"_id.t": t, **({"_id.n": ns} if ns is not None else {})}
        out.append(Delete("blobs", blobs))
        if ids is not None:
            out.append(Delete("chunks", {**chunks, "c": None}))
    if op.blob_keys:
        keys = [blob_key(t, n, ch, v) for n, ch, v in op.blob_keys]
        out += [
            Delete("blobs", {"_id": {"$in": keys}}),
            Delete("chunks", {"t": t, "_id.o": {"$in": keys}}),
        ]
    return out
