"""Concurrent writers and server crashes on the MongoDB store (real SecantusDB).

* 8 writers on one session (threads, processes, asyncio tasks), each with its own
  client: every step is applied exactly once or refused with ``ConflictError``; the
  history never interleaves two turns and never loses an acknowledged one.
* SIGKILL of the server between the log write and the session update, then a restart on
  the same files: nothing acknowledged is lost and the next read rolls the head forward.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId
from langchain_core.messages import HumanMessage
from pymongo import MongoClient

from langgraph_picoflow import AsyncPicoflowSaver, ConflictError, PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.stores.mongodb import AsyncMongoStore, MongoStore
from langgraph_picoflow.stores.mongodb._lower import Call
from tests.test_mongodb import cfg, one_node_graph

WRITERS = 8
TURNS = 4


def reply_graph(saver: Any) -> Any:
    """Answers ``re: <question>``: a turn is recognisable in the history."""
    return one_node_graph(saver, lambda messages: f"re: {messages[-1].content}")


def write_turns(uri: str, db: str, sid: str, name: str, start: Any = None) -> list[tuple[str, str]]:
    """One writer: ``TURNS`` turns; each ``("ok" | "conflict", question)``."""
    outcomes: list[tuple[str, str]] = []
    with PicoflowSaver.from_conn_string(uri, db_name=db) as saver:
        graph = reply_graph(saver)
        if start is not None:
            start.wait()
        for k in range(TURNS):
            question = f"{name}-{k}"
            try:
                graph.invoke({"messages": [HumanMessage(question)]}, cfg(sid))
                outcomes.append(("ok", question))
            except ConflictError:
                outcomes.append(("conflict", question))
    return outcomes


def seed(uri: str, db: str) -> str:
    """A session with one turn: every writer then starts from a head it has read.

    (Starting from *no* session is covered by :func:`test_first_turn_race_in_the_core`.)
    """
    sid = str(ObjectId())
    with PicoflowSaver.from_conn_string(uri, db_name=db) as saver:
        reply_graph(saver).invoke({"messages": [HumanMessage("seed")]}, cfg(sid))
    return sid


def check_history(uri: str, db: str, sid: str, outcomes: list[tuple[str, str]]) -> list[str]:
    """The invariants of concurrent writing; returns the final history."""
    with PicoflowSaver.from_conn_string(uri, db_name=db) as saver:
        contents = [
            str(m.content) for m in reply_graph(saver).get_state(cfg(sid)).values["messages"]
        ]
        session = saver.get_session(sid)
    assert session is not None
    pdoc.check(pdoc.load(session))
    stored = [e["content"] for e in session["flows"][0]["memory"][0]["history"]]
    assert stored == contents  # the head is the latest checkpoint
    assert len(set(contents)) == len(contents), "a step was applied twice"
    for i, text in enumerate(contents):
        if text.startswith("re: "):
            assert i > 0 and contents[i - 1] == text[4:], f"turns interleaved at {i}: {contents}"
    acknowledged = [q for status, q in outcomes if status == "ok"]
    assert acknowledged, "no writer ever succeeded"
    for question in acknowledged:
        i = contents.index(question)  # an acknowledged turn is never lost
        assert contents[i + 1] == f"re: {question}"
    return contents


def test_eight_threads_on_one_session(mongo_uri: str, mongo_db_name: str) -> None:
    sid = seed(mongo_uri, mongo_db_name)
    start = threading.Barrier(WRITERS)
    results: list[list[tuple[str, str]]] = [[] for _ in range(WRITERS)]

    def run(i: int) -> None:
        results[i] = write_turns(mongo_uri, mongo_db_name, sid, f"t{i}", start)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = [o for r in results for o in r]
    assert len(outcomes) == WRITERS * TURNS
    check_history(mongo_uri, mongo_db_name, sid, outcomes)


def test_eight_processes_on_one_session(mongo_uri: str, mongo_db_name: str) -> None:
    sid = seed(mongo_uri, mongo_db_name)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        args = [(mongo_uri, mongo_db_name, sid, f"p{i}") for i in range(WRITERS)]
        results = pool.starmap(write_turns, args)
    outcomes = [o for r in results for o in r]
    contents = check_history(mongo_uri, mongo_db_name, sid, outcomes)
    assert {q.split("-")[0] for s, q in outcomes if s == "ok"} and len(contents) >= 2


async def test_eight_async_writers_on_one_session(mongo_uri: str, mongo_db_name: str) -> None:
    sid = seed(mongo_uri, mongo_db_name)

    async def writer(name: str) -> list[tuple[str, str]]:
        outcomes: list[tuple[str, str]] = []
        async with AsyncPicoflowSaver.from_conn_string(mongo_uri, db_name=mongo_db_name) as saver:
            graph = reply_graph(saver)
            for k in range(TURNS):
                question = f"{name}-{k}"
                try:
                    await graph.ainvoke({"messages": [HumanMessage(question)]}, cfg(sid))
                    outcomes.append(("ok", question))
                except ConflictError:
                    outcomes.append(("conflict", question))
        return outcomes

    results = await asyncio.gather(*(writer(f"a{i}") for i in range(WRITERS)))
    check_history(mongo_uri, mongo_db_name, sid, [o for r in results for o in r])


def test_first_turn_race_in_the_core(mongo_uri: str, mongo_db_name: str) -> None:
    from langgraph.checkpoint.base import empty_checkpoint

    sid = str(ObjectId())
    with (
        PicoflowSaver.from_conn_string(mongo_uri, db_name=mongo_db_name) as a,
        PicoflowSaver.from_conn_string(mongo_uri, db_name=mongo_db_name) as b,
    ):
        assert a.get_tuple(cfg(sid)) is None  # a's graph starts a new thread...
        reply_graph(b).invoke({"messages": [HumanMessage("from b")]}, cfg(sid))  # ...b wins
        with pytest.raises(ConflictError):  # a's first checkpoint must be refused
            a.put(cfg(sid), empty_checkpoint(), {"source": "input", "step": -1}, {})


# --- crashes ------------------------------------------------------------------------------


def _writes_log(store: Any, call: Call) -> bool:
    """Whether a driver call writes the checkpoint log (alone or in a client bulkWrite)."""
    if call.method != "bulk_write":
        return False
    if call.target is store._colls["checkpoints"]:
        return True
    log = store._namespaces["checkpoints"]
    return any(getattr(m, "_namespace", None) == log for m in call.args[0])


class KillingStore(MongoStore):
    """A store whose server is SIGKILLed right after its n-th checkpoint log write."""

    server: Any = None
    log_writes_until_kill: int | None = None

    def _call(self, call: Call) -> Any:  # type: ignore[override]
        result = MongoStore._call(call)
        if self.log_writes_until_kill is not None and _writes_log(self, call):
            self.log_writes_until_kill -= 1
            if self.log_writes_until_kill == 0:
                self.log_writes_until_kill = None
                self.server.kill()
        return result


class AsyncKillingStore(AsyncMongoStore):
    """The async twin of :class:`KillingStore`."""

    server: Any = None
    log_writes_until_kill: int | None = None

    async def _call(self, call: Call) -> Any:  # type: ignore[override]
        result = await AsyncMongoStore._call(call)
        if self.log_writes_until_kill is not None and _writes_log(self, call):
            self.log_writes_until_kill -= 1
            if self.log_writes_until_kill == 0:
                self.log_writes_until_kill = None
                self.server.kill()
        return result


#: Separate log and head writes (no client bulkWrite): the crash window.
SEPARATE: dict[str, Any] = {"client_bulk_write": False}
FAST_FAIL: dict[str, Any] = {"serverSelectionTimeoutMS": 1500, "connectTimeoutMS": 1500}


@pytest.fixture
def server(secantus_process: Any) -> Iterator[Any]:
    proc = secantus_process()
    yield proc


def _contents(uri: str, sid: str) -> tuple[list[str], tuple[str, ...], list[str]]:
    """Messages and next nodes of the thread, and the history stored in the head."""
    with PicoflowSaver.from_conn_string(uri, db_name="crash") as saver:
        state = reply_graph(saver).get_state(cfg(sid))
    client: MongoClient[dict[str, Any]] = MongoClient(uri)
    try:
        raw = client["crash"]["sessions"].find_one({"_id": ObjectId(sid)})
    finally:
        client.close()
    assert raw is not None
    history = [e["content"] for e in pdoc.load(raw)["flows"][0]["memory"][0]["history"]]
    return [str(m.content) for m in state.values["messages"]], state.next, history


#: SecantusDB 0.7.0b3 (the crash-test server) keeps plain commands across SIGKILL but not
#: what it acknowledged through the client-level ``bulkWrite`` or ``commitTransaction``
#: (probed with writeConcern majority + j: 12 of 12 committed transaction documents and
#: up to 30 of 30 bulkWrite batches gone after a kill and restart), so those variants
#: cannot pass there. On MongoDB they check the same invariants as the others.
SECANTUS_BATCH_NOT_DURABLE = pytest.mark.xfail(
    reason="SecantusDB 0.7.0b3 loses acknowledged bulkWrite/commitTransaction on SIGKILL",
    strict=False,
)


@pytest.mark.parametrize(
    "options",
    [
        SEPARATE,
        pytest.param({}, marks=SECANTUS_BATCH_NOT_DURABLE),
        pytest.param({"transactions": True}, marks=SECANTUS_BATCH_NOT_DURABLE),
    ],
    ids=["separate-writes", "one-bulk-write", "transaction"],
)
def test_server_killed_between_log_and_head(server: Any, options: dict[str, Any]) -> None:
    sid = str(ObjectId())
    client: MongoClient[dict[str, Any]] = MongoClient(server.uri, **FAST_FAIL)
    store = KillingStore(client, db_name="crash", **options)
    store.server = server
    saver = PicoflowSaver(store)
    saver.setup()
    graph = reply_graph(saver)
    graph.invoke({"messages": [HumanMessage("first")]}, cfg(sid))
    # Turn two logs its input checkpoint, then the step applying the input: die there.
    store.log_writes_until_kill = 2
    with pytest.raises(Exception):  # noqa: B017 - whatever the dead server makes pymongo raise
        graph.invoke({"messages": [HumanMessage("second")]}, cfg(sid), durability="sync")
    client.close()
    server.restart()
    messages, next_nodes, stored = _contents(server.uri, sid)
    if options.get("transactions"):  # log and head commit together: the step never happened
        assert messages == stored == ["first", "re: first"]
    else:  # the log write was acknowledged: the head has it, or the read rolled it forward
        assert messages == stored == ["first", "re: first", "second"]
        assert next_nodes == ("chat",)
    with PicoflowSaver.from_conn_string(server.uri, db_name="crash") as fresh:
        reply_graph(fresh).invoke({"messages": [HumanMessage("third")]}, cfg(sid))
    assert _contents(server.uri, sid)[0][-2:] == ["third", "re: third"]


async def test_server_killed_between_log_and_head_async(server: Any) -> None:
    from pymongo import AsyncMongoClient

    sid = str(ObjectId())
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(server.uri, **FAST_FAIL)
    store = AsyncKillingStore(client, db_name="crash", **SEPARATE)
    store.server = server
    saver = AsyncPicoflowSaver(store)
    await saver.setup()
    graph = reply_graph(saver)
    await graph.ainvoke({"messages": [HumanMessage("first")]}, cfg(sid))
    store.log_writes_until_kill = 2
    with pytest.raises(Exception):  # noqa: B017
        await graph.ainvoke({"messages": [HumanMessage("second")]}, cfg(sid), durability="sync")
    await client.close()
    server.restart()
    async with AsyncPicoflowSaver.from_conn_string(server.uri, db_name="crash") as fresh:
        state = await reply_graph(fresh).aget_state(cfg(sid))
        assert [m.content for m in state.values["messages"]] == ["first", "re: first", "second"]
        session = await fresh.get_session(sid)
    assert session is not None
    stored = [e["content"] for e in session["flows"][0]["memory"][0]["history"]]
    assert stored == ["first", "re: first", "second"]
