"""Picoflow expiry and LangGraph pruning over a store, with dry runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from langchain_core.messages import HumanMessage

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.migrate import (
    Listener,
    Outcome,
    SessionFilter,
    expire_sessions,
    is_expired,
    iter_sessions,
    prune_sessions,
)
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.protocol import ListCheckpoints, ListThreads
from tests.test_migrate_corpus import START_TIME, Entry, build_chat, observe

NOW = START_TIME + timedelta(days=1)


def _session(saved: datetime, expire_after: int = 600) -> dict[str, object]:
    doc = pdoc.new_session(
        pdoc.new_session_id(), now=saved, flow_name="F", expire_after=expire_after
    )
    return doc


def test_expiry_counts_whole_seconds_like_picoflow() -> None:
    saved = NOW - timedelta(seconds=600, milliseconds=999)
    assert not is_expired(_session(saved), NOW)  # 600 whole seconds: still alive
    assert is_expired(_session(NOW - timedelta(seconds=601)), NOW)
    assert is_expired(_session(saved), NOW, expire_after=10)  # the process setting wins
    assert not is_expired({"saveOn": NOW}, NOW + timedelta(days=9))  # no expiry known
    assert is_expired({"saveOn": pdoc.iso_ms(NOW), "expireAfter": 1}, NOW + timedelta(seconds=2))


def test_expire_deletes_whole_sessions_and_dry_run_does_not() -> None:
    store = MemoryStore()
    saver = PicoflowSaver(store)
    old = saver.import_session(_session(NOW - timedelta(hours=2)))
    fresh = saver.import_session(_session(NOW - timedelta(seconds=5)))
    logged = pdoc.new_session_id()
    build_chat(saver).invoke(
        {"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": logged}}
    )
    seen: list[Outcome] = []
    dry = expire_sessions(store, now=NOW, dry_run=True, listener=Listener(on_outcome=seen.append))
    assert dry.counts == {"deleted": 1, "kept": 2}
    assert all(o.dry_run for o in seen if o.action == "deleted")
    assert len(store.execute(ListThreads())) == 3
    report = expire_sessions(store, now=NOW)
    assert report.counts == {"deleted": 1, "kept": 2}
    assert sorted(store.execute(ListThreads())) == sorted([fresh, logged])
    # The LangGraph session (saved now, far after NOW) expires with everything it logged.
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert expire_sessions(store, now=later).counts == {"deleted": 2}
    assert store.execute(ListThreads()) == [] and store.execute(ListCheckpoints()) == []
    assert old not in store.execute(ListThreads())


def _logged(store: MemoryStore, turns: int) -> str:
    graph = build_chat(PicoflowSaver(store))
    tid = pdoc.new_session_id()
    for turn in range(turns):
        graph.invoke({"messages": [HumanMessage(f"t{turn}")]}, {"configurable": {"thread_id": tid}})
    return tid


def test_prune_keep_latest_dry_run_then_for_real() -> None:
    store = MemoryStore()
    a, b = _logged(store, 3), _logged(store, 1)
    picoflow_only = PicoflowSaver(store).import_session(_session(NOW))
    before = {t: observe(PicoflowSaver(store), Entry(t, "chat", "B", True))[0] for t in (a, b)}
    dry = prune_sessions(store, dry_run=True)
    assert dry.counts == {"pruned": 2, "kept": 1}
    assert len(store.execute(ListCheckpoints(a))) == 3 * 3  # untouched
    seen: list[Outcome] = []
    report = prune_sessions(store, listener=Listener(on_outcome=seen.append))
    assert report.counts == {"pruned": 2, "kept": 1}
    reasons = {o.thread_id: o.reason for o in seen}
    assert reasons[a] == "8 of 9 checkpoints" and reasons[picoflow_only] == "no checkpoints"
    for tid in (a, b):
        assert len(store.execute(ListCheckpoints(tid))) == 1
        assert observe(PicoflowSaver(store), Entry(tid, "chat", "B", True))[0] == before[tid]


def test_prune_delete_strategy_and_filters() -> None:
    store = MemoryStore()
    a, b = _logged(store, 1), _logged(store, 2)
    report = prune_sessions(store, strategy="delete", ids=[a])
    assert report.counts == {"deleted": 1}
    assert store.execute(ListThreads()) == [b]
    assert [s.id for s in iter_sessions(store, SessionFilter(metadata={"step": 4}))] == [b]
    assert list(iter_sessions(store, SessionFilter(metadata={"step": 1}))) == []
    assert [s.id for s in iter_sessions(store, SessionFilter(flow="LangGraph"))] == [b]
