"""Pure parts of the MongoDB store (no server): update translation, fitting, replay, chunks."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest
from bson import ObjectId

from langgraph_picoflow import patch as patches
from langgraph_picoflow.records import SessionRecord
from langgraph_picoflow.stores.mongodb import _chunks
from langgraph_picoflow.stores.mongodb._layout import align
from langgraph_picoflow.stores.mongodb._lower import _groups
from langgraph_picoflow.stores.mongodb._ops import Delete, Model, Replace, Update
from langgraph_picoflow.stores.mongodb._profile import compat_from_hello, make_profile
from langgraph_picoflow.stores.mongodb._replay import replay
from langgraph_picoflow.stores.mongodb._update import fast_write, fit, revision_filter
from langgraph_picoflow.stores.protocol import UpdateSession

SID = "6917ad4ac3d31db001ec2393"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
T1 = datetime(2026, 1, 1, 0, 0, 1, tzinfo=timezone.utc)


def entry(text: str, kind: str = "human") -> dict[str, Any]:
    return {
        "type": kind,
        "content": text,
        "id": f"chat|2026-01-01T00:00:00.000Z|{1000000000 + len(text)}",
    }


def session(histories: list[list[str]], save_on: datetime = T0) -> dict[str, Any]:
    memory = [
        {"nameSpace": f"ns{n}", "history": [entry(t) for t in h]} for n, h in enumerate(histories)
    ]
    return {
        "_id": SID,
        "id": SID,
        "saveOn": save_on,
        "log": [],
        "flows": [{"name": "F", "memory": memory, "steps": []}],
    }


def sides(doc: dict[str, Any]) -> Any:
    return [
        [[{"n": i} for i, _ in enumerate(m["history"])] for m in f["memory"]] for f in doc["flows"]
    ]


def update(old: dict[str, Any], new: dict[str, Any]) -> UpdateSession:
    diff = patches.diff(old, sides(old), new, sides(new))
    return UpdateSession(
        SID, "2026-01-01T00:00:00.000Z", diff, SessionRecord(new, sides(new), "r1")
    )


def test_appends_become_push_under_exact_lengths() -> None:
    old = session([["a", "b"], ["x"]])
    new = session([["a", "b", "c", "d"], ["x"]], T1)
    written = fast_write(update(old, new), SID)
    assert written is not None and written.fast
    head = written.head
    assert isinstance(head, Update)
    assert head.filter["_id"] == ObjectId(SID)
    assert head.filter["saveOn"] == {"$in": [T0, "2026-01-01T00:00:00.000Z"]}
    # Every history's stored length is pinned: a cut (spilled) head refuses the update.
    assert head.filter["flows.0.memory.0.history.1"] == {"$exists": True}
    assert head.filter["flows.0.memory.0.history.2"] == {"$exists": False}
    assert head.filter["flows.0.memory.1.history.1"] == {"$exists": False}
    assert head.update["$push"] == {"flows.0.memory.0.history": {"$each": [entry("c"), entry("d")]}}
    assert head.update["$set"] == {"saveOn": T1}
    shadow = written.sidecars
    assert isinstance(shadow, Update) and shadow.filter == {
        "_id": ObjectId(SID),
        "rev": "2026-01-01T00:00:00.000Z",
    }
    assert shadow.update["$push"] == {"flows.0.0": {"$each": ['{"n":2}', '{"n":3}']}}


def test_system_prompt_rewrite_plus_append_sets_positions() -> None:
    old = session([["sys", "a"]])
    new = copy.deepcopy(old)
    new["flows"][0]["memory"][0]["history"][0] = entry("new system prompt", "system")
    new["flows"][0]["memory"][0]["history"] += [entry("b"), entry("c")]
    new["saveOn"] = T1
    written = fast_write(update(old, new), SID)
    assert written is not None
    assert isinstance(written.head, Update)
    sets = written.head.update["$set"]
    assert set(sets) == {"saveOn", *(f"flows.0.memory.0.history.{i}" for i in (0, 2, 3))}
    assert "$push" not in written.head.update  # $set and $push on one array would conflict


def test_new_namespace_is_pushed_whole() -> None:
    old = session([["a"]])
    new = session([["a"], ["p", "q"]], T1)
    written = fast_write(update(old, new), SID)
    assert written is not None and isinstance(written.head, Update)
    assert written.head.update["$push"] == {
        "flows.0.memory": {"$each": [{"nameSpace": "ns1", "history": [entry("p"), entry("q")]}]}
    }
    assert written.head.filter["flows.0.memory.1"] == {"$exists": False}


def test_unsafe_or_structural_changes_need_a_full_write() -> None:
    old = session([["a"]])
    assert fast_write(update(old, session([["a"]], T1)), SID) is not None
    renamed = {**session([["a"]], T1), "we.ird": 1}
    assert fast_write(update(old, renamed), SID) is None  # a dotted key is no update path
    created = UpdateSession(
        SID, None, [patches.ReplaceSession(old, sides(old))], SessionRecord(old, sides(old), "r")
    )
    assert fast_write(created, SID) is None


def test_revision_filter_spellings() -> None:
    assert revision_filter("None") == {"$in": [None]}
    assert revision_filter("1700000000000") == {"$in": ["1700000000000", 1700000000000]}


def test_fit_keeps_history_prefixes() -> None:
    doc = session([[f"{i}" * 1000 for i in range(10)], ["small"]])
    stored, kept, spilled = fit(doc, sides(doc), SID, 6000)
    assert spilled
    histories = [m["history"] for m in stored["flows"][0]["memory"]]
    assert histories[0] == doc["flows"][0]["memory"][0]["history"][: len(histories[0])]
    assert 0 < len(histories[0]) < 10
    assert [len(s) for s in kept[0]] == [len(h) for h in histories]
    assert fit(doc, sides(doc), SID, 1 << 20)[2] is False


def test_replay_follows_links_and_ignores_losers() -> None:
    base = session([["a"]])
    won, lost = session([["a", "b"]], T1), session([["a", "x"]], T1)
    create = {
        "patch": patches.to_json([patches.ReplaceSession(base, sides(base))]),
        "base": None,
        "rev": "r0",
    }

    def step(old: dict[str, Any], new: dict[str, Any], rev: str) -> dict[str, Any]:
        diff = patches.diff(old, sides(old), new, sides(new))
        return {"patch": patches.to_json(diff), "base": "r0", "rev": rev}

    entries = [("c0", create), ("c1", step(base, lost, "lost")), ("c2", step(base, won, "r1"))]
    doc, side = replay(entries, "r1") or ({}, [])
    assert [e["content"] for e in doc["flows"][0]["memory"][0]["history"]] == ["a", "b"]
    assert side == sides(won)
    assert replay(entries[1:], "r1") is None  # no snapshot to start from


def test_chunks_split_and_join() -> None:
    doc = {"_id": {"t": "t", "n": "", "c": "c"}, "checkpoint": "x" * 50, "session": "é" * 300}
    owner, parts = _chunks.split("checkpoints", doc, 100, thread="t", ns="", cid="c")
    assert owner["session"] is None and owner["checkpoint"] == "x" * 50
    assert len(parts) == 6 and all(len(p["d"]) <= 100 for p in parts)
    assert _chunks.missing([owner]) == [p["_id"] for p in parts]
    assert _chunks.join([owner], parts) == [doc]
    small = {"_id": 1, "value": b"v"}
    assert _chunks.split("blobs", small, 100, thread="t", ns="", cid=None) == (small, [])


def test_align_pads_and_cuts() -> None:
    doc = session([["a", "b", "c"], []])
    assert align(doc, [[[{"k": 1}]]]) == [[[{"k": 1}, {}, {}], []]]
    assert align(doc, [[[{}, {}, {}, {}], [{}]]]) == [[[{}, {}, {}], []]]


def test_counted_models_run_alone() -> None:
    models: list[Model] = [
        Update("blobs", {"_id": 1}, {}, upsert=True),
        Update("blobs", {"_id": 2}, {}, upsert=True),
        Update("sessions", {"_id": 3}, {}),
        Replace("sidecars", {"_id": 3}, {}, upsert=True),
        Delete("writes", {}),
        Delete("writes", {}),
    ]
    assert [len(g) for g in _groups(models)] == [2, 1, 1, 1, 1]


@pytest.mark.parametrize(
    ("compat", "hello", "txn", "bulk", "limit"),
    [
        (
            "mongodb",
            {"setName": "rs", "logicalSessionTimeoutMinutes": 30, "maxWireVersion": 25},
            True,
            True,
            16 << 20,
        ),
        ("mongodb", {"maxWireVersion": 21}, False, False, 16 << 20),
        (
            "documentdb",
            {"setName": "rs0", "logicalSessionTimeoutMinutes": 30, "maxWireVersion": 25},
            True,
            False,
            16 << 20,
        ),
        (
            "cosmos",
            {"setName": "globaldb", "logicalSessionTimeoutMinutes": 30, "maxWireVersion": 25},
            False,
            False,
            2 << 20,
        ),
    ],
)
def test_profiles(compat: Any, hello: dict[str, Any], txn: bool, bulk: bool, limit: int) -> None:
    profile = make_profile(compat, hello, transactions=txn or None)
    assert (profile.transactions, profile.client_bulk, profile.max_document_bytes) == (
        txn,
        bulk,
        limit,
    )


def test_transactions_are_opt_in_and_checked() -> None:
    from langgraph_picoflow.errors import StoreError

    replica = {"setName": "rs", "logicalSessionTimeoutMinutes": 30, "maxWireVersion": 25}
    assert make_profile("mongodb", replica).transactions is False
    with pytest.raises(StoreError, match="replica set"):
        make_profile("mongodb", {"maxWireVersion": 25}, transactions=True)
    with pytest.raises(StoreError, match="Cosmos"):
        make_profile("cosmos", replica, transactions=True)


def test_compat_from_hello() -> None:
    assert compat_from_hello({"hosts": ["a.mongo.cosmos.azure.com:10255"]}, {}) == "cosmos"
    assert compat_from_hello({"setName": "secantus"}, {"version": "8.2.11"}) is None


def test_uri_options_for_managed_services() -> None:
    from langgraph_picoflow.stores.mongodb._store import _client_options, _store_kwargs

    docdb = "mongodb://u:p@x.cluster-1.eu-west-1.docdb.amazonaws.com:27017/app?tls=true"
    assert _client_options(docdb, None, {}) == {"retryWrites": False}
    assert _client_options("mongodb://h/?retryWrites=true", "cosmos", {}) == {}
    assert _client_options("mongodb://localhost:27017", None, {}) == {}
    assert _store_kwargs(docdb, {})["db_name"] == "app"
    assert _store_kwargs("mongodb://localhost", {})["db_name"] == "picoflow"
