"""A corpus of a few hundred sessions for the migration tests, and checks that it is one.

* **With checkpoint logs**: real graphs on a ``PicoflowSaver`` -- every Pregel scenario of
  ``tests/saver_suite`` (tool loops, interrupts, subgraphs, time travel, delta channels,
  errors) under two durabilities, multi-turn chats, and Picoflow documents adopted and
  continued by LangGraph -- with the saver writing new documents in layout A0, A1 and B.
* **Without logs** (written by Picoflow): documents built with :mod:`document` builders in
  layouts A0, A1, B and C (built by hand, as 1.1 writes it), imported from plain and from
  Extended JSON, plus the real Picoflow samples when their folder is present.

Ids are ObjectIds, uuids and free strings, some of which Cosmos DB refuses (``/``, ``#``).
Each session records which graph reads it back (:data:`BUILDERS`), so a test can compare
``get_state``/``get_state_history`` before and after a migration.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import StateSnapshot

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.protocol import ListThreads, ReadSession, Store
from tests.samples import sample_paths
from tests.saver_suite.compare import run_scenario_sync
from tests.saver_suite.graphs import SCENARIOS

Graph = Any
START_TIME = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def _reply(state: MessagesState) -> dict[str, Any]:
    last = state["messages"][-1]
    usage = {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13}
    return {"messages": [AIMessage(f"echo {last.content}", usage_metadata=usage)]}  # type: ignore[arg-type]


def build_chat(checkpointer: BaseCheckpointSaver[Any]) -> Graph:
    """One node answering every message: the graph that reads Picoflow-written sessions."""
    builder = StateGraph(MessagesState)
    builder.add_node("reply", _reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer)


BUILDERS: dict[str, Callable[[BaseCheckpointSaver[Any]], Graph]] = {
    "chat": build_chat,
    **{name: scenario.build for name, scenario in SCENARIOS.items()},
}


@dataclass(frozen=True)
class Entry:
    """One session of the corpus and the graph that reads it."""

    thread_id: str
    builder: str
    layout: str
    logged: bool


_ids = itertools.count()


def _free_id(rng: random.Random) -> str:
    """Ids of every kind: ObjectIds, uuids, and strings Cosmos DB refuses."""
    n = next(_ids)
    kinds = [
        pdoc.new_session_id(),
        pdoc.new_session_id("uuid"),
        f"user-{n}",
        f"tenant/{n}",
        f"chat#{n}",
    ]
    return kinds[n % len(kinds)]


# -- Picoflow-written documents ------------------------------------------------------------


def _history(step: str, now: datetime, rng: random.Random, turns: int, a0: bool) -> list[Any]:
    def mid(offset: int) -> str:
        return pdoc.new_message_id(step, now + timedelta(seconds=offset), rng)

    out = [pdoc.new_message("system", f"You are {step}.", mid(0))]
    for t in range(turns):
        out.append(
            pdoc.new_message(
                "human", f"question {t}", mid(3 * t + 1), additional_kwargs={"direct": False}
            )
        )
        if t % 2:
            call = {"name": "lookup", "args": {"q": t}, "id": f"call_{t}"}
            out.append(pdoc.new_message("ai", "", mid(3 * t + 2), tool_calls=[call]))
            out.append(
                pdoc.new_message(
                    "tool",
                    "input validated",
                    mid(3 * t + 2),
                    additional_kwargs={"stopTool": True},
                    tool_call_id=f"call_{t}",
                    status="error" if a0 and t == 1 else "success",
                    name="lookup",
                )
            )
        out.append(
            pdoc.new_message("ai", {"answer": t} if t == 2 else f"answer {t}", mid(3 * t + 3))
        )
    return out


def picoflow_document(
    layout: str, session_id: str, rng: random.Random, index: int
) -> dict[str, Any]:
    """A document as a Picoflow runtime of that layout writes it (C: as 1.1 does)."""
    now = START_TIME + timedelta(hours=index)
    turns = 1 + index % 4
    if layout == "C":
        return _layout_c(session_id, now, rng, turns)
    lay: Any = layout
    steps = [
        pdoc.new_step("GreetStep", active=False, layout=lay, model_name="gemini-2.5-flash"),
        pdoc.new_step(
            "HelpStep",
            active=True,
            layout=lay,
            model_name="gemini-2.5-flash",
            state={"topic": f"t{index}", "_saveOn": now},
        ),
    ]
    doc = pdoc.new_session(
        session_id, now=now, flow_name="SupportFlow", steps=steps, layout=lay, expire_after=600
    )
    flow = doc["flows"][0]
    flow["memory"] = [
        {"nameSpace": "GreetStep", "history": _history("GreetStep", now, rng, 1, layout == "A0")},
        {"nameSpace": "HelpStep", "history": _history("HelpStep", now, rng, turns, layout == "A0")},
    ]
    if "sequence" in flow:
        flow["sequence"] = ["GreetStep", "HelpStep"]
    doc["tokens"] = {
        "inputTokens": 10 * turns,
        "outputTokens": 4 * turns,
        "totalTokens": 14 * turns,
    }
    doc["runStatus"] = ("running", "completed", "aborted")[index % 3]
    doc["log"] = [{"timestamp": now, "level": "info", "message": "session created"}]
    return doc


def _layout_c(session_id: str, now: datetime, rng: random.Random, turns: int) -> dict[str, Any]:
    iso = pdoc.iso_ms(now)
    messages = [
        {**m, "timestamp": iso, "name": m.get("name", "")}
        for m in _history("HelpStep", now, rng, turns, False)
    ]
    model = {"provider": "google", "name": "gemini-2.5-flash", "params": {"temperature": 0.2}}
    return {
        "id": session_id,
        "revision": 3,
        "version": 1.5,
        "runStatus": "running",
        "createdOn": iso,
        "saveOn": iso,
        "flow": {
            "name": "SupportFlow",
            "model": model,
            "context": {"config": None},
            "memory": {"HelpStep": {"messages": messages}},
            "steps": [{"name": "GreetStep", "state": {}}, {"name": "HelpStep", "state": {"n": 1}}],
            "currentStep": "HelpStep",
            "sequence": [
                {"level": 0, "stepName": "GreetStep"},
                {"level": 0, "stepName": "HelpStep"},
            ],
        },
        "tokens": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7, "reasoningTokens": 0},
        "log": [],
        "error": [],
        "warn": [],
        "debug": [],
        "verbose": [],
    }


def _import(saver: PicoflowSaver, doc: dict[str, Any], spelling: str) -> str:
    text = pdoc.dumps(doc, "extended" if spelling == "extended" else "plain")
    return saver.import_session(text)


# -- the corpus -----------------------------------------------------------------------------


def build_corpus(store: Store, *, per_layout: int = 16, chats: int = 24) -> list[Entry]:
    """Fill ``store`` with the corpus; returns what each session is."""
    rng = random.Random(7)
    entries: list[Entry] = []
    base = PicoflowSaver(store)
    # Picoflow-written, every layout, both spellings.
    for layout in ("A0", "A1", "B", "C"):
        for i in range(per_layout):
            doc = picoflow_document(layout, _free_id(rng), rng, i)
            sid = _import(base, doc, ("plain", "extended")[i % 2])
            entries.append(Entry(sid, "chat", layout, logged=False))
    for path in sample_paths():
        sid = base.import_session(path.read_bytes())
        entries.append(Entry(sid, "chat", pdoc.detect_layout(pdoc.load(path.read_bytes())), False))
    for layout in ("B", "A1", "A0"):
        saver = PicoflowSaver(store, session=SessionConfig(layout=layout))  # type: ignore[arg-type]
        entries += _logged(saver, layout, rng, chats)
    return entries


def _logged(saver: PicoflowSaver, layout: str, rng: random.Random, chats: int) -> Iterator[Entry]:
    for name, scenario in SCENARIOS.items():
        for durability in ("sync", "exit"):
            ids = {"t1": _free_id(rng), "t2": _free_id(rng)}
            run_scenario_sync(scenario, saver, durability, thread_ids=ids)  # type: ignore[arg-type]
            for tid in ids.values():
                if saver.store.execute(ReadSession(tid)) is not None:
                    yield Entry(tid, name, layout, logged=True)
    graph = build_chat(saver)
    for i in range(chats):
        tid = _free_id(rng)
        for turn in range(1 + i % 4):
            graph.invoke({"messages": [HumanMessage(f"hello {turn}")]}, _config(tid))
        yield Entry(tid, "chat", layout, logged=True)
    # Picoflow documents adopted and continued by LangGraph.
    for i in range(chats // 4):
        tid = _free_id(rng)
        _import(saver, picoflow_document(layout, tid, rng, i), "plain")
        graph.invoke({"messages": [HumanMessage("continue")]}, _config(tid))
        yield Entry(tid, "chat", layout, logged=True)


def _config(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}}


# -- observing LangGraph state --------------------------------------------------------------


def snapshot_key(s: StateSnapshot) -> Any:
    """Everything observable about a snapshot except the thread id (which may change)."""
    conf = s.config["configurable"]
    parent = (s.parent_config or {}).get("configurable", {})
    return (
        s.values,
        s.next,
        s.metadata,
        s.created_at,
        conf.get("checkpoint_ns"),
        conf.get("checkpoint_id"),
        parent.get("checkpoint_id"),
        [
            (
                t.name,
                t.path,
                t.interrupts,
                repr(t.error),
                snapshot_key(t.state) if isinstance(t.state, StateSnapshot) else None,
            )
            for t in s.tasks
        ],
    )


def observe(saver: BaseCheckpointSaver[Any], entry: Entry, thread_id: str | None = None) -> Any:
    """``get_state(subgraphs=True)`` and the whole ``get_state_history`` of a session."""
    graph = BUILDERS[entry.builder](saver)
    config = _config(thread_id or entry.thread_id)
    state = graph.get_state(config, subgraphs=True)
    return snapshot_key(state), [snapshot_key(s) for s in graph.get_state_history(config)]


# -- the corpus is what it claims to be -------------------------------------------------------


def test_corpus_covers_layouts_spellings_and_logs() -> None:
    store = MemoryStore()
    entries = build_corpus(store)
    assert len(entries) >= 200
    assert len({e.thread_id for e in entries}) == len(entries)
    assert sorted(store.execute(ListThreads())) == sorted(e.thread_id for e in entries)
    kinds = {(e.layout, e.logged) for e in entries}
    for layout in ("A0", "A1", "B", "C"):
        assert (layout, False) in kinds
    for layout in ("A0", "A1", "B"):
        assert (layout, True) in kinds
    stored = {tid: store.execute(ReadSession(tid)).document for tid in store.execute(ListThreads())}
    assert {pdoc.detect_layout(d) for d in stored.values()} == {"A0", "A1", "B", "C"}
    assert any("/" in e.thread_id for e in entries) and any("#" in e.thread_id for e in entries)
