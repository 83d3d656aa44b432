"""Threads written by ``langgraph-checkpoint-mongodb``'s ``MongoDBSaver`` become sessions.

The official saver runs the Pregel scenarios of ``tests/saver_suite`` (tool loops,
interrupts, subgraphs, time travel forks, delta channels, errors) on SecantusDB; after the
migration, a graph on a ``PicoflowSaver`` must see every thread exactly as the graph on
``MongoDBSaver`` does: ``get_state`` and every snapshot of ``get_state_history``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langgraph.checkpoint.mongodb")

from langgraph.checkpoint.mongodb import MongoDBSaver
from pymongo import MongoClient

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.migrate import (
    Bookkeeping,
    IdRules,
    MigrateOptions,
    import_langgraph_mongodb,
    migrate_langgraph_mongodb,
)
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.protocol import ReadSession
from tests.saver_suite.compare import run_scenario_sync
from tests.saver_suite.graphs import SCENARIOS
from tests.test_migrate_corpus import BUILDERS, Entry, observe


@pytest.fixture
def official(mongo_uri: str, mongo_db_name: str) -> Iterator[tuple[Any, list[Entry]]]:
    """Every scenario played on ``MongoDBSaver`` (two durabilities); the threads it made."""
    client: Any = MongoClient(mongo_uri)
    saver = MongoDBSaver(client, mongo_db_name)
    entries = []
    for name, scenario in SCENARIOS.items():
        for durability in ("sync", "exit"):
            ids = {"t1": f"{name}-{durability}-1", "t2": f"{name}/{durability}/2"}
            run_scenario_sync(scenario, saver, durability, thread_ids=ids)  # type: ignore[arg-type]
            for tid in ids.values():
                if saver.get_tuple({"configurable": {"thread_id": tid}}) is not None:
                    entries.append(Entry(tid, name, "B", logged=True))
    try:
        yield saver, entries
    finally:
        client.close()


def _unordered(observed: Any) -> Any:
    """An observation with the delta channel's list compared as a multiset."""
    state, history = observed
    return [(sorted(s[0]["items"]), s[1:]) for s in [state, *history]]


def test_threads_migrate_with_their_whole_history(official: tuple[Any, list[Entry]]) -> None:
    source, entries = official
    target = MemoryStore()
    report = import_langgraph_mongodb(source.client, target, db_name=source.db.name)
    assert report.ok, report.failures[:3]
    assert report.counts == {"created": len(entries)}
    picoflow = PicoflowSaver(target)
    for entry in entries:
        original, migrated = observe(source, entry), observe(picoflow, entry)
        assert original[1], entry  # a history to compare
        if entry.builder == "delta_channel":
            # MongoDBSaver hands pending writes back in storage order, so where a delta
            # channel is rebuilt from two parallel writes their order is arbitrary there;
            # ours follow LangGraph's (task_path, task_id, idx) order. Same items otherwise.
            assert _unordered(migrated) == _unordered(original), entry
        else:
            assert migrated == original, entry
        doc = target.execute(ReadSession(entry.thread_id)).document
        assert pdoc.validate(doc) == []
        assert doc["createdOn"] <= doc["saveOn"] < datetime.now(timezone.utc)
    again = import_langgraph_mongodb(source.client, target, db_name=source.db.name)
    assert set(again.counts) == {"unchanged"}
    # The threads go on in LangGraph: a new run, and time travel to the first checkpoint
    # (versions were respelled as the saver's, so comparing new with old ones works).
    entry = next(e for e in entries if e.builder == "interrupt")
    graph = BUILDERS["interrupt"](picoflow)
    config: Any = {"configurable": {"thread_id": entry.thread_id}}
    assert graph.invoke({"request": "more"}, config)["__interrupt__"]
    oldest = list(graph.get_state_history(config))[-1]
    replayed = graph.invoke(None, oldest.config)
    assert replayed["__interrupt__"][0].value["draft"] == "draft of post"


def test_move_and_renamed_ids(official: tuple[Any, list[Entry]]) -> None:
    source, entries = official
    target = MemoryStore()
    cosmos_like = IdRules("uuid", "/\\?#", 255)
    report = import_langgraph_mongodb(
        source.client,
        target,
        db_name=source.db.name,
        options=MigrateOptions(move=True),
        ids=cosmos_like,
    )
    assert report.ok and report.moved == len(entries)
    assert list(source.checkpoint_collection.find({})) == []
    picoflow = PicoflowSaver(target)
    for entry in entries:
        new_id = cosmos_like.target_id(entry.thread_id)
        assert ("/" in entry.thread_id) == (new_id != entry.thread_id)
        assert observe(picoflow, entry, new_id)[1]


def test_by_url_with_journal(
    official: tuple[Any, list[Entry]], mongo_uri: str, tmp_path: Path
) -> None:
    source, entries = official
    target_url = f"sqlite:///{tmp_path / 'sessions.db'}"
    files = Bookkeeping(tmp_path / "j.journal", id_map=tmp_path / "ids.json")
    result = migrate_langgraph_mongodb(mongo_uri, target_url, db_name=source.db.name, files=files)
    assert result.report.ok and result.report.counts == {"created": len(entries)}
    assert result.id_map is None  # SQLite takes every id as it is
    dry = migrate_langgraph_mongodb(
        mongo_uri, target_url, db_name=source.db.name, options=MigrateOptions(dry_run=True)
    )
    assert set(dry.report.counts) == {"unchanged"}
    with PicoflowSaver.from_conn_string(target_url) as picoflow:
        for entry in entries[:6]:
            assert observe(picoflow, entry) == observe(source, entry)
