"""Insert-first writes keep the upsert semantics, in both bulk modes.

Outside transactions the MongoDB store sends blobs, pending writes and chunks as plain
inserts; a duplicate key makes that insert and every later insert-first one of the batch
run as their upserts. Each test writes over existing documents, with new ones after the
duplicate, so a fallback that raised, dropped the rest of the batch, replaced a kept
document or ignored an overwrite fails it. Real pymongo against the ``mongo_uri`` server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT, RESUME

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow.migrate import Journal, migrate_store, read_thread, same_content
from langgraph_picoflow.records import BlobRecord
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.mongodb import MongoStore, open_mongodb
from langgraph_picoflow.stores.protocol import PutBlobs, PutWrites, ReadBlobs, Write
from tests.test_mongodb import cfg, chat_graph

#: Cross-collection client ``bulkWrite`` (SecantusDB's default), or one write per collection.
MODES: dict[str, dict[str, Any]] = {
    "client-bulk": {},
    "separate-writes": {"client_bulk_write": False},
}
MB = 1024 * 1024


@pytest.fixture(params=list(MODES))
def store(request: pytest.FixtureRequest, mongo_uri: str, mongo_db_name: str) -> Iterator[Any]:
    """A set-up store in one bulk mode; 1 MB items, so payloads over 256 kB are chunked."""
    options: dict[str, Any] = {**MODES[request.param], "max_document_bytes": MB}
    with open_mongodb(mongo_uri, db_name=mongo_db_name, **options) as (mongo, _):
        mongo.setup()
        assert mongo.profile is not None
        assert mongo.profile.client_bulk is (request.param == "client-bulk")
        yield mongo


def blob(channel: str, value: bytes) -> BlobRecord:
    return BlobRecord("t1", "", channel, "1", "bytes", value)


def test_rewritten_blobs_are_kept_and_the_batch_resumes(store: MongoStore) -> None:
    """A blob stored again keeps its first value (a chunked one too); the blobs after it in
    the batch, and the one before, are still written."""
    big = bytes(range(256)) * 2400  # 600 kB: three chunks
    store.execute(Write((PutBlobs([blob("a", b"first"), blob("big", big)]),)))
    db = store.client[store.db_name]
    chunks = db["sessions.chunks"].count_documents({})
    assert chunks == 3
    again = [blob("new1", b"n1"), blob("a", b"second"), blob("big", big), blob("new2", b"n2")]
    store.execute(Write((PutBlobs(again),)))
    raw = {d["_id"]["ch"]: d for d in db["sessions.blobs"].find({"_id.t": "t1"})}
    assert sorted(raw) == ["a", "big", "new1", "new2"]
    assert (raw["a"]["value"], raw["new1"]["value"], raw["new2"]["value"]) == (
        b"first",
        b"n1",
        b"n2",
    )
    assert db["sessions.chunks"].count_documents({}) == chunks
    values = {b.channel: b.value for b in store.execute(ReadBlobs("t1", "", None))}
    assert values == {"a": b"first", "big": big, "new1": b"n1", "new2": b"n2"}


def test_pending_writes_insert_or_ignore_and_overwrite(store: MongoStore) -> None:
    """Through the saver: an ordinary write stored again keeps its first value (new indexes
    after it are added); ``__interrupt__`` and ``__error__`` (overwrite, the error one also
    marking the session aborted) are replaced, and a new special write after them added."""
    saver = PicoflowSaver(store)
    sid = str(ObjectId())
    chat_graph(saver).invoke({"messages": [HumanMessage("hi")]}, cfg(sid))
    head = saver.get_tuple(cfg(sid))
    assert head is not None
    config = head.config
    saver.put_writes(config, [("x", 1), ("y", 2)], "plain")
    saver.put_writes(config, [("x", 10), ("y", 20), ("z", 30)], "plain")
    saver.put_writes(config, [(INTERRUPT, "first")], "paused")
    saver.put_writes(config, [(INTERRUPT, "second"), (RESUME, "go")], "paused")
    saver.put_writes(config, [(ERROR, ValueError("one"))], "failed")
    saver.put_writes(config, [(ERROR, ValueError("two"))], "failed")
    tup = saver.get_tuple(config)
    assert tup is not None
    got = {(task, ch): v for task, ch, v in tup.pending_writes or []}
    assert got == {
        ("plain", "x"): 1,
        ("plain", "y"): 2,
        ("plain", "z"): 30,
        ("paused", INTERRUPT): "second",
        ("paused", RESUME): "go",
        ("failed", ERROR): repr(ValueError("two")),  # errors are kept as their repr
    }
    writes = store.client[store.db_name]["sessions.writes"]
    assert writes.count_documents({"_id.k": {"$in": ["plain", "paused", "failed"]}}) == 6
    session = store.client[store.db_name]["sessions"].find_one({"_id": ObjectId(sid)})
    assert session is not None and session["runStatus"] != "running"


def test_migration_over_leftovers_completes_and_is_idempotent(store: MongoStore) -> None:
    """Threads whose blobs (thread ``a``) or blobs and writes (``b``, left by an interrupted
    run) are already in the target are migrated without failure, equal to the source; a
    second run finds them unchanged."""
    source = PicoflowSaver(MemoryStore())
    sids = sorted(str(ObjectId()) for _ in range(2))
    for sid in sids:
        graph = chat_graph(source)
        graph.invoke({"messages": [HumanMessage("hi")]}, cfg(sid))
        graph.invoke({"messages": [HumanMessage("again")]}, cfg(sid))
    a, b = (read_thread(source.store, sid) for sid in sids)
    assert a.blobs and b.writes
    store.execute(Write((PutBlobs(a.blobs),)))
    store.execute(Write((PutBlobs(b.blobs), PutWrites(b.writes, overwrite=True))))
    journal = Journal(None, {})
    journal.inflight = sids[1]  # an interrupted run was writing it
    report = migrate_store(source.store, store, journal=journal)
    assert report.ok, report.failures
    assert dict(report.counts) == {"created": 1, "replaced": 1}
    for data in (a, b):
        assert same_content(read_thread(store, data.thread_id), data)
    again = migrate_store(source.store, store)
    assert again.ok and dict(again.counts) == {"unchanged": 2}
