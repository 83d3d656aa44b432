"""Document patches: ``apply(old, diff(old, new)) == new``, and the patch is small."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_picoflow import patch as patches
from langgraph_picoflow.patch import (
    AddNamespace,
    AppendHistory,
    AppendItems,
    ReplaceHistory,
    ReplaceSession,
    SetHistoryEntry,
    SetKey,
)
from langgraph_picoflow.records import Sidecars


def entry(i: int, text: str = "x") -> dict[str, Any]:
    return {
        "type": "human",
        "content": f"{text}{i}",
        "id": f"Step|2026-01-01T00:00:00.000Z|{i:010d}",
    }


def document(histories: list[list[dict[str, Any]]]) -> tuple[dict[str, Any], Sidecars]:
    doc = {
        "id": "s",
        "saveOn": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "tokens": {},
        "flows": [
            {
                "name": "F",
                "memory": [{"nameSpace": f"ns{n}", "history": h} for n, h in enumerate(histories)],
                "steps": [],
            }
        ],
        "error": [],
    }
    return doc, [[[{} for _ in h] for h in histories]]


def test_append_is_a_delta_not_a_rewrite() -> None:
    old, side = document([[entry(i) for i in range(50)]])
    new, new_side = copy.deepcopy(old), copy.deepcopy(side)
    new["flows"][0]["memory"][0]["history"].append(entry(50))
    new_side[0][0].append({"id": "lc-50"})
    new["saveOn"] = datetime(2026, 1, 2, tzinfo=timezone.utc)
    ops = patches.diff(old, side, new, new_side)
    assert ops == [
        SetKey(("saveOn",), new["saveOn"]),
        AppendHistory(0, 0, 50, [entry(50)], [{"id": "lc-50"}]),
    ]
    assert patches.apply(old, side, ops) == (new, new_side)


def test_system_prompt_replacement_is_one_entry() -> None:
    old, side = document([[entry(i) for i in range(5)]])
    new, new_side = copy.deepcopy(old), copy.deepcopy(side)
    new["flows"][0]["memory"][0]["history"][0] = entry(0, "prompt")
    new["flows"][0]["memory"][0]["history"].append(entry(5))
    new_side[0][0].append({})
    ops = patches.diff(old, side, new, new_side)
    assert [type(op) for op in ops] == [SetHistoryEntry, AppendHistory]
    assert patches.apply(old, side, ops) == (new, new_side)


def test_removal_and_new_namespace_and_log_append() -> None:
    old, side = document([[entry(i) for i in range(4)]])
    new, new_side = copy.deepcopy(old), copy.deepcopy(side)
    del new["flows"][0]["memory"][0]["history"][2]
    del new_side[0][0][2]
    new["flows"][0]["memory"].append({"nameSpace": "extra", "history": [entry(9)]})
    new_side[0].append([{}])
    new["error"].append({"timestamp": new["saveOn"], "level": "error", "message": "boom"})
    ops = patches.diff(old, side, new, new_side)
    kinds = [type(op) for op in ops]
    assert ReplaceHistory in kinds and AddNamespace in kinds and AppendItems in kinds
    assert patches.apply(old, side, ops) == (new, new_side)


def test_structural_change_replaces_the_session() -> None:
    old, side = document([[entry(0)]])
    new = {k: v for k, v in old.items() if k != "tokens"}
    assert patches.diff(old, side, new, side) == [ReplaceSession(new, side)]
    assert patches.diff(None, None, new, side) == [ReplaceSession(new, side)]


def test_json_form_round_trips_dates_and_paths() -> None:
    old, side = document([[entry(0)]])
    ops = [
        SetKey(("flows", 0, "steps"), [{"name": "A", "state": {"_saveOn": old["saveOn"]}}]),
        AppendHistory(0, 0, 1, [entry(1)], [{"usage": {"input_tokens": 1}}]),
        ReplaceSession(old, side),
    ]
    assert patches.from_json(patches.to_json(ops)) == ops


histories = st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    before=histories,
    cut=st.lists(st.integers(min_value=0, max_value=40), min_size=3, max_size=3),
    grow=st.lists(st.integers(min_value=0, max_value=5), min_size=4, max_size=4),
    new_prompt=st.booleans(),
)
def test_apply_of_diff_rebuilds_any_new_document(
    before: list[int], cut: list[int], grow: list[int], new_prompt: bool
) -> None:
    """Whatever the change (append, prefix cut, slot 0, new namespace), apply(diff) == new."""
    old, side = document([[entry(i) for i in range(n)] for n in before])
    new, new_side = copy.deepcopy(old), copy.deepcopy(side)
    for n, space in enumerate(new["flows"][0]["memory"]):
        keep = min(cut[n % 3], len(space["history"]))
        space["history"] = space["history"][:keep] + [entry(100 + i) for i in range(grow[n])]
        new_side[0][n] = [{} for _ in space["history"]]
        if new_prompt and space["history"]:
            space["history"][0] = entry(0, "prompt")
    new["flows"][0]["memory"].append({"nameSpace": "late", "history": [entry(7)] * grow[3]})
    new_side[0].append([{}] * grow[3])
    ops = patches.diff(old, side, new, new_side)
    assert patches.apply(old, side, ops) == (new, new_side)
    assert patches.apply(old, side, patches.from_json(patches.to_json(ops))) == (new, new_side)
