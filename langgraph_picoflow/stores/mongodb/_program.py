"""One pure program per request: which MongoDB operations answer it.

A program is a generator that yields :mod:`._ops` operations, receives their results and
returns the request's answer; :mod:`._store` runs it with pymongo, sync or async.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from datetime import datetime
from typing import Any, TypeAlias

from langgraph_picoflow.stores.mongodb import _models, _reads, _writes
from langgraph_picoflow.stores.mongodb._layout import head_key, thread_of
from langgraph_picoflow.stores.mongodb._ops import (
    Bulk,
    BulkResult,
    Command,
    CreateIndex,
    Delete,
    Find,
    Model,
    Op,
    Txn,
)
from langgraph_picoflow.stores.mongodb._profile import Profile
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    ListCheckpoints,
    ListThreads,
    ReadBlobs,
    ReadCheckpoint,
    ReadHead,
    ReadSession,
    ReadWrites,
    Request,
)

Program: TypeAlias = Generator[Op, Any, Any]

#: ``(collection, keys, name, sparse)``: what the queries need beyond ``_id``.
INDEXES: tuple[CreateIndex, ...] = (
    # newest entry of a (thread, namespace); lists of a thread
    CreateIndex("checkpoints", (("_id.t", 1), ("_id.n", 1), ("_id.c", -1)), "thread_ns_newest"),
    CreateIndex("checkpoints", (("run_id", 1),), "run_id", sparse=True),
    CreateIndex("checkpoints", (("metadata.source", 1), ("metadata.step", 1)), "metadata"),
    # writes of one checkpoint (the $lookup of a head read), and of a thread
    CreateIndex("writes", (("_id.cp", 1),), "checkpoint"),
    CreateIndex("writes", (("_id.cp.t", 1), ("_id.cp.n", 1), ("_id.cp.c", 1)), "thread_ns"),
    CreateIndex("blobs", (("_id.t", 1), ("_id.n", 1)), "thread_ns"),
    CreateIndex("chunks", (("t", 1), ("c", 1)), "thread_checkpoint"),
)
#: Makes the expiry sweep a range scan instead of a collection scan.
EXPIRY_INDEX = CreateIndex("sessions", (("saveOn", 1),), "saveOn")


def program(request: Request, profile: Profile) -> Program:
    """The operations answering ``request``; the answer is the generator's return value."""
    if isinstance(request, ReadHead):
        return (yield from _reads.read_head(request.thread_id))
    if isinstance(request, ReadSession):
        return (yield from _reads.read_head(request.thread_id)).session
    if isinstance(request, ReadCheckpoint):
        query = ListCheckpoints(
            request.thread_id, request.checkpoint_ns, request.checkpoint_id, limit=1
        )
        found = yield from _reads.list_checkpoints(query)
        return found[0] if found else None
    if isinstance(request, ListCheckpoints):
        return (yield from _reads.list_checkpoints(request))
    if isinstance(request, ReadWrites):
        return (yield from _reads.read_writes(request))
    if isinstance(request, ReadBlobs):
        return (yield from _reads.read_blobs(request))
    if isinstance(request, ListThreads):
        return (yield from _reads.list_threads())
    return (yield from _writes.write(request, profile))


def detect() -> Program:
    """-> ``(hello, buildInfo)`` replies (``buildInfo`` ``{}`` when refused)."""
    hello = yield Command("hello")
    try:
        build = yield Command("buildInfo")
    except Exception:  # some managed servers restrict buildInfo; hello is what matters
        build = {}
    return hello, build


def setup(profile: Profile, expiry: bool) -> Program:
    """Create the indexes (idempotent: an existing identical index is left alone)."""
    for index in (*INDEXES, *((EXPIRY_INDEX,) if expiry else ())):
        sparse = index.sparse and profile.sparse_indexes
        yield CreateIndex(index.coll, index.keys, index.name, sparse)


def expire(cutoff: datetime, profile: Profile) -> Program:
    """Delete whole sessions saved before ``cutoff`` -> the expired thread ids.

    The session document goes first, and only while its ``saveOn`` is still old, so a
    session saved during the sweep survives; its log, writes, blobs and chunks follow.
    """
    old = yield Find("sessions", {"saveOn": {"$lt": cutoff}}, projection={"_id": 1})
    expired: list[str] = []
    for doc in old:
        thread = thread_of(doc["_id"])
        head = Delete("sessions", {"_id": head_key(thread), "saveOn": {"$lt": cutoff}})
        rest: list[Model] = [Delete("sidecars", {"_id": head_key(thread)})]
        rest += _models.models_for(DeleteCheckpoints(thread, blobs=True), profile)
        if (yield from _expire_one(head, rest, profile)):
            expired.append(thread)
    return expired


def _expire_one(head: Delete, rest: list[Model], profile: Profile) -> Program:
    if profile.transactions:
        yield Txn("start")
    try:
        result: BulkResult = yield Bulk((head,))
        gone = result.error is None and result.counts.get(0) == 1
        if gone:
            _writes.check((yield Bulk(tuple(rest), client=profile.client_bulk)))
    except BaseException:
        if profile.transactions:
            yield Txn("abort")
        raise
    if profile.transactions and gone:
        failure = yield Txn("commit")
        if failure is not None:
            return False  # a concurrent save won: the session lives on
    elif profile.transactions:
        yield Txn("abort")
    return gone


def lookup_names(pipeline: tuple[Mapping[str, Any], ...], names: Mapping[str, str]) -> list[Any]:
    """The pipeline with each ``$lookup.from`` turned from a logical into a real name."""
    out: list[Any] = []
    for stage in pipeline:
        if "$lookup" in stage:
            spec = dict(stage["$lookup"])
            spec["from"] = names[spec["from"]]
            stage = {"$lookup": spec}
        out.append(stage)
    return out
