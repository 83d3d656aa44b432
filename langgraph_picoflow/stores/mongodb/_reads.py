"""Read requests as programs of :mod:`._ops` operations.

``ReadHead`` is one aggregation on the log: the newest root entry joined (``$lookup``)
with the session document, its sidecars, that entry's pending writes and its blobs. A
session without a log (written by Picoflow) costs a second aggregation.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from typing import Any, TypeAlias

from langgraph_picoflow import codec
from langgraph_picoflow.mapping import revision_of
from langgraph_picoflow.patch import empty_sidecars
from langgraph_picoflow.records import SessionRecord
from langgraph_picoflow.stores.memory import metadata_matches
from langgraph_picoflow.stores.mongodb import _chunks
from langgraph_picoflow.stores.mongodb._layout import (
    align,
    blob_key,
    blob_record,
    bson_safe,
    checkpoint_record,
    head_key,
    safe_key,
    session_document,
    sidecars_of,
    thread_of,
    write_record,
)
from langgraph_picoflow.stores.mongodb._ops import Aggregate, Distinct, Failed, Find, Op
from langgraph_picoflow.stores.mongodb._replay import replay
from langgraph_picoflow.stores.protocol import (
    HeadRead,
    ListCheckpoints,
    ReadBlobs,
    ReadWrites,
)

Program: TypeAlias = Generator[Op, Any, Any]

_NEWEST = (("_id.c", -1),)


def _lookup(coll: str, local: str, foreign: str, as_: str) -> dict[str, Any]:
    return {"$lookup": {"from": coll, "localField": local, "foreignField": foreign, "as": as_}}


def read_head(thread_id: str) -> Program:
    """-> :class:`HeadRead` in one round trip (two for a session that has no log)."""
    pipeline: tuple[dict[str, Any], ...] = (
        {"$match": {"_id.t": thread_id, "_id.n": ""}},
        {"$sort": dict(_NEWEST)},
        {"$limit": 1},
        _lookup("sessions", "head_id", "_id", "_head"),
        _lookup("sidecars", "head_id", "_id", "_sidecars"),
        _lookup("writes", "_id", "_id.cp", "_writes"),
        _lookup("blobs", "blob_ids", "_id", "_blobs"),
    )
    rows = yield Aggregate("checkpoints", pipeline, fallible=True)
    if isinstance(rows, Failed):  # e.g. the joined result passes 16 MB: read the parts
        return (yield from _read_head_apart(thread_id))
    if not rows:
        match: dict[str, Any] = {"$match": {"_id": head_key(thread_id)}}
        found = yield Aggregate("sessions", (match, _lookup("sidecars", "_id", "_id", "_s")))
        head = found[0] if found else None
        side = head.pop("_s") if head is not None else []
        session = yield from session_record(thread_id, head, side[0] if side else None, False)
        return HeadRead(session, None, [], [])
    row = rows[0]
    head, side = row.pop("_head"), row.pop("_sidecars")
    writes, blobs = row.pop("_writes"), row.pop("_blobs")
    return (yield from _head_read(thread_id, row, head, side, writes, blobs))


def _read_head_apart(thread_id: str) -> Program:
    entries = yield Find("checkpoints", {"_id.t": thread_id, "_id.n": ""}, sort=_NEWEST, limit=1)
    key = head_key(thread_id)
    head = yield Find("sessions", {"_id": key})
    side = yield Find("sidecars", {"_id": key})
    if not entries:
        session = yield from session_record(thread_id, _first(head), _first(side), False)
        return HeadRead(session, None, [], [])
    writes = yield Find("writes", {"_id.cp": entries[0]["_id"]})
    blob_ids = entries[0].get("blob_ids") or []
    blobs = (yield Find("blobs", {"_id": {"$in": blob_ids}})) if blob_ids else []
    return (yield from _head_read(thread_id, entries[0], head, side, writes, blobs))


def _head_read(
    thread_id: str,
    entry: dict[str, Any],
    head: list[dict[str, Any]],
    side: list[dict[str, Any]],
    writes: list[dict[str, Any]],
    blobs: list[dict[str, Any]],
) -> Program:
    joined = yield from resolved([entry, *writes, *blobs])
    latest = checkpoint_record(joined[0])
    session = yield from session_record(thread_id, _first(head), _first(side), True)
    return HeadRead(
        session,
        latest,
        [write_record(d) for d in joined[1 : 1 + len(writes)]],
        [blob_record(d) for d in joined[1 + len(writes) :]],
    )


def _first(docs: list[dict[str, Any]]) -> dict[str, Any] | None:
    return docs[0] if docs else None


def resolved(docs: list[dict[str, Any]], fields: Iterable[str] | None = None) -> Program:
    """The documents with their chunked payloads read back (one query, when any)."""
    wanted = _chunks.missing(docs, fields)
    found = (yield Find("chunks", {"_id": {"$in": wanted}})) if wanted else []
    return _chunks.join(docs, found)


def session_record(
    thread_id: str,
    head: Mapping[str, Any] | None,
    side: Mapping[str, Any] | None,
    logged: bool,
) -> Program:
    """The head as a record, with sidecars it can trust.

    The sidecar document is trusted when it carries the head's revision and the head was
    not cut to fit. Otherwise (a write died between the two, or the head is spilled) the
    log is replayed to that revision; if the log does not know it (Picoflow changed the
    document), the stored sidecars are aligned by position.
    """
    if head is None:
        return None
    doc = session_document(head)
    rev = revision_of(doc)
    if side is not None and side.get("rev") == rev and not side.get("spilled"):
        return SessionRecord(doc, align(doc, sidecars_of(side)), rev)
    if side is None and not logged:
        return SessionRecord(doc, empty_sidecars(doc), rev)
    entries = yield Find(
        "checkpoints", {"_id.t": thread_id, "_id.n": ""}, projection={"checkpoint": 0}
    )
    entries = yield from resolved(entries, ("session",))
    sessions = [(e["_id"]["c"], codec.loads(e["session"])) for e in entries if e.get("session")]
    rebuilt = replay(sessions, rev)
    if rebuilt is not None:
        full, sidecars = rebuilt
        return SessionRecord(full, align(full, sidecars), rev)
    return SessionRecord(doc, align(doc, sidecars_of(side) if side else []), rev)


def list_checkpoints(q: ListCheckpoints) -> Program:
    """-> ``list[CheckpointRecord]``, newest first."""
    where: dict[str, Any] = {}
    for field, value in (("_id.t", q.thread_id), ("_id.n", q.checkpoint_ns)):
        if value is not None:
            where[field] = value
    ids: dict[str, Any] = {}
    if q.checkpoint_id is not None:
        ids["$eq"] = q.checkpoint_id
    if q.before is not None:
        ids["$lt"] = q.before
    if ids:
        where["_id.c"] = ids
    if q.run_ids is not None:
        where["run_id"] = {"$in": list(q.run_ids)}
    pushed = {
        f"metadata.{k}": v for k, v in (q.metadata or {}).items() if safe_key(k) and bson_safe(v)
    }
    if pushed:
        # A superset (``1`` matches ``1.0``); exact JSON equality is checked below.
        where["$or"] = [pushed, {"metadata_json": {"$exists": True}}]
    docs = yield Find(
        "checkpoints",
        where,
        projection=None if q.with_session else {"session": 0},
        sort=_NEWEST,
        limit=q.limit if q.limit is not None and not q.metadata else 0,
    )
    fields = None if q.with_session else ("checkpoint",)
    records = [checkpoint_record(d) for d in (yield from resolved(docs, fields))]
    if q.metadata:
        records = [r for r in records if metadata_matches(r.metadata, q.metadata)]
        records = records[: q.limit] if q.limit is not None else records
    return records


def read_writes(q: ReadWrites) -> Program:
    """-> ``list[WriteRecord]``."""
    where: dict[str, Any] = {"_id.cp.t": q.thread_id}
    if q.checkpoint_ns is not None:
        where["_id.cp.n"] = q.checkpoint_ns
    if q.checkpoint_ids is not None:
        where["_id.cp.c"] = {"$in": list(q.checkpoint_ids)}
    if q.channels is not None:
        where["channel"] = {"$in": list(q.channels)}
    docs = yield Find("writes", where)
    return [write_record(d) for d in (yield from resolved(docs))]


def read_blobs(q: ReadBlobs) -> Program:
    """-> ``list[BlobRecord]``."""
    if q.keys is not None and not q.keys:
        return []
    if q.keys is not None and q.checkpoint_ns is not None:
        ids = [blob_key(q.thread_id, q.checkpoint_ns, ch, v) for ch, v in q.keys]
        where: dict[str, Any] = {"_id": {"$in": ids}}
    else:
        where = {"_id.t": q.thread_id}
        if q.checkpoint_ns is not None:
            where["_id.n"] = q.checkpoint_ns
    docs = yield Find("blobs", where)
    records = [blob_record(d) for d in (yield from resolved(docs))]
    if q.keys is not None:
        keys = set(q.keys)
        records = [b for b in records if (b.channel, b.version) in keys]
    return records


def list_threads() -> Program:
    """-> sorted thread ids that have a session or a log."""
    sessions = yield Distinct("sessions", "_id")
    logged = yield Distinct("checkpoints", "_id.t")
    return sorted({thread_of(k) for k in sessions} | {str(t) for t in logged})
