"""The MongoDB store against a real server (SecantusDB, or ``$MONGODB_URI``).

Interop with Picoflow (documents read and written with plain pymongo), round trips and
bytes per step measured with pymongo's command monitoring, the compatibility modes
(forced), index setup and expiry. Concurrency and crashes: ``test_mongodb_concurrency``;
sessions larger than one item: ``test_mongodb_large``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import bson
import pytest
from bson import ObjectId
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from pymongo import MongoClient, monitoring

from langgraph_picoflow import AsyncPicoflowSaver, ConflictError, PicoflowSaver, SessionConfig
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.stores.mongodb import AsyncMongoStore, MongoStore, open_mongodb
from langgraph_picoflow.stores.mongodb._profile import compat_from_hosts
from tests.samples import sample

WRITE_COMMANDS = {"insert", "update", "delete", "bulkWrite", "findAndModify"}
IGNORED = {"hello", "isMaster", "ismaster", "endSessions", "ping", "buildInfo"}


class Commands(monitoring.CommandListener):
    """Every command a client sends (round trips) and the BSON size of write commands."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in IGNORED:
            size = len(bson.encode(event.command))
            self.events.append((event.command_name, size, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def clear(self) -> None:
        self.events.clear()

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.events]

    @property
    def written_bytes(self) -> int:
        return sum(size for name, size, _ in self.events if name in WRITE_COMMANDS)


def one_node_graph(saver: Any, answer: Callable[[Sequence[BaseMessage]], str]) -> Any:
    """A chat graph of one node whose reply is ``answer(messages)`` (with token usage)."""

    def chat(state: MessagesState) -> dict[str, list[BaseMessage]]:
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        return {"messages": [AIMessage(answer(state["messages"]), usage_metadata=usage)]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=saver)


def chat_graph(saver: Any) -> Any:
    """Answers ``answer <number of messages so far>``."""
    return one_node_graph(saver, lambda messages: f"answer {len(messages)}")


def cfg(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}}


@pytest.fixture
def commands() -> Commands:
    return Commands()


@pytest.fixture
def open_saver(mongo_uri: str, mongo_db_name: str, commands: Commands) -> Iterator[Any]:
    """``open_saver(**store_options)`` -> a sync saver on this test's database."""

    @contextmanager
    def opened(**options: Any) -> Iterator[PicoflowSaver]:
        client_options = {"event_listeners": [commands]}
        config = options.pop("session", None)
        with open_mongodb(
            mongo_uri, db_name=mongo_db_name, client_options=client_options, **options
        ) as (store, session):
            saver = PicoflowSaver(store, session=config or session)
            saver.setup()
            yield saver

    yield opened


# --- Picoflow interop -------------------------------------------------------------------


def test_saved_session_is_a_plain_picoflow_document(
    open_saver: Any, mongo_client: MongoClient[dict[str, Any]], mongo_db_name: str
) -> None:
    sid = str(ObjectId())
    with open_saver() as saver:
        g = chat_graph(saver)
        for text in ("hello", "how are you?"):
            g.invoke({"messages": [HumanMessage(text)]}, cfg(sid))
    raw = mongo_client[mongo_db_name]["sessions"].find_one({"_id": ObjectId(sid)})
    assert raw is not None
    assert isinstance(raw["_id"], ObjectId) and raw["id"] == sid
    assert isinstance(raw["saveOn"], datetime) and isinstance(raw["createdOn"], datetime)
    doc = pdoc.load(raw)
    pdoc.check(doc, require_object_id=True)
    assert set(doc) <= set(pdoc.TOP_LEVEL_KEYS)  # nothing of LangGraph's in the session
    history = doc["flows"][0]["memory"][0]["history"]
    assert [e["content"] for e in history] == ["hello", "answer 1", "how are you?", "answer 3"]
    assert doc["tokens"] == {"inputTokens": 20, "outputTokens": 10, "totalTokens": 30}


