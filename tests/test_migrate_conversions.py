"""Layout conversion (A -> B on request, C -> B always) and id rules, with their logs."""

from __future__ import annotations

import itertools
import random

import pytest
from langchain_core.messages import HumanMessage

from langgraph_picoflow import PicoflowSaver, plans
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.drive import drive
from langgraph_picoflow.errors import ConflictError
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.migrate import (
    IdRules,
    MigrateOptions,
    ThreadData,
    a_to_b,
    derived_id,
    migrate_store,
    read_thread,
    redact,
    rename_thread,
)
from langgraph_picoflow.migrate._thread import delete_request
from langgraph_picoflow.patch import ReplaceSession
from langgraph_picoflow.records import SessionRecord
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.protocol import ListCheckpoints, ReadSession, UpdateSession, Write
from tests.test_migrate_corpus import Entry, build_chat, observe, picoflow_document


def test_a0_to_b_moves_model_fields_and_derives_a_sequence() -> None:
    doc = picoflow_document("A0", pdoc.new_session_id(), random.Random(3), 2)
    doc["flows"][0]["steps"][1]["temperature"] = 0.7
    converted = a_to_b(doc)
    assert pdoc.detect_layout(converted) == "B" and pdoc.validate(converted) == []
    flow = converted["flows"][0]
    assert list(flow) == ["name", "memory", "steps", "context", "sequence"]
    assert flow["memory"] == doc["flows"][0]["memory"]
    # Steps in the order their messages appear (here interleaved), ending at the active one.
    sequence = flow["sequence"]
    assert sequence[0] == "GreetStep" and sequence[-1] == "HelpStep"
    assert all(a != b for a, b in itertools.pairwise(sequence))
    greet, help_step = flow["steps"]
    assert list(help_step) == [
        "name",
        "isActive",
        "state",
        "modelName",
        "modelParamsName",
        "modelParams",
    ]
    assert help_step["modelParams"] == {"temperature": 0.7} and greet["modelParams"] == {}
    assert a_to_b(converted) == converted  # B stays B


def test_a1_logic_steps_and_unknown_keys_are_kept() -> None:
    doc = picoflow_document("A1", pdoc.new_session_id(), random.Random(3), 1)
    flow = doc["flows"][0]
    flow["steps"].append(pdoc.new_step("Router", active=False, layout="A1", logic=True))
    flow["custom"] = {"keep": True}
    flow["steps"][0]["extra"] = 1
    converted = a_to_b(doc)["flows"][0]
    assert converted["custom"] == {"keep": True} and list(converted)[-1] == "custom"
    assert converted["steps"][0]["extra"] == 1
    assert converted["steps"][2] == {"name": "Router", "isActive": False, "state": {}}
    assert converted["sequence"] == flow["sequence"]


def _chat_thread(store: MemoryStore, layout: str, turns: int = 3) -> str:
    saver = PicoflowSaver(store, session=SessionConfig(layout=layout))  # type: ignore[arg-type]
    graph = build_chat(saver)
    tid = pdoc.new_session_id()
    for turn in range(turns):
        graph.invoke(
            {"messages": [HumanMessage(f"turn {turn}")]}, {"configurable": {"thread_id": tid}}
        )
    return tid


@pytest.mark.parametrize("layout", ["A0", "A1"])
def test_converting_a_logged_thread_keeps_its_state_and_history(layout: str) -> None:
    source, target = MemoryStore(), MemoryStore()
    tid = _chat_thread(source, layout)
    entry = Entry(tid, "chat", layout, logged=True)
    report = migrate_store(source, target, options=MigrateOptions(to_layout="B"))
    assert report.ok
    head = target.execute(ReadSession(tid)).document
    assert pdoc.detect_layout(head) == "B"
    assert observe(PicoflowSaver(target), entry) == observe(PicoflowSaver(source), entry)
    roots = target.execute(ListCheckpoints(tid, ""))
    docs = drive(plans.documents_at(tid, {r.checkpoint_id for r in roots}), target.execute)
    assert docs and all(pdoc.detect_layout(doc) == "B" for doc, _ in docs.values())
    # The converted thread goes on, and stays B.
    graph = build_chat(PicoflowSaver(target))
    graph.invoke({"messages": [HumanMessage("more")]}, {"configurable": {"thread_id": tid}})
    assert pdoc.detect_layout(target.execute(ReadSession(tid)).document) == "B"


