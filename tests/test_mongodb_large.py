"""Sessions larger than one item (16 MB on MongoDB, 2 MB on Cosmos DB) round-trip.

The stored session keeps the prefix of each history that fits (a valid Picoflow document),
its sidecar document says ``spilled``, payloads too large for their document are chunked,
and a read rebuilds the whole session from the checkpoint log.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from bson import ObjectId
from langchain_core.messages import HumanMessage
from pymongo import MongoClient

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from tests.test_mongodb import cfg, one_node_graph

MB = 1024 * 1024


def short_reply_graph(saver: Any) -> Any:
    """Answers with the size of the question (so only questions are large)."""
    return one_node_graph(saver, lambda messages: f"got {len(str(messages[-1].content))} chars")


def question(i: int, size: int) -> str:
    """``size`` characters that differ per turn (a digest-seeded pattern, not one letter)."""
    seed = hashlib.sha256(str(i).encode()).hexdigest()
    return (seed * (size // len(seed) + 1))[:size]


def largest_documents(db: Any) -> dict[str, int]:
    """The largest BSON document of every collection."""
    out = {}
    for name in db.list_collection_names():
        rows = list(
            db[name].aggregate(
                [{"$project": {"s": {"$bsonSize": "$$ROOT"}}}, {"$sort": {"s": -1}}, {"$limit": 1}]
            )
        )
        out[name] = rows[0]["s"] if rows else 0
    return out


@pytest.mark.parametrize(
    ("compat", "sizes", "limit"),
    [
        ("mongodb", [20 * MB, 8 * MB, 8 * MB, 4 * MB], 16 * MB),
        ("cosmos", [1 * MB, 700_000, 700_000, 600_000, 500_000], 2 * MB),
    ],
    ids=["mongodb-40MB", "cosmos-3.5MB"],
)
def test_session_larger_than_one_item_round_trips(
    compat: str,
    sizes: list[int],
    limit: int,
    mongo_uri: str,
    mongo_db_name: str,
    mongo_client: MongoClient[dict[str, Any]],
) -> None:
    sid = str(ObjectId())
    sent = [question(i, size) for i, size in enumerate(sizes)]
    with PicoflowSaver.from_conn_string(mongo_uri, db_name=mongo_db_name, compat=compat) as s:
        graph = short_reply_graph(s)
        for text in sent:
            graph.invoke({"messages": [HumanMessage(text)]}, cfg(sid))
    expected = [m for text in sent for m in (text, f"got {len(text)} chars")]
    with PicoflowSaver.from_conn_string(mongo_uri, db_name=mongo_db_name, compat=compat) as s:
        graph = short_reply_graph(s)
        assert [m.content for m in graph.get_state(cfg(sid)).values["messages"]] == expected
        graph.invoke({"messages": [HumanMessage("small one")]}, cfg(sid))
        after = [m.content for m in graph.get_state(cfg(sid)).values["messages"]]
        assert after == [*expected, "small one", "got 9 chars"]
        full = s.get_session(sid)
    assert full is not None
    assert [e["content"] for e in full["flows"][0]["memory"][0]["history"]] == after
    db = mongo_client[mongo_db_name]
    assert max(largest_documents(db).values()) <= limit
    raw = db["sessions"].find_one({"_id": ObjectId(sid)})
    assert raw is not None
    stored = pdoc.load(raw)
    pdoc.check(stored, require_object_id=True)  # still a document Picoflow can load
    kept = [e["content"] for e in stored["flows"][0]["memory"][0]["history"]]
    assert kept == after[: len(kept)] and len(kept) < len(after)
    sidecars = db["sessions.sidecars"].find_one({"_id": ObjectId(sid)})
    assert sidecars is not None and sidecars["spilled"] is True
    assert db["sessions.chunks"].count_documents({"t": sid}) > 0


def test_a_session_that_shrinks_back_is_no_longer_spilled(
    mongo_uri: str, mongo_db_name: str, mongo_client: MongoClient[dict[str, Any]]
) -> None:
    from langchain_core.messages import RemoveMessage
    from langgraph.graph.message import REMOVE_ALL_MESSAGES

    sid = str(ObjectId())
    with PicoflowSaver.from_conn_string(mongo_uri, db_name=mongo_db_name, compat="cosmos") as s:
        graph = short_reply_graph(s)
        for i in range(4):
            graph.invoke({"messages": [HumanMessage(question(i, 800_000))]}, cfg(sid))
        graph.update_state(cfg(sid), {"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES)]})
        graph.invoke({"messages": [HumanMessage("fresh start")]}, cfg(sid))
        contents = [m.content for m in graph.get_state(cfg(sid)).values["messages"]]
    assert contents == ["fresh start", "got 11 chars"]
    sidecars = mongo_client[mongo_db_name]["sessions.sidecars"].find_one({"_id": ObjectId(sid)})
    assert sidecars is not None and sidecars["spilled"] is False
