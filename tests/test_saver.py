"""PicoflowSaver behaviour beyond the conformance suite.

Samples adopted and continued, the document valid after every put, roll-forward after a
crash between the log write and the head update, stale writers refused, documents
changed by Picoflow adopted, encrypted logs, allowlist copies.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from pydantic import BaseModel
from typing_extensions import TypedDict

from langgraph_picoflow import (
    AsyncPicoflowSaver,
    ConflictError,
    PicoflowSaver,
    SessionConfig,
    StoreError,
)
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.protocol import Request, UpdateSession, Write
from langgraph_picoflow.stores.sqlite import SqliteStore
from tests.samples import sample_params

SID = "69c043c3bbbd4f8f919333c2"


class State(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]
    notes: dict[str, Any]


def chat(state: State) -> dict[str, Any]:
    n = len(state["messages"])
    return {
        "messages": [
            AIMessage(
                f"answer {n}",
                usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
                response_metadata={"finish_reason": "stop"},
            )
        ],
        "notes": {"turns": n},
    }


def graph(saver: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=saver)


def cfg(thread_id: str = SID) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def turn(g: Any, text: str, thread_id: str = SID) -> Any:
    return g.invoke({"messages": [HumanMessage(text)]}, cfg(thread_id))


def history_text(saver: PicoflowSaver, thread_id: str = SID) -> list[str]:
    doc = saver.get_session(thread_id)
    assert doc is not None
    return [e["content"] for e in doc["flows"][0]["memory"][0]["history"]]


def test_document_is_valid_after_every_put(make_saver: Callable[[], Any]) -> None:
    with make_saver() as saver:
        checked = []
        original = saver.put

        def put(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            doc = saver.get_session(args[0]["configurable"]["thread_id"])
            pdoc.check(pdoc.load(doc))
            checked.append(doc["saveOn"])
            return result

        saver.put = put
        g = graph(saver)
        for text in ("hi", "and again", "bye"):
            turn(g, text)
        assert len(checked) == 9 and len(set(checked)) == 9  # every save moves saveOn
        doc = saver.get_session(SID)
        assert doc["tokens"] == {"inputTokens": 30, "outputTokens": 15, "totalTokens": 45}
        assert [s["name"] for s in doc["flows"][0]["steps"]] == ["chat"]
        assert doc["id"] == SID and doc.get("_id", SID) == SID  # Cosmos keeps no _id


@pytest.mark.parametrize("path", sample_params())
def test_samples_are_adopted_resumed_and_continued(
    path: Path, make_saver: Callable[[], Any]
) -> None:
    """Import, resume by id, continue one turn: valid, and earlier history byte-identical."""
    text = path.read_text()
    original = pdoc.dump(pdoc.load(text), "plain")
    space = original["flows"][0]["memory"][-1]["nameSpace"]
    with make_saver() as base:
        saver = copy.copy(base)
        saver.session_config = SessionConfig(namespaces={"messages": space})
        session_id = saver.import_session(text)
        g = graph(saver)
        before = g.get_state(cfg(session_id)).values["messages"]
        assert len(before) == len(original["flows"][0]["memory"][-1]["history"])
        g.invoke({"messages": [HumanMessage("one more thing")]}, cfg(session_id))
        after = saver.get_session(session_id)
        pdoc.check(pdoc.load(after))
        for old, new in zip(
            original["flows"][0]["memory"], after["flows"][0]["memory"], strict=False
        ):
            assert json.dumps(new["history"][: len(old["history"])]) == json.dumps(old["history"])
        grown = after["flows"][0]["memory"][-1]["history"]
        assert [e["content"] for e in grown[-2:]] == ["one more thing", f"answer {len(before) + 1}"]
        # The adopted document is the first checkpoint of the thread's history.
        assert len(list(g.get_state_history(cfg(session_id)))) == 4


def test_import_refuses_to_overwrite(make_saver: Callable[[], Any]) -> None:
    with make_saver() as saver:
        turn(graph(saver), "hi")
        doc = saver.get_session(SID)
        with pytest.raises(ConflictError, match=SID):
            saver.import_session(doc)
        doc["flows"][0]["memory"][0]["history"].pop()
        saver.import_session(doc, overwrite=True)
        assert len(history_text(saver)) == 1


class CrashAfterLog:
    """A store that dies after the log write of its n-th head update, before the update."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.updates_until_crash: int | None = None

    def setup(self) -> None:
        self.store.setup()

    def execute(self, request: Request) -> Any:
        if isinstance(request, Write) and self.updates_until_crash is not None:
            ops = [op for op in request.ops if not isinstance(op, UpdateSession)]
            if len(ops) < len(request.ops):
                self.updates_until_crash -= 1
                if self.updates_until_crash == 0:
                    self.updates_until_crash = None
                    self.store.execute(Write(tuple(ops)))
                    raise SystemExit("crashed between the log write and the head update")
        return self.store.execute(request)