def test_a_head_left_behind_its_log_is_copied_and_rolled_forward_converted() -> None:
    source = MemoryStore()
    tid = _chat_thread(source, "A1")
    entry = Entry(tid, "chat", "A1", logged=True)
    expected = observe(PicoflowSaver(source), entry)
    roots = sorted(source.execute(ListCheckpoints(tid, "")), key=lambda r: r.seq)
    older = roots[-3]
    docs = drive(plans.documents_at(tid, {older.checkpoint_id}), source.execute)
    doc, side = docs[older.checkpoint_id]
    current = source.execute(ReadSession(tid))
    behind = SessionRecord(doc, side, older.session["rev"])
    source.execute(
        Write((UpdateSession(tid, current.revision, [ReplaceSession(doc, side)], behind),))
    )
    target = MemoryStore()
    assert migrate_store(source, target, options=MigrateOptions(to_layout="B")).ok
    assert target.execute(ReadSession(tid)).revision == older.session["rev"]  # copied as is
    assert observe(PicoflowSaver(target), entry) == expected  # and rolled forward on read
    assert pdoc.detect_layout(target.execute(ReadSession(tid)).document) == "B"


def test_layout_c_is_always_converted() -> None:
    source, target = MemoryStore(), MemoryStore()
    doc = picoflow_document("C", pdoc.new_session_id("uuid"), random.Random(1), 3)
    PicoflowSaver(source).import_session(doc)
    assert migrate_store(source, target).ok
    stored = target.execute(ReadSession(doc["id"]))
    assert stored.document == pdoc.to_layout_b(pdoc.load(doc))
    assert [len(h) for h in stored.sidecars[0]] == [
        len(doc["flow"]["memory"]["HelpStep"]["messages"])
    ]


def test_id_rules() -> None:
    cosmos = IdRules.for_url("AccountEndpoint=https://x;AccountKey=k;")
    assert not cosmos.accepts("a/b") and not cosmos.accepts("x" * 256) and cosmos.accepts("a-b")
    assert cosmos.target_id("a-b") == "a-b"
    new = cosmos.target_id("a/b")
    assert new == derived_id("a/b", "uuid") and new[14] == "4"
    assert IdRules.for_url("mongodb://h/db").mongo_key
    renumbered = IdRules(new_ids=True).target_id("6917ad4ac3d31db001ec2393")
    assert pdoc.OBJECT_ID_RE.match(renumbered) and renumbered != "6917ad4ac3d31db001ec2393"


def test_renaming_rewrites_the_log_documents_too() -> None:
    store = MemoryStore()
    tid = _chat_thread(store, "B", turns=2)
    renamed = rename_thread(read_thread(store, tid), "chat-1")
    assert renamed.session is not None and renamed.session.document["id"] == "chat-1"
    assert "_id" not in renamed.session.document  # no longer an ObjectId
    assert {r.thread_id for r in renamed.checkpoints} == {"chat-1"}
    first = min(renamed.checkpoints, key=lambda r: r.seq)
    assert first.session is not None
    assert first.session["patch"][0]["document"]["id"] == "chat-1"


def test_deleting_is_refused_when_the_session_changed_meanwhile() -> None:
    store = MemoryStore()
    tid = _chat_thread(store, "B", turns=1)
    stale: ThreadData = read_thread(store, tid)
    build_chat(PicoflowSaver(store)).invoke(
        {"messages": [HumanMessage("again")]}, {"configurable": {"thread_id": tid}}
    )
    with pytest.raises(ConflictError):
        store.execute(delete_request(stale))
    assert store.execute(ReadSession(tid)) is not None


def test_redact_hides_secrets() -> None:
    assert redact("mongodb+srv://u:p@h/d") == "mongodb+srv://u:***@h/d"
    assert "k3y" not in redact("AccountEndpoint=https://a:443/;AccountKey=k3y==;")
