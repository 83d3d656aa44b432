"""Migration on real data: resumable, idempotent, dry, verified moves, bad documents skipped."""

from __future__ import annotations

import json
import random
import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.migrate import (
    Bookkeeping,
    IdRules,
    Journal,
    JournalMismatchError,
    Listener,
    MigrateOptions,
    MigrationError,
    Outcome,
    migrate,
    migrate_store,
    read_thread,
    same_content,
)
from langgraph_picoflow.patch import ReplaceSession
from langgraph_picoflow.records import SessionRecord
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.protocol import (
    ListThreads,
    ReadSession,
    Request,
    Store,
    UpdateSession,
    Write,
)
from langgraph_picoflow.stores.sqlite import SqliteStore
from tests.test_migrate_corpus import Entry, build_chat, build_corpus, observe, picoflow_document

HEADER = {"from": "a", "to": "b"}


@pytest.fixture(scope="module")
def corpus() -> tuple[MemoryStore, list[Entry]]:
    store = MemoryStore()
    return store, build_corpus(store, per_layout=3, chats=4)


def sqlite_copy(corpus: tuple[MemoryStore, list[Entry]], path: Path) -> str:
    """The corpus in a new SQLite file; returns its URL."""
    url = f"sqlite:///{path}"
    store = SqliteStore.connect(str(path))
    store.setup()
    assert migrate_store(corpus[0], store).ok
    store.conn.close()
    return url


class Interrupting:
    """A store interrupted (Ctrl-C) in its n-th write of a log, after the log, before the head.

    That is what a backend without multi-document transactions can be left with.
    """

    def __init__(self, store: Store, at: int) -> None:
        self.store, self.at, self.writes = store, at, 0

    def setup(self) -> None:
        self.store.setup()

    def execute(self, request: Request) -> Any:
        if isinstance(request, Write) and len(request.ops) > 1:
            self.writes += 1
            if self.writes == self.at:
                self.store.execute(Write(tuple(request.ops[:-1])))
                raise KeyboardInterrupt
        return self.store.execute(request)


def threads(store: Store) -> list[str]:
    return sorted(store.execute(ListThreads()))


def assert_same_stores(a: Store, b: Store) -> None:
    assert threads(a) == threads(b)
    for tid in threads(a):
        assert same_content(read_thread(a, tid), read_thread(b, tid)), tid


def test_interrupted_migration_resumes_to_the_same_result(
    corpus: tuple[MemoryStore, list[Entry]], tmp_path: Path
) -> None:
    source, _ = corpus
    clean = MemoryStore()
    assert migrate_store(source, clean).ok
    target = MemoryStore()
    journal_path = tmp_path / "run.journal"
    for stop_at in (10, 25):  # interrupted twice, then left to finish
        with pytest.raises(KeyboardInterrupt):
            journal = Journal.open(journal_path, HEADER)
            try:
                migrate_store(source, Interrupting(target, stop_at), journal=journal)
            finally:
                journal.close()
    journal = Journal.open(journal_path, HEADER)
    assert journal.inflight is not None and journal.cursor is not None
    report = migrate_store(source, target, journal=journal)
    journal.close()
    assert report.ok
    assert report.counts["replaced"] == 1  # the thread cut in half by the second interrupt
    assert report.counts["resumed"] >= 25 + 10 - 2  # only threads with a log count above
    assert sum(report.counts.values()) == len(threads(source))
    assert_same_stores(target, clean)
    # Completed: the next run starts over and finds everything in place.
    again = migrate_store(source, target, journal=Journal.open(journal_path, HEADER))
    assert set(again.counts) == {"unchanged"}


def test_a_half_written_thread_is_not_replaced_without_the_journal(
    corpus: tuple[MemoryStore, list[Entry]],
) -> None:
    source, _ = corpus
    target = MemoryStore()
    with pytest.raises(KeyboardInterrupt):
        migrate_store(source, Interrupting(target, 3))
    report = migrate_store(source, target)
    assert len(report.failures) == 1
    assert "different session" in report.failures[0].reason
    assert report.counts["unchanged"] >= 2