def test_string_ids_are_string_keys(
    open_saver: Any, mongo_client: MongoClient[dict[str, Any]], mongo_db_name: str
) -> None:
    with open_saver() as saver:
        chat_graph(saver).invoke({"messages": [HumanMessage("hi")]}, cfg("not-an-object-id"))
        raw = mongo_client[mongo_db_name]["sessions"].find_one({"_id": "not-an-object-id"})
        assert raw is not None and "_id" not in saver.get_session("not-an-object-id")
        pdoc.check(pdoc.load(raw))


def test_picoflow_document_inserted_with_pymongo_is_resumed(
    open_saver: Any, mongo_client: MongoClient[dict[str, Any]], mongo_db_name: str
) -> None:
    original = pdoc.load(sample("tutorial1-lesson3").read_text())
    original["runStatus"] = "running"  # Picoflow resumes only running sessions
    sid = original["id"]
    sessions = mongo_client[mongo_db_name]["sessions"]
    sessions.insert_one(pdoc.dump(original, "driver", object_id=ObjectId))
    before = copy.deepcopy(original["flows"][0]["memory"][0]["history"])
    with open_saver(session=SessionConfig(namespaces={"messages": "default"})) as saver:
        g = chat_graph(saver)
        state = g.get_state(cfg(sid))
        assert len(state.values["messages"]) == len(before)
        g.invoke({"messages": [HumanMessage("one more thing")]}, cfg(sid))
    raw = sessions.find_one({"_id": ObjectId(sid)})
    assert raw is not None
    doc = pdoc.load(raw)
    pdoc.check(doc, require_object_id=True)
    history = doc["flows"][0]["memory"][0]["history"]
    assert json.dumps(pdoc.dump({"h": history[: len(before)]}, "plain")) == json.dumps(
        pdoc.dump({"h": before}, "plain")
    )
    assert [e["content"] for e in history[len(before) :]] == [
        "one more thing",
        f"answer {len(before) + 1}",
    ]
    # Everything beyond the history is Picoflow's, kept in place.
    assert list(doc) == list(original) and doc["createdOn"] == original["createdOn"]


def test_document_changed_by_picoflow_is_adopted_never_overwritten(
    open_saver: Any, mongo_client: MongoClient[dict[str, Any]], mongo_db_name: str
) -> None:
    sid = str(ObjectId())
    sessions = mongo_client[mongo_db_name]["sessions"]
    with open_saver() as saver:
        g = chat_graph(saver)
        g.invoke({"messages": [HumanMessage("hi")]}, cfg(sid))
        # Picoflow loads, appends its own turn and saves the whole document ($set).
        raw = sessions.find_one({"_id": ObjectId(sid)})
        assert raw is not None
        entry = {
            "type": "human",
            "content": "via picoflow",
            "id": "chat|2099-01-01T00:00:00.000Z|1234567890",
        }
        raw["flows"][0]["memory"][0]["history"].append(entry)
        raw["saveOn"] = datetime.now(timezone.utc) + timedelta(seconds=5)
        sessions.update_one({"_id": raw["_id"]}, {"$set": raw})
        g.invoke({"messages": [HumanMessage("back")]}, cfg(sid))
        contents = [m.content for m in g.get_state(cfg(sid)).values["messages"]]
    assert contents == ["hi", "answer 1", "via picoflow", "back", "answer 4"]


def test_stale_writer_is_refused(open_saver: Any) -> None:
    sid = str(ObjectId())
    with open_saver() as a, open_saver() as b:
        ga, gb = chat_graph(a), chat_graph(b)
        ga.invoke({"messages": [HumanMessage("from a")]}, cfg(sid))
        read = a.get_tuple(cfg(sid))
        assert read is not None
        gb.invoke({"messages": [HumanMessage("from b")]}, cfg(sid))
        with pytest.raises(ConflictError, match=sid):
            a.put(read.config, {**read.checkpoint, "id": "1f0" + "0" * 33}, {"step": 9}, {})
        history = [m.content for m in gb.get_state(cfg(sid)).values["messages"]]
        assert history == ["from a", "answer 1", "from b", "answer 3"]


