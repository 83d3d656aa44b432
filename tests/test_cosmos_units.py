"""Cosmos store internals without a server: ids, parts, head plans, rebuilding heads."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.drive import drive
from langgraph_picoflow.errors import StoreError
from langgraph_picoflow.patch import AppendHistory, SetHistoryEntry, SetKey, diff
from langgraph_picoflow.records import SessionRecord
from langgraph_picoflow.stores.cosmos import CosmosConfig, CosmosLimits, InvalidIdError
from langgraph_picoflow.stores.cosmos import items as it
from langgraph_picoflow.stores.cosmos.config import parse_connection_string
from langgraph_picoflow.stores.cosmos.headplan import plan_head
from langgraph_picoflow.stores.cosmos.ids import check_thread_id, log_id
from langgraph_picoflow.stores.cosmos.ops import DeletePartition, Query
from langgraph_picoflow.stores.cosmos.purge import purge_log
from langgraph_picoflow.stores.cosmos.reads import missing_appends
from langgraph_picoflow.stores.cosmos.rebuild import rebuild
from langgraph_picoflow.stores.cosmos.state import StoreState
from langgraph_picoflow.stores.cosmos.tip import Tip

# --- ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "a/b",
        "a\\b",
        "what?",
        "#1",
        "",
        "x" * 256,
        ".",
        "..",
        "x ",
        "x\n",
        "a\tb",
        "a\rb",
        "a\x00b",
        "a\ud800b",
    ],
)
def test_thread_ids_cosmos_refuses_are_refused_by_name(bad: str) -> None:
    with pytest.raises(InvalidIdError) as caught:
        check_thread_id(bad)
    assert caught.value.thread_id == bad
    assert repr(bad) in str(caught.value)


@pytest.mark.parametrize(
    "good", ["6917ad4ac3d31db001ec2393", "a b", "ü|:~%", "x" * 255, "...", " x", "a.b", "😀"]
)
def test_other_thread_ids_pass(good: str) -> None:
    assert check_thread_id(good) == good


@pytest.mark.parametrize(
    "parts",
    [
        ("", "1ef", "task", 0),
        ("child:1|grandchild:2", "1ef", "a/b\\c?d#e", 3),
        ("x" * 300, "y" * 300, "z" * 300, 10**9),
    ],
)
def test_log_ids_are_safe_and_short(parts: tuple[Any, ...]) -> None:
    item_id = log_id("w", *parts)
    assert not set(item_id) & set("/\\?#")
    assert len(it.part_id(item_id, "f" * 16, 99_999)) <= 255


def test_log_ids_are_injective_on_parts() -> None:
    ids = {log_id("b", ns, ch, v) for ns in ("", "a|b") for ch in ("a", "a|b") for v in ("1", "|")}
    assert len(ids) == 8
    assert log_id("b", "", "a|b", "1") != log_id("b", "", "a", "b|1")


# --- configuration --------------------------------------------------------------------


def test_connection_string_parsing() -> None:
    conn = "AccountEndpoint=https://acct.documents.azure.com:443/;AccountKey=abc+/==;"
    assert parse_connection_string(conn) == ("https://acct.documents.azure.com:443/", "abc+/==")
    assert parse_connection_string("accountendpoint=https://x/") == ("https://x/", None)
    with pytest.raises(StoreError):
        parse_connection_string("AccountKey=abc;")
    with pytest.raises(StoreError):
        parse_connection_string("AccountEndpoint=https://x/;junk")


def test_names_default_to_picoflow_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSMODB_ID", raising=False)
    monkeypatch.delenv("COSMODB_SESSION_ID", raising=False)
    config = CosmosConfig()
    assert (config.database, config.container, config.log_name) == (
        "picoflow",
        "sessions",
        "sessions-checkpoints",
    )
    monkeypatch.setenv("COSMODB_ID", "prod")
    monkeypatch.setenv("COSMODB_SESSION_ID", "chats")
    config = CosmosConfig()
    assert (config.database, config.container, config.log_name) == (
        "prod",
        "chats",
        "chats-checkpoints",
    )


def test_halved_limits_shrink_but_stay_usable() -> None:
    limits = CosmosLimits()
    for _ in range(40):
        limits = limits.halved()
    assert limits.part_bytes >= 2_000 and limits.head_target < limits.head_bytes
    assert limits.patch_ops == 10 and limits.batch_ops == 100


# --- parts ----------------------------------------------------------------------------


def _item(size: int) -> it.Item:
    return {
        "id": "c||1",
        "thread_id": "t",
        "kind": "checkpoint",
        "ns": "",
        "cid": "1",
        "metadata": {"step": 1},
        "session": "é" * size,
    }


def test_small_items_are_not_split() -> None:
    assert it.split(_item(10), 1000, 100) == [_item(10)]


def test_large_items_split_and_join_back() -> None:
    item = _item(5000)
    physical = it.split(item, 1000, 700)
    header, parts = physical[0], physical[1:]
    assert header["metadata"] == {"step": 1} and "session" not in header
    assert all(it.size_of(p) < 1200 for p in parts)
    assert [p["id"] for p in parts] == it.part_ids(header)
    stale = [{**p, "pgen": "old", "data": "{"} for p in parts]
    assert it.join([header], [*stale, *reversed(parts)]) == [item]
    with pytest.raises(StoreError, match="missing parts"):
        it.join([header], parts[:-1])


# --- head plans -----------------------------------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _entry(i: int, size: int = 10) -> dict[str, Any]:
    return {"type": "human" if i % 2 else "ai", "content": "m" * size, "id": f"S|x|{i:010d}"}


def _doc(entries: list[dict[str, Any]]) -> dict[str, Any]:
    doc = pdoc.new_session("t1", now=NOW, flow_name="F", layout="B", mongo_id=False)
    doc["flows"] = [pdoc.new_flow("F", [], "B")]
    doc["flows"][0]["memory"] = [{"nameSpace": "default", "history": entries}]
    return doc


def _side(doc: dict[str, Any]) -> list[Any]:
    return [[[{"n": e["id"]} for e in m["history"]] for m in f["memory"]] for f in doc["flows"]]


def _record(doc: dict[str, Any]) -> SessionRecord:
    return SessionRecord(doc, _side(doc), "rev")


def _apply_patches(head: dict[str, Any], requests: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """A tiny JSON-patch interpreter for the operations the store sends."""
    head = copy.deepcopy(head)
    for request in requests:
        assert len(request) <= 10
        for op in request:
            *parents, last = [
                p.replace("~1", "/").replace("~0", "~") for p in op["path"][1:].split("/")
            ]
            node: Any = head
            for p in parents:
                node = node[int(p)] if isinstance(node, list) else node[p]
            if last == "-":
                node.append(op["value"])
            elif isinstance(node, list):
                node[int(last)] = op["value"]
            else:
                node[last] = op["value"]
    return head


def _layout(tid: str, doc: dict[str, Any], limits: CosmosLimits) -> tuple[Any, Tip]:
    plan = plan_head(tid, None, [], _record(doc), limits, chain=True)
    return plan, Tip(rev="r0", spaces=plan.spaces)


def _read(plan: Any, tip: Tip, head: dict[str, Any], extra: list[it.Item]) -> tuple[Any, Any]:
    kinds: dict[str, list[it.Item]] = {"block": [], "spill": [], "big": []}
    for item in [*plan.items, *extra]:
        kinds[item["kind"]].append(json.loads(json.dumps(item)))
    return rebuild(json.loads(json.dumps(head)), tip, kinds["block"], kinds["spill"], kinds["big"])


def test_appends_become_add_operations_in_requests_of_ten() -> None:
    limits = CosmosLimits()
    old = _doc([_entry(i) for i in range(3)])
    plan0, tip = _layout("t1", old, limits)
    new = _doc([_entry(i) for i in range(3 + 25)])
    new["saveOn"] = datetime(2026, 1, 2, tzinfo=timezone.utc)
    patch = diff(old, _side(old), new, _side(new))
    assert [type(p) for p in patch] == [SetKey, AppendHistory]
    plan = plan_head("t1", tip.spaces, patch, _record(new), limits, chain=True)
    assert plan.mode == "patch" and len(plan.patches) == 3
    assert plan.patches[0][0] == {
        "op": "set",
        "path": "/saveOn",
        "value": "2026-01-02T00:00:00.000Z",
    }
    assert all(op["op"] == "add" for r in plan.patches[1:] for op in r)
    head = _apply_patches(plan0.body, plan.patches)
    assert head == plan.body
    doc, side = _read(plan, Tip(spaces=plan.spaces), head, plan0.items)
    assert doc == new and side == _side(new)
    # Without a log entry to finish an interrupted chain, the head is written whole.
    single = plan_head("t1", tip.spaces, patch, _record(new), limits, chain=False)
    assert single.mode == "replace" and not single.patches


def test_system_prompt_rewrite_is_one_set() -> None:
    limits = CosmosLimits()
    old = _doc([_entry(i) for i in range(20)])
    plan0, tip = _layout("t1", old, limits)
    new = copy.deepcopy(old)
    new["flows"][0]["memory"][0]["history"][0] = {"type": "system", "content": "p2", "id": "S|y|1"}
    patch = diff(old, _side(old), new, _side(new))
    assert [type(p) for p in patch] == [SetHistoryEntry]
    plan = plan_head("t1", tip.spaces, patch, _record(new), limits, chain=True)
    assert plan.patches == [
        [
            {
                "op": "set",
                "path": "/flows/0/memory/0/history/0",
                "value": new["flows"][0]["memory"][0]["history"][0],
            }
        ]
    ]
    assert "0.0" in plan.prev  # readers of the old head still find its entry 0 sidecar
    doc, side = _read(plan, Tip(spaces=plan.spaces, prev=plan.prev), plan.body, plan0.items)
    assert doc == new and side == _side(new)


def test_sidecars_seal_into_blocks() -> None:
    limits = CosmosLimits(sidecar_block=4)
    doc = _doc([_entry(i) for i in range(11)])
    plan, tip = _layout("t1", doc, limits)
    blocks = [i for i in plan.items if i["kind"] == "block"]
    assert [b["j"] for b in blocks] == [0, 1]
    assert plan.spaces["0.0"].sealed == 9 and len(plan.spaces["0.0"].tail) == 2
    assert _read(plan, tip, plan.body, [])[1] == _side(doc)


def test_oversized_head_spills_history_and_stubs_large_entries() -> None:
    limits = CosmosLimits(head_bytes=6_000, head_target=3_000, entry_bytes=1_500)
    entries = [_entry(i, 200) for i in range(60)]
    entries[40] = _entry(40, 2_000)  # large: a stub in the head, whole in a big item
    doc = _doc(entries)
    plan, tip = _layout("t1", doc, limits)
    assert plan.mode == "replace"
    assert it.size_of(plan.body) <= limits.head_bytes
    head_history = plan.body["flows"][0]["memory"][0]["history"]
    assert head_history[0] == entries[0] and head_history[-1] == entries[-1]
    assert {i["kind"] for i in plan.items} >= {"spill", "big"}
    pdoc.check(pdoc.load(plan.body))  # what Picoflow reads is still a valid document
    doc_back, side = _read(plan, tip, plan.body, [])
    assert doc_back == doc and side == _side(doc)


def test_growth_spills_incrementally_and_readers_of_either_head_agree() -> None:
    limits = CosmosLimits(head_bytes=6_000, head_target=3_000)
    versions = [_doc([_entry(i, 200) for i in range(k)]) for k in (10, 30, 50)]
    for i, doc in enumerate(versions):
        doc["saveOn"] = datetime(2026, 1, 1 + i, tzinfo=timezone.utc)
    plans = [plan_head("t1", None, [], _record(versions[0]), limits, chain=True)]
    for old, new in itertools.pairwise(versions):
        patch = diff(old, _side(old), new, _side(new))
        plans.append(plan_head("t1", plans[-1].spaces, patch, _record(new), limits, chain=True))
    assert [p.mode for p in plans[1:]] == ["replace", "replace"]  # the layout changed
    first, second = (p.spaces["0.0"].spill for p in plans[1:])
    assert 0 < first < second
    starts = [i["a"] for i in plans[2].items if i["kind"] == "spill"]
    assert starts == [1 + first]  # only the newly moved range is written
    items = [i for p in plans for i in p.items]
    tip = Tip(rev="r2", spaces=plans[2].spaces, prev=plans[2].prev)
    for plan, doc in zip(plans[1:], versions[1:], strict=True):
        # The newest tip reads both the new head and the one before it (a writer may
        # be between its log write and its head write).
        assert _read(plan, tip, plan.body, items)[0] == doc


def test_interrupted_chain_is_completed_from_the_tip_record() -> None:
    limits = CosmosLimits()
    old = _doc([_entry(i) for i in range(2)])
    plan0, tip = _layout("t1", old, limits)
    new = _doc([_entry(i) for i in range(2 + 15)])
    new["saveOn"] = datetime(2026, 1, 2, tzinfo=timezone.utc)
    patch = diff(old, _side(old), new, _side(new))
    plan = plan_head("t1", tip.spaces, patch, _record(new), limits, chain=True)
    from langgraph_picoflow import codec
    from langgraph_picoflow.patch import to_json

    rev = "2026-01-02T00:00:00.000Z"
    record = {"session": codec.dumps({"patch": to_json(patch), "base": "r0", "rev": rev})}
    after = Tip(rev=rev, record=record, spaces=plan.spaces)
    half = _apply_patches(plan0.body, plan.patches[:1])  # stopped after the first request
    assert missing_appends(half, after) and not missing_appends(plan.body, after)
    assert _apply_patches(half, missing_appends(half, after)) == plan.body


# --- deleting a thread -----------------------------------------------------------------


def _ops_of(state: StoreState, answers: dict[type, Any]) -> list[Any]:
    seen: list[Any] = []

    def step(op: Any) -> Any:
        seen.append(op)
        answer = answers.get(type(op))
        if isinstance(answer, Exception):
            raise answer
        return answer

    drive(purge_log(state, "t1"), step)
    return seen


class _Refused(Exception):
    status_code = 400


def test_delete_by_partition_key_is_used_when_the_account_has_it() -> None:
    state = StoreState(CosmosConfig())
    assert [type(o) for o in _ops_of(state, {DeletePartition: None})] == [DeletePartition]
    assert state.partition_delete is True


def test_delete_falls_back_to_query_and_batches_and_remembers() -> None:
    state = StoreState(CosmosConfig())
    seen = _ops_of(state, {DeletePartition: _Refused(), Query: ["a", "b"]})
    assert [type(o).__name__ for o in seen] == ["DeletePartition", "Query", "Batch"]
    assert state.partition_delete is False
    seen = _ops_of(state, {Query: []})
    assert [type(o).__name__ for o in seen] == ["Query"]  # not tried again