def test_dry_run_changes_nothing(corpus: tuple[MemoryStore, list[Entry]], tmp_path: Path) -> None:
    source, entries = corpus
    target = MemoryStore()
    seen: list[Outcome] = []
    journal = Journal.open(None, HEADER)
    report = migrate_store(
        source,
        target,
        options=MigrateOptions(dry_run=True, move=True),
        journal=journal,
        listener=Listener(on_outcome=seen.append),
    )
    assert report.counts == {"created": len(entries)}
    assert all(o.dry_run for o in seen)
    assert threads(target) == [] and len(threads(source)) == len(entries)


def test_conflicts_are_reported_and_overwrite_replaces(
    corpus: tuple[MemoryStore, list[Entry]],
) -> None:
    source, entries = corpus
    target = MemoryStore()
    victim = entries[0].thread_id
    other = pdoc.load(pdoc.dumps(picoflow_document("B", victim, random.Random(1), 9)))
    PicoflowSaver(target).import_session(other)
    report = migrate_store(source, target)
    assert [f.thread_id for f in report.failures] == [victim]
    assert "use overwrite" in report.failures[0].reason
    assert target.execute(ReadSession(victim)).document == other  # untouched
    replaced = migrate_store(source, target, options=MigrateOptions(overwrite=True))
    assert replaced.ok and replaced.counts["replaced"] == 1
    assert same_content(read_thread(source, victim), read_thread(target, victim))