@pytest.mark.parametrize(
    "options",
    [{}, {"client_bulk_write": False}, {"transactions": True}],
    ids=["one-bulk-write", "separate-writes", "transaction"],
)
def test_a_refused_write_leaves_nothing_behind(
    options: dict[str, Any],
    open_saver: Any,
    mongo_client: MongoClient[dict[str, Any]],
    mongo_db_name: str,
) -> None:
    from langgraph.checkpoint.serde.types import ERROR

    db = mongo_client[mongo_db_name]
    sid = str(ObjectId())
    with open_saver(**options) as a, open_saver(**options) as b:
        chat_graph(a).invoke({"messages": [HumanMessage("hi")]}, cfg(sid))
        read = a.get_tuple(cfg(sid))
        assert read is not None
        logged = db["sessions.checkpoints"].find_one(
            {"_id.c": read.config["configurable"]["checkpoint_id"]}
        )
        chat_graph(b).invoke({"messages": [HumanMessage("moved on")]}, cfg(sid))
        # A stale checkpoint with a new blob: refused, and neither blob nor entry stays.
        values = {**read.checkpoint["channel_values"], "notes": {"long": "x" * 100}}
        versions = {**read.checkpoint["channel_versions"], "notes": "99.0"}
        stale = {
            **read.checkpoint,
            "id": "1f0" + "0" * 33,
            "channel_values": values,
            "channel_versions": versions,
        }
        with pytest.raises(ConflictError):
            a.put(read.config, stale, {"step": 9}, {"notes": "99.0"})
        assert db["sessions.checkpoints"].count_documents({"_id.c": stale["id"]}) == 0
        assert db["sessions.blobs"].count_documents({"_id.ch": "notes"}) == 0
        # A stale error write rewrites the log entry it read: refused, the entry restored.
        assert a.get_tuple(read.config) is not None
        stale_head = a.get_tuple(cfg(sid))
        chat_graph(b).invoke({"messages": [HumanMessage("again")]}, cfg(sid))
        assert stale_head is not None
        entry = db["sessions.checkpoints"].find_one(
            {"_id.c": stale_head.config["configurable"]["checkpoint_id"]}
        )
        with pytest.raises(ConflictError):
            a.put_writes(stale_head.config, [(ERROR, ValueError("boom"))], "task-1")
        after = db["sessions.checkpoints"].find_one({"_id": entry["_id"] if entry else None})
        assert after == entry and logged is not None
        assert db["sessions.writes"].count_documents({"channel": ERROR}) == 0
        raw = db["sessions"].find_one({"_id": ObjectId(sid)})
        assert raw is not None and raw["runStatus"] == "running"


# --- round trips and bytes ----------------------------------------------------------------


def test_get_tuple_and_get_state_round_trips(open_saver: Any, commands: Commands) -> None:
    sid = str(ObjectId())
    with open_saver() as saver:
        g = chat_graph(saver)
        for i in range(3):
            g.invoke({"messages": [HumanMessage(f"turn {i}")]}, cfg(sid))
    with open_saver() as fresh:  # nothing cached: every read goes to the server
        commands.clear()
        assert fresh.get_tuple(cfg(sid)) is not None
        assert commands.names == ["aggregate"]  # one round trip
        commands.clear()
        state = chat_graph(fresh).get_state(cfg(sid))
        assert len(state.values["messages"]) == 6
        assert len(commands.names) <= 2, commands.names


def test_a_step_writes_a_delta_in_one_round_trip(open_saver: Any, commands: Commands) -> None:
    sid = str(ObjectId())
    per_turn: list[int] = []
    with open_saver() as saver:
        g = chat_graph(saver)
        for i in range(60):
            commands.clear()
            g.invoke({"messages": [HumanMessage(f"message number {i:03d}")]}, cfg(sid))
            per_turn.append(commands.written_bytes)
            if i == 59:
                # One read, then 3 checkpoints and the pending writes of 2 tasks: one
                # bulkWrite each (log entry, session and sidecars travel together).
                assert commands.names == ["aggregate"] + ["bulkWrite"] * 5
    assert max(per_turn[-10:]) < 1.3 * min(per_turn[:10])  # flat, not O(history)


