"""Migrating the corpus between every pair of stores, and back.

The pairs come from the stores ``tests/stores.py`` registers; a store whose module is not
there (yet), or that the registry lacks, makes its pairs skip with the reason. For every
pair: the corpus is loaded into the source kind, migrated to the target, and the target
must hold the same documents (C converted to B, ids the target refuses replaced) and give
the same ``get_state``/``get_state_history`` on a graph built with the target's saver; then
migrated back, record for record; and a second run must change nothing.
"""

from __future__ import annotations

import importlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.migrate import (
    IdRules,
    Listener,
    MigrateOptions,
    Outcome,
    migrate_store,
    read_thread,
    same_content,
)
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.protocol import ReadSession
from tests.stores import SAVERS
from tests.test_migrate_corpus import Entry, build_corpus, observe

KINDS = ("memory", "sqlite", "mongodb", "cosmos")
LOCAL = ("memory", "sqlite")
#: Pairs with a server store take every n-th corpus session (all kinds still represented):
#: on SecantusDB each upsert costs ~10 ms, so the whole corpus takes minutes per pair.
#: ``PICOFLOW_MIGRATE_REMOTE_EVERY=1`` runs them on all of it.
REMOTE_EVERY = int(os.environ.get("PICOFLOW_MIGRATE_REMOTE_EVERY", "3"))
#: What each kind of target accepts as ids (what ``IdRules.for_url`` derives from a URL).
URLS = {"cosmos": "AccountEndpoint=x;AccountKey=y;", "mongodb": "mongodb://x"}
RULES = {kind: IdRules.for_url(URLS.get(kind, "")) for kind in KINDS}


def unavailable(kind: str) -> str | None:
    """Why a store kind cannot be tested here, or ``None``."""
    if kind not in SAVERS:
        return f"tests/stores.py SAVERS has no {kind!r} store yet"
    try:
        importlib.import_module(f"langgraph_picoflow.stores.{kind}")
    except Exception as exc:  # any import failure means: not usable here
        return f"langgraph_picoflow.stores.{kind} does not import: {exc}"
    return None


def store_pairs() -> list[Any]:
    """Every ordered pair of store kinds, skipped with a reason when one is unavailable."""
    params = []
    for source, target in itertools.product(KINDS, KINDS):
        reason = unavailable(source) or unavailable(target)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(source, target, id=f"{source}-to-{target}", marks=marks))
    return params


@dataclass
class Corpus:
    """The corpus in memory, with what each session must look like after a migration."""

    store: MemoryStore
    entries: list[Entry]
    documents: dict[str, dict[str, Any]]
    observed: dict[str, Any]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    store = MemoryStore()
    entries = build_corpus(store)
    saver = PicoflowSaver(store)
    documents, observed = {}, {}
    for entry in entries:
        doc = store.execute(ReadSession(entry.thread_id)).document
        if entry.layout == "C":
            # Expected from document.to_layout_b alone, independently of the migration code.
            doc = pdoc.to_layout_b(doc)
            converted = PicoflowSaver(MemoryStore())
            converted.import_session(doc)
            observed[entry.thread_id] = observe(converted, entry)
        else:
            observed[entry.thread_id] = observe(saver, entry)
        documents[entry.thread_id] = doc
    return Corpus(store, entries, documents, observed)


def expected(doc: dict[str, Any], new_id: str, *kinds: str) -> dict[str, Any]:
    """What a document looks like after passing through ``kinds`` of stores, under ``new_id``.

    A new id replaces ``id`` and ``_id`` (kept only if still an ObjectId); MongoDB keys
    every document by ``_id``, first: an ObjectId for 24-hex ids, else a string it does
    not return.
    """
    out = {**doc, "id": new_id} if doc.get("id") != new_id else dict(doc)
    if "_id" in out and not pdoc.OBJECT_ID_RE.match(new_id):
        del out["_id"]
    elif "_id" in out:
        out["_id"] = new_id
    if any(RULES[kind].mongo_key for kind in kinds):
        out = {k: v for k, v in out.items() if k != "_id"}
        if pdoc.OBJECT_ID_RE.match(new_id):
            out = {"_id": new_id, **out}
    return out


def ms(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with dates at millisecond precision, as BSON and JavaScript keep them.

    (The saver writes an error log entry's timestamp with microseconds; MongoDB keeps
    milliseconds. The migration compares dates at that precision too.)
    """
    return pdoc.load(pdoc.dumps(doc, "canonical"))


@pytest.fixture
def savers(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    def make(kind: str) -> Any:
        return SAVERS[kind](request, tmp_path)[0]()

    return make


def _collect(outcomes: list[Outcome]) -> Listener:
    return Listener(on_outcome=outcomes.append)


@pytest.mark.parametrize(("source_kind", "target_kind"), store_pairs())
def test_migrate_between_stores_and_back(
    corpus: Corpus, savers: Any, source_kind: str, target_kind: str
) -> None:
    local = source_kind in LOCAL and target_kind in LOCAL
    entries = corpus.entries if local else corpus.entries[::REMOTE_EVERY]
    n = len(entries)
    subset = MigrateOptions(threads=tuple(e.thread_id for e in entries))
    with savers(source_kind) as source, savers(target_kind) as target, savers(source_kind) as back:
        loading: list[Outcome] = []
        loaded = migrate_store(
            corpus.store,
            source.store,
            options=subset,
            ids=RULES[source_kind],
            listener=_collect(loading),
        )
        assert loaded.counts == {"created": n}

        outcomes: list[Outcome] = []
        there = migrate_store(
            source.store, target.store, ids=RULES[target_kind], listener=_collect(outcomes)
        )
        assert there.ok, there.failures[:3]
        assert there.counts == {"created": n}
        # corpus id -> id in the source (a Cosmos source renamed some) -> id in the target
        in_target = {o.thread_id: str(o.target_id) for o in outcomes}
        new_ids = {o.thread_id: in_target[str(o.target_id)] for o in loading}
        for entry in entries:
            new_id = new_ids[entry.thread_id]
            assert RULES[target_kind].accepts(new_id)
            stored = target.store.execute(ReadSession(new_id))
            want = expected(corpus.documents[entry.thread_id], new_id, source_kind, target_kind)
            assert ms(stored.document) == ms(want), entry
            assert observe(target, entry, new_id) == corpus.observed[entry.thread_id], entry

        back_report = migrate_store(target.store, back.store, ids=RULES[source_kind])
        assert back_report.ok and back_report.counts == {"created": n}
        for new_id in new_ids.values():
            assert same_content(read_thread(back.store, new_id), read_thread(target.store, new_id))

        again = migrate_store(source.store, target.store, ids=RULES[target_kind])
        assert again.counts == {"unchanged": n}


def test_pair_list_is_data_driven() -> None:
    ids = [p.id for p in store_pairs()]
    assert len(ids) == len(KINDS) ** 2 and "memory-to-sqlite" in ids and "sqlite-to-memory" in ids
    skipped = [p for p in store_pairs() if p.marks]
    assert all("store" in p.marks[0].kwargs["reason"] for p in skipped)


def _iter_kinds() -> Iterator[str]:
    yield from (k for k in KINDS if unavailable(k) is None)


def test_memory_and_sqlite_are_always_available() -> None:
    assert {"memory", "sqlite"} <= set(_iter_kinds())