class Lossy:
    """A store that silently changes every document it is given."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def setup(self) -> None:
        self.store.setup()

    def execute(self, request: Request) -> Any:
        if isinstance(request, Write):
            ops = [self._damage(op) if isinstance(op, UpdateSession) else op for op in request.ops]
            request = Write(tuple(ops))
        return self.store.execute(request)

    @staticmethod
    def _damage(op: UpdateSession) -> UpdateSession:
        doc = {**op.result.document, "version": "lost"}
        side = op.result.sidecars
        record = SessionRecord(doc, side, op.result.revision)
        return UpdateSession(op.thread_id, op.expected, [ReplaceSession(doc, side)], record)


def test_move_deletes_the_source_only_after_a_verified_copy(
    corpus: tuple[MemoryStore, list[Entry]],
) -> None:
    source, before = MemoryStore(), MemoryStore()
    assert migrate_store(corpus[0], source).ok and migrate_store(source, before).ok
    n = len(threads(source))
    broken = migrate_store(source, Lossy(MemoryStore()), options=MigrateOptions(move=True))
    assert broken.moved == 0 and len(threads(source)) == n
    assert broken.failures and all("read-back" in f.reason for f in broken.failures)

    target = MemoryStore()
    moved = migrate_store(source, target, options=MigrateOptions(move=True))
    assert moved.ok and moved.moved == n
    assert threads(source) == []
    assert_same_stores(target, before)


def test_corrupt_documents_are_reported_and_the_rest_migrates(
    corpus: tuple[MemoryStore, list[Entry]], tmp_path: Path
) -> None:
    url = sqlite_copy(corpus, tmp_path / "src.db")
    conn = sqlite3.connect(tmp_path / "src.db")
    ids = [r[0] for r in conn.execute("SELECT thread_id FROM sessions ORDER BY 1 LIMIT 2")]
    conn.execute("UPDATE sessions SET skeleton = '{not json' WHERE thread_id = ?", (ids[0],))
    row = conn.execute("SELECT skeleton FROM sessions WHERE thread_id = ?", (ids[1],)).fetchone()
    bad = json.loads(row[0])
    bad["runStatus"], bad["tokens"] = "paused", "lots"
    conn.execute("UPDATE sessions SET skeleton = ? WHERE thread_id = ?", (json.dumps(bad), ids[1]))
    conn.commit()
    conn.close()

    result = migrate(url, f"sqlite:///{tmp_path / 'dst.db'}")
    failures = {f.thread_id: f.reason for f in result.report.failures}
    assert set(failures) == set(ids)
    assert "JSONDecodeError" in failures[ids[0]]
    assert "runStatus" in failures[ids[1]] and "tokens" in failures[ids[1]]
    assert result.report.counts["created"] == len(corpus[1]) - 2
    skipped = migrate(
        url, f"sqlite:///{tmp_path / 'dst2.db'}", options=MigrateOptions(validate=False)
    )
    assert [f.thread_id for f in skipped.report.failures] == [ids[0]]


def test_new_ids_mapping_file_and_idempotence(
    corpus: tuple[MemoryStore, list[Entry]], tmp_path: Path
) -> None:
    source_url = sqlite_copy(corpus, tmp_path / "src.db")
    target_url = f"sqlite:///{tmp_path / 'dst.db'}"
    files = Bookkeeping(tmp_path / "m.journal", id_map=tmp_path / "ids.json")
    first = migrate(source_url, target_url, new_ids=True, files=files)
    assert first.report.ok and first.id_map == tmp_path / "ids.json"
    mapping = json.loads((tmp_path / "ids.json").read_text())
    assert len(mapping) == len(corpus[1])
    assert all(pdoc.OBJECT_ID_RE.match(new) for new in mapping.values())
    again = migrate(source_url, target_url, new_ids=True, files=files)
    assert set(again.report.counts) == {"unchanged"}
    assert json.loads((tmp_path / "ids.json").read_text()) == mapping
    # The renamed sessions read back in LangGraph under their new ids.
    with PicoflowSaver.from_conn_string(target_url) as target:
        for entry in corpus[1][:20]:
            assert observe(target, entry, mapping[entry.thread_id]) == observe(
                PicoflowSaver(corpus[0]), entry
            )


def test_a_journal_belongs_to_one_migration(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    journal = Journal.open(path, HEADER)
    journal.writing("a")
    journal.close()
    with pytest.raises(JournalMismatchError):
        Journal.open(path, {"from": "a", "to": "elsewhere"})
    fresh = Journal.open(path, {"from": "a", "to": "elsewhere"}, restart=True)
    assert fresh.inflight is None
    fresh.close()


def test_a_torn_journal_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    journal = Journal.open(path, HEADER)
    journal.done("a", "a", "created")
    journal.writing("b")
    journal.close()
    with path.open("a") as fh:
        fh.write('{"done": "b", "to')
    resumed = Journal.open(path, HEADER)
    assert (resumed.cursor, resumed.inflight) == ("a", "b")
    assert resumed.finished_earlier("a") and not resumed.finished_earlier("b")
    resumed.close()


def _chat_store(path: Path, sessions: int) -> SqliteStore:
    """``sessions`` copies of a three-turn chat (with its log) in a SQLite file."""
    store = SqliteStore.connect(str(path))
    store.setup()
    saver = PicoflowSaver(store)
    graph = build_chat(saver)
    template = pdoc.new_session_id()
    for turn in range(3):
        graph.invoke(
            {"messages": [("user", f"hi {turn}")]}, {"configurable": {"thread_id": template}}
        )
    for _ in range(sessions - 1):
        saver.copy_thread(template, pdoc.new_session_id())
    return store


def _peak(source: Store, target: Store) -> int:
    target.setup()
    tracemalloc.start()
    try:
        assert migrate_store(source, target, ids=IdRules()).ok
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_with_the_number_of_sessions(tmp_path: Path) -> None:
    small = _peak(_chat_store(tmp_path / "s.db", 50), SqliteStore.connect(str(tmp_path / "s2.db")))
    large = _peak(_chat_store(tmp_path / "l.db", 450), SqliteStore.connect(str(tmp_path / "l2.db")))
    # Only the list of ids grows, ~120 bytes a session; a session's records (document, log,
    # blobs) take ~15 KB, so a migration that kept any of them would pass 1 KB a session.
    # A per-session bound, not a ratio: the peak also holds ~100 KB of GC-timing noise.
    per_session = (large - small) / 400
    assert per_session < 1024, (small, large, per_session)


def test_a_store_is_never_migrated_onto_itself(
    corpus: tuple[MemoryStore, list[Entry]], tmp_path: Path
) -> None:
    url = sqlite_copy(corpus, tmp_path / "src.db")
    for same in (url, str(tmp_path / "src.db"), f"sqlite:///{tmp_path / '.' / 'src.db'}"):
        with pytest.raises(MigrationError, match="same store"):
            migrate(url, same, options=MigrateOptions(move=True))
    with pytest.raises(MigrationError, match="same store"):
        migrate_store(corpus[0], corpus[0])
    renamed = migrate(url, url, new_ids=True)  # a rename within one store is allowed
    assert renamed.report.ok