@pytest.fixture(params=["memory", "sqlite"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """A factory of store handles on ONE storage: what two processes would see."""
    if request.param == "memory":
        store = MemoryStore()
        yield lambda: store
        return
    conns: list[sqlite3.Connection] = []

    def open_store() -> SqliteStore:
        store = SqliteStore.connect(str(tmp_path / "shared.db"))
        conns.append(store.conn)
        return store

    yield open_store
    for conn in conns:
        conn.close()


def test_crash_between_log_and_head_is_rolled_forward(shared_store: Callable[[], Any]) -> None:
    crashing = CrashAfterLog(shared_store())
    saver = PicoflowSaver(crashing)
    saver.setup()
    g = graph(saver)
    turn(g, "first")
    # Turn two saves its input checkpoint, then the step that applied the input: crash there.
    crashing.updates_until_crash = 2
    with pytest.raises(SystemExit):
        g.invoke({"messages": [HumanMessage("second")]}, cfg(), durability="sync")
    # A new process: the head is behind the log, and the read rolls it forward.
    fresh = PicoflowSaver(shared_store())
    state = graph(fresh).get_state(cfg())
    assert [m.content for m in state.values["messages"]] == ["first", "answer 1", "second"]
    assert state.next == ("chat",)
    assert history_text(fresh) == ["first", "answer 1", "second"]
    turn(graph(fresh), "third")
    assert history_text(fresh)[-2:] == ["third", "answer 4"]
    pdoc.check(pdoc.load(fresh.get_session(SID)))


def test_stale_writer_is_refused_and_nothing_is_overwritten(
    shared_store: Callable[[], Any],
) -> None:
    a, b = PicoflowSaver(shared_store()), PicoflowSaver(shared_store())
    a.setup()
    ga, gb = graph(a), graph(b)
    turn(ga, "from a")
    read = a.get_tuple(cfg())  # a has read the session
    assert read is not None
    turn(gb, "from b")  # b advances it meanwhile
    with pytest.raises(ConflictError, match=SID):
        a.put(read.config, {**read.checkpoint, "id": "1f0" + "0" * 33}, {"step": 9}, {})
    assert history_text(b) == ["from a", "answer 1", "from b", "answer 3"]
    # A fresh read picks up b's turn and a can continue from there.
    turn(ga, "a again")
    assert history_text(a)[-2:] == ["a again", "answer 5"]


def test_document_changed_by_picoflow_is_adopted(shared_store: Callable[[], Any]) -> None:
    saver = PicoflowSaver(shared_store())
    saver.setup()
    g = graph(saver)
    turn(g, "hi")
    doc = saver.get_session(SID)
    # Picoflow appends a turn of its own and saves (new saveOn, same id).
    history = doc["flows"][0]["memory"][0]["history"]
    history.append({"type": "human", "content": "via picoflow", "id": history[0]["id"][:-1] + "7"})
    doc["saveOn"] = "2099-01-01T00:00:00.000Z"
    PicoflowSaver(shared_store()).import_session(doc, overwrite=True)
    state = g.get_state(cfg())
    assert [m.content for m in state.values["messages"]][-1] == "via picoflow"
    turn(g, "back in langgraph")
    assert history_text(saver)[-3:] == ["via picoflow", "back in langgraph", "answer 4"]
    # Every checkpoint before the adoption is still there for time travel.
    contents = [
        [m.content for m in s.values.get("messages", [])] for s in g.get_state_history(cfg())
    ]
    assert ["hi", "answer 1"] in contents and ["hi", "answer 1", "via picoflow"] in contents


def test_encrypted_log_and_allowlist_copy(tmp_path: Path) -> None:
    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"0123456789abcdef")
    store = SqliteStore.connect(str(tmp_path / "enc.db"))
    saver = PicoflowSaver(store, serde=serde)
    saver.setup()
    turn(graph(saver), "secret")
    blobs = store.conn.execute("SELECT type, value FROM blobs").fetchall()
    assert blobs and all(kind.endswith("+aes") for kind, _ in blobs)
    assert all(b"turns" not in value for _, value in blobs)
    assert graph(saver).get_state(cfg()).values["notes"] == {"turns": 1}
    # A tampered record is refused, not silently read.
    store.conn.execute("UPDATE blobs SET value = zeroblob(length(value))")
    with pytest.raises(ValueError):
        graph(saver).get_state(cfg())
    copied = saver.with_allowlist([("tests", "test_saver", "State")])
    assert copied.store is saver.store and copied.get_session(SID) is not None


def test_bad_store_urls_are_typed_errors() -> None:
    for url in ("postgres://x", "sqlite:///", "bad\x00path"):
        with pytest.raises(StoreError), PicoflowSaver.from_conn_string(url):
            pass


async def test_async_saver_sync_bridge_refuses_the_loop_thread() -> None:
    async with AsyncPicoflowSaver.from_conn_string(":memory:") as saver:
        g = graph(saver)
        await g.ainvoke({"messages": [HumanMessage("hi")]}, cfg())
        assert (await saver.get_session(SID))["runStatus"] == "running"
        with pytest.raises(Exception, match="different thread"):
            saver.get_tuple(cfg())


def test_error_in_a_node_marks_the_session_aborted(make_saver: Callable[[], Any]) -> None:
    def boom(state: State) -> dict[str, Any]:
        raise RuntimeError("model unavailable")

    builder = StateGraph(State)
    builder.add_node("chat", boom)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    with make_saver() as saver:
        g = builder.compile(checkpointer=saver)
        with pytest.raises(RuntimeError):
            g.invoke({"messages": [HumanMessage("hi")]}, cfg(), durability="sync")
        doc = saver.get_session(SID)
        assert doc["runStatus"] == "aborted"
        assert doc["error"][-1]["message"] == "RuntimeError: model unavailable"
        assert doc["error"][-1]["level"] == "error"
        pdoc.check(pdoc.load(doc))
        # The run resumes in LangGraph (Picoflow would not), and the status follows.
        state = g.get_state(cfg())
        assert state.next == ("chat",) and state.tasks[0].error is not None


ConflictingFactory = Callable[[], AbstractContextManager[PicoflowSaver]]


@pytest.mark.parametrize(
    "artifact",
    [{"raw": b"\x00\xff", "tags": {"x"}}, ["plain", {"json": 1}]],
    ids=["bytes-and-set", "json"],
)
def test_messages_picoflow_cannot_hold_are_stored_losslessly(
    make_saver: Callable[[], Any], artifact: Any
) -> None:
    """A non-JSON artifact cannot live in a history: that checkpoint keeps a serialized copy."""
    from langchain_core.messages import ToolMessage
    from langgraph.checkpoint.memory import InMemorySaver

    def tool_result(state: State) -> dict[str, Any]:
        return {"messages": [ToolMessage("1 hit", tool_call_id="c1", artifact=artifact, id="t1")]}

    builder = StateGraph(State)
    builder.add_node("search", tool_result)
    builder.add_edge(START, "search")
    builder.add_edge("search", END)
    reference = builder.compile(checkpointer=InMemorySaver())
    reference.invoke({"messages": [HumanMessage("look it up", id="h1")]}, cfg())
    with make_saver() as saver:
        g = builder.compile(checkpointer=saver)
        g.invoke({"messages": [HumanMessage("look it up", id="h1")]}, cfg())
        restored = g.get_state(cfg()).values["messages"]
        assert restored == reference.get_state(cfg()).values["messages"]
        assert restored[-1].artifact == artifact
        pdoc.check(pdoc.load(saver.get_session(SID)))
        projected = history_text(saver)
        assert projected == (
            ["look it up"] if isinstance(artifact, dict) else ["look it up", "1 hit"]
        )


def test_step_names_and_active_step_follow_the_graph(make_saver: Callable[[], Any]) -> None:
    """Nodes become steps (renamed by ``step_names``); the next node to run is active."""
    from langgraph.types import interrupt

    def ask(state: State) -> dict[str, Any]:
        return {"messages": [HumanMessage(interrupt("name?"))]}

    builder = StateGraph(State)
    builder.add_node("greet", chat)
    builder.add_node("ask", ask)
    builder.add_edge(START, "greet")
    builder.add_edge("greet", "ask")
    builder.add_edge("ask", END)
    with make_saver() as base:
        saver = copy.copy(base)
        saver.session_config = SessionConfig(step_names={"greet": "HelloStep", "ask": "NameStep"})
        g = builder.compile(checkpointer=saver)
        g.invoke({"messages": [HumanMessage("hi")]}, cfg())
        flow = saver.get_session(SID)["flows"][0]
        assert [(s["name"], s["isActive"]) for s in flow["steps"]] == [
            ("HelloStep", False),
            ("NameStep", True),
        ]
        assert flow["sequence"] == ["HelloStep", "NameStep"]
        assert flow["memory"][0]["history"][1]["id"].startswith("HelloStep|")


class Secret(BaseModel):
    """A type the strict msgpack allowlist does not know."""

    value: str


def test_strict_msgpack_allowlist_is_honoured(tmp_path: Path) -> None:
    """With a strict serializer a type outside the allowlist is not revived on read."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    store = SqliteStore.connect(str(tmp_path / "strict.db"))
    strict = PicoflowSaver(store, serde=JsonPlusSerializer(allowed_msgpack_modules=None))
    strict.setup()
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    checkpoint = {
        "v": 4,
        "id": "1f0a0000-0000-6000-8000-000000000001",
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {"secret": Secret(value="x")},
        "channel_versions": {"secret": "1"},
        "versions_seen": {},
        "updated_channels": ["secret"],
    }
    strict.put(config, checkpoint, {"step": 0}, {"secret": "1"})
    read = strict.get_tuple(config)
    assert read is not None and not isinstance(read.checkpoint["channel_values"]["secret"], Secret)
    # The same record, read with the type allowed, is revived.
    allowed = strict.with_allowlist([(Secret.__module__, "Secret")])
    revived = allowed.get_tuple(config)
    assert revived is not None and revived.checkpoint["channel_values"]["secret"] == Secret(
        value="x"
    )


def test_first_turn_race_is_a_conflict(shared_store: Callable[[], Any]) -> None:
    """A writer that read "no session" must not CAS against a session created meanwhile."""
    a, b = PicoflowSaver(shared_store()), PicoflowSaver(shared_store())
    a.setup()
    assert a.get_tuple(cfg()) is None  # a starts a new conversation...
    turn(graph(b), "b was first")  # ...b creates the session meanwhile
    checkpoint = {
        "v": 4,
        "id": "1f0a0000-0000-6000-8000-000000000001",
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {"messages": [HumanMessage("a's turn", id="a1")]},
        "channel_versions": {"messages": "1"},
        "versions_seen": {},
        "updated_channels": ["messages"],
    }
    with pytest.raises(ConflictError, match=SID):
        a.put(cfg(), checkpoint, {"source": "input", "step": -1}, {"messages": "1"})
    assert history_text(b) == ["b was first", "answer 1"]


def test_crash_in_the_creating_write_is_finished_on_read(
    shared_store: Callable[[], Any],
) -> None:
    crashing = CrashAfterLog(shared_store())
    crashing.updates_until_crash = 1
    saver = PicoflowSaver(crashing)
    saver.setup()
    with pytest.raises(SystemExit):
        graph(saver).invoke({"messages": [HumanMessage("first")]}, cfg(), durability="sync")
    fresh = PicoflowSaver(shared_store())
    document = fresh.get_session(SID)
    assert document is not None
    pdoc.check(pdoc.load(document))
    # The crash hit the input checkpoint: "first" was never applied nor acknowledged.
    turn(graph(fresh), "again")
    assert history_text(fresh) == ["again", "answer 1"]
