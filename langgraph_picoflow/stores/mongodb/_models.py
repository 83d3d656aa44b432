"""Each store operation as MongoDB write models (chunked payloads before their owner).

Upserts keep every write idempotent: a blob or a pending write that is already stored is
left as it is (``$setOnInsert``), an overwriting write or a log entry replaces its document.
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
    coll: Coll, doc: dict[str, Any], profile: Profile, thread: str, ns: str, cid: str | None
) -> tuple[dict[str, Any], list[Model]]:
    owner, chunks = _chunks.split(coll, doc, profile.inline_bytes, thread=thread, ns=ns, cid=cid)
    return owner, [Replace("chunks", {"_id": c["_id"]}, c, upsert=True) for c in chunks]


def _insert_or_keep(coll: Coll, owner: dict[str, Any]) -> Update:
    body = {k: v for k, v in owner.items() if k != "_id"}
    return Update(coll, {"_id": owner["_id"]}, {"$setOnInsert": body}, upsert=True)


def models_for(op: StoreOp, profile: Profile, *, log_insert: bool = False) -> list[Model]:
    """The writes of one store operation (chunks before their owner)."""
    out: list[Model] = []
    if isinstance(op, PutBlobs):
        for b in op.blobs:
            owner, chunks = _with_chunks(
                "blobs", blob_doc(b), profile, b.thread_id, b.checkpoint_ns, None
            )
            out += [*chunks, _insert_or_keep("blobs", owner)]
    elif isinstance(op, PutCheckpoint):
        r = op.record
        doc = checkpoint_doc(r, head_key(r.thread_id))
        owner, chunks = _with_chunks(
            "checkpoints", doc, profile, r.thread_id, r.checkpoint_ns, r.checkpoint_id
        )
        entry: Model = (
            Insert("checkpoints", owner) if log_insert else replace_doc("checkpoints", owner)
        )
        out += [*chunks, entry]
    elif isinstance(op, PutWrites):
        for w in op.writes:
            owner, chunks = _with_chunks(
                "writes", write_doc(w), profile, w.thread_id, w.checkpoint_ns, w.checkpoint_id
            )
            write: Model = (
                replace_doc("writes", owner) if op.overwrite else _insert_or_keep("writes", owner)
            )
            out += [*chunks, write]
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