# --- compatibility modes ------------------------------------------------------------------

DOCUMENTDB_OPERATORS = {
    "$set",
    "$push",
    "$each",
    "$setOnInsert",
    "$in",
    "$exists",
    "$lt",
    "$ne",
    "$eq",
    "$or",
    "$match",
    "$sort",
    "$limit",
    "$lookup",
}


def _operators(value: Any) -> set[str]:
    if isinstance(value, dict):
        own = {k for k in value if k.startswith("$") and k not in ("$db", "$clusterTime")}
        return own.union(*(_operators(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_operators(v) for v in value))
    return set()


@pytest.mark.parametrize(
    ("compat", "transactions"),
    [
        ("mongodb", False),
        ("mongodb", True),
        ("documentdb", False),
        ("documentdb", True),
        ("cosmos", False),
    ],
)
def test_compat_modes(
    compat: str,
    transactions: bool,
    open_saver: Any,
    commands: Commands,
    mongo_client: MongoClient[dict[str, Any]],
    mongo_db_name: str,
) -> None:
    sid = str(ObjectId())
    options = {"compat": compat, "transactions": transactions or None}
    with open_saver(**options) as saver, open_saver(**options) as other:
        profile = saver.store.profile
        assert profile.compat == compat
        g = chat_graph(saver)
        for i in range(3):
            g.invoke({"messages": [HumanMessage(f"turn {i}")]}, cfg(sid))
        read = other.get_tuple(cfg(sid))
        g.invoke({"messages": [HumanMessage("moved on")]}, cfg(sid))
        assert read is not None
        with pytest.raises(ConflictError):
            other.put(read.config, {**read.checkpoint, "id": "1f0" + "0" * 33}, {"step": 9}, {})
        contents = [m.content for m in chat_graph(other).get_state(cfg(sid)).values["messages"]]
        assert contents[-2:] == ["moved on", "answer 7"] and len(contents) == 8
    used = set().union(*(_operators(c) for _, _, c in commands.events))
    indexes = [
        ix
        for name in mongo_client[mongo_db_name].list_collection_names()
        for ix in mongo_client[mongo_db_name][name].list_indexes()
    ]
    assert not any(ix.get("unique") or "expireAfterSeconds" in ix for ix in indexes)
    assert profile.transactions == transactions
    assert ("commitTransaction" in commands.names) == transactions
    if compat == "mongodb":
        assert profile.client_bulk and "bulkWrite" in commands.names
    if compat == "documentdb":
        assert not profile.client_bulk
        assert "bulkWrite" not in commands.names
        assert used <= DOCUMENTDB_OPERATORS, used - DOCUMENTDB_OPERATORS
    if compat == "cosmos":
        assert not profile.client_bulk and "bulkWrite" not in commands.names
        assert profile.max_document_bytes == 2 * 1024 * 1024 and profile.check_sizes
        assert not any(ix.get("sparse") for ix in indexes)


def test_compat_is_recognised_from_hosts() -> None:
    assert compat_from_hosts(["db.cluster-x.us-east-1.docdb.amazonaws.com:27017"]) == "documentdb"
    assert compat_from_hosts(["acct.mongo.cosmos.azure.com:10255"]) == "cosmos"
    assert compat_from_hosts(["127.0.0.1:27017"]) is None


def test_setup_is_idempotent_and_creates_the_indexes(
    open_saver: Any, mongo_client: MongoClient[dict[str, Any]], mongo_db_name: str
) -> None:
    with open_saver() as saver:
        saver.setup()
        saver.setup()
    db = mongo_client[mongo_db_name]
    names = {c: {ix["name"] for ix in db[c].list_indexes()} for c in db.list_collection_names()}
    assert {"thread_ns_newest", "run_id", "metadata"} <= names["sessions.checkpoints"]
    assert {"checkpoint", "thread_ns"} <= names["sessions.writes"]
    assert "saveOn" not in names.get("sessions", set())  # no expiry configured


def test_database_and_collection_are_configurable(
    mongo_uri: str, mongo_client: MongoClient[dict[str, Any]], mongo_db_name: str
) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    try:
        store = MongoStore(client, db_name=mongo_db_name, collection="chats")
        saver = PicoflowSaver(store)
        saver.setup()
        chat_graph(saver).invoke({"messages": [HumanMessage("hi")]}, cfg("t1"))
    finally:
        client.close()
    names = set(mongo_client[mongo_db_name].list_collection_names())
    assert {"chats", "chats.checkpoints", "chats.sidecars", "chats.writes"} <= names


# --- expiry -------------------------------------------------------------------------------


def test_expire_removes_whole_sessions(
    open_saver: Any, mongo_client: MongoClient[dict[str, Any]], mongo_db_name: str
) -> None:
    old, fresh = str(ObjectId()), str(ObjectId())
    db = mongo_client[mongo_db_name]
    with open_saver(expire_after=600) as saver:
        g = chat_graph(saver)
        for sid in (old, fresh):
            g.invoke({"messages": [HumanMessage("hi")]}, cfg(sid))
        past = datetime.now(timezone.utc) - timedelta(hours=1)
        db["sessions"].update_one({"_id": ObjectId(old)}, {"$set": {"saveOn": past}})
        assert saver.store.expire() == [old]
        assert saver.store.expire() == []
        assert chat_graph(saver).get_state(cfg(fresh)).values["messages"]
    assert db["sessions.checkpoints"].count_documents({"_id.t": old}) == 0
    assert db["sessions.writes"].count_documents({"_id.cp.t": old}) == 0
    assert db["sessions.sidecars"].count_documents({"_id": ObjectId(old)}) == 0
    assert db["sessions.checkpoints"].count_documents({"_id.t": fresh}) > 0
    assert "saveOn" in {ix["name"] for ix in db["sessions"].list_indexes()}


async def test_async_store_expires_and_refuses_without_expire_after(
    mongo_uri: str, mongo_db_name: str
) -> None:
    from pymongo import AsyncMongoClient

    from langgraph_picoflow.errors import StoreError

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    try:
        store = AsyncMongoStore(client, db_name=mongo_db_name, expire_after=60)
        saver = AsyncPicoflowSaver(store)
        await saver.setup()
        sid = str(ObjectId())
        await chat_graph(saver).ainvoke({"messages": [HumanMessage("hi")]}, cfg(sid))
        assert await store.aexpire(datetime.now(timezone.utc) + timedelta(minutes=5)) == [sid]
        assert await saver.aget_tuple(cfg(sid)) is None
        with pytest.raises(StoreError, match="expire_after"):
            await AsyncMongoStore(client, db_name=mongo_db_name).aexpire()
    finally:
        await client.close()


@asynccontextmanager
async def _async_saver(uri: str, db: str) -> AsyncIterator[AsyncPicoflowSaver]:
    async with AsyncPicoflowSaver.from_conn_string(uri, db_name=db) as saver:
        yield saver


async def test_async_saver_round_trips_a_session(mongo_uri: str, mongo_db_name: str) -> None:
    sid = str(ObjectId())
    async with _async_saver(mongo_uri, mongo_db_name) as saver:
        g = chat_graph(saver)
        for i in range(3):
            await g.ainvoke({"messages": [HumanMessage(f"turn {i}")]}, cfg(sid))
    async with _async_saver(mongo_uri, mongo_db_name) as saver:
        state = await chat_graph(saver).aget_state(cfg(sid))
        assert [m.content for m in state.values["messages"]][-2:] == ["turn 2", "answer 5"]
        session = await saver.get_session(sid)
        assert session is not None and session["_id"] == sid
