"""Validation reports every problem with its JSON path and what was expected there."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from langgraph_picoflow.document import check, load, parse, validate
from langgraph_picoflow.errors import Problem, SessionDocumentError
from tests.samples import sample_params

UTC = timezone.utc
OID = "69c043c3bbbd4f8f919333c2"
T = datetime(2026, 3, 22, 19, 32, 19, 50000, tzinfo=UTC)


def _doc() -> dict[str, Any]:
    """A small valid layout B document (hand-written, independent of the builders)."""
    return {
        "_id": OID,
        "id": OID,
        "version": 1,
        "runStatus": "running",
        "createdOn": T,
        "saveOn": T,
        "expireAfter": 600,
        "tokens": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "flows": [
            {
                "name": "MedicalFlow",
                "memory": [
                    {
                        "nameSpace": "SymptomsStep",
                        "history": [
                            {
                                "type": "system",
                                "content": "",
                                "id": "SymptomsStep|2026-03-22T19:32:19.050Z|1234567890",
                            },
                            {
                                "type": "ai",
                                "content": "",
                                "id": "SymptomsStep|2026-03-22T19:32:19.050Z|2234567890",
                                "tool_calls": [
                                    {"name": "capture", "args": {"x": 1}, "id": "call_1"}
                                ],
                            },
                            {
                                "type": "tool",
                                "content": "input validated",
                                "id": "SymptomsStep|2026-03-22T19:32:19.050Z|3234567890",
                                "additional_kwargs": {"stopTool": True},
                                "tool_call_id": "call_1",
                                "status": "success",
                                "name": "capture",
                            },
                        ],
                    }
                ],
                "steps": [
                    {"name": "SymptomsStep", "isActive": True, "state": {"_saveOn": T}},
                    {"name": "EndStep", "isActive": False, "state": {}},
                ],
                "context": {"config": None},
                "sequence": ["SymptomsStep"],
            }
        ],
        "log": [{"timestamp": T, "level": "info", "message": "hello"}],
        "error": [],
        "warn": [],
        "debug": [],
        "verbose": [],
    }


def _paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


def _message_of(problems: list[Problem], path: str) -> str:
    return next(p.message for p in problems if p.path == path)


HISTORY = "flows[0].memory[0].history"


@pytest.mark.parametrize("path", sample_params())
def test_samples_are_valid_even_strictly(path: Path) -> None:
    parsed = parse(path.read_bytes())
    assert validate(parsed.document, require_object_id=parsed.object_id) == []
    assert validate(parsed.document, require_object_id=True, strict=True) == []


def test_valid_document() -> None:
    assert validate(_doc()) == []
    assert validate(_doc(), strict=True, require_object_id=True) == []
    check(_doc())


def test_flows_may_be_empty() -> None:
    doc = _doc()
    doc["flows"] = []
    assert validate(doc, strict=True) == []


def test_missing_top_level_fields_all_reported() -> None:
    doc = _doc()
    for key in ("id", "runStatus", "saveOn", "tokens", "flows", "log", "verbose"):
        del doc[key]
    problems = validate(doc)
    assert _paths(problems) == ["id", "runStatus", "saveOn", "tokens", "flows", "log", "verbose"]
    assert all(p.message == "required" for p in problems)


def test_strict_requires_what_picoflow_always_writes() -> None:
    doc = _doc()
    for key in ("version", "createdOn", "expireAfter"):
        del doc[key]
    assert validate(doc) == []
    assert _paths(validate(doc, strict=True)) == ["version", "createdOn", "expireAfter"]


def test_wrong_types_name_path_and_expectation() -> None:
    doc = _doc()
    doc["id"] = 42
    doc["_id"] = 42
    doc["runStatus"] = "done"
    doc["saveOn"] = "yesterday"
    doc["tokens"]["inputTokens"] = "10"
    doc["tokens"]["totalTokens"] = True
    flow = doc["flows"][0]
    flow["steps"][0]["isActive"] = "yes"
    flow["steps"][1]["state"] = []
    flow["context"] = None
    flow["sequence"] = ["SymptomsStep", 3]
    problems = validate(doc)
    assert _paths(problems) == [
        "id",
        "_id",
        "runStatus",
        "saveOn",
        "tokens.inputTokens",
        "tokens.totalTokens",
        "flows[0].steps[0].isActive",
        "flows[0].steps[1].state",
        "flows[0].steps",
        "flows[0].context",
        "flows[0].sequence[1]",
    ]
    assert _message_of(problems, "id") == "expected a non-empty string, got 42"
    assert "'running', 'completed', 'aborted'" in _message_of(problems, "runStatus")
    assert _message_of(problems, "flows[0].steps[1].state") == "expected an object, got an array"
    assert "found none" in _message_of(problems, "flows[0].steps")
    with pytest.raises(SessionDocumentError) as err:
        check(doc)
    assert err.value.problems == problems


def test_tool_message_without_tool_call_id() -> None:
    doc = _doc()
    tool = doc["flows"][0]["memory"][0]["history"][2]
    del tool["tool_call_id"]
    tool["status"] = "failed"
    problems = validate(doc)
    assert [str(p) for p in problems] == [
        f"{HISTORY}[2].tool_call_id: required for a tool message",
        f"{HISTORY}[2].status: expected one of 'success', 'error', got 'failed'",
    ]
    with pytest.raises(SessionDocumentError, match=r"history\[2\]\.tool_call_id: required"):
        check(doc)


def test_unknown_message_type_and_bad_fields() -> None:
    doc = _doc()
    history = doc["flows"][0]["memory"][0]["history"]
    history.append({"type": "assistant", "content": 3, "id": "no-prefix", "additional_kwargs": []})
    history.append("just text")
    problems = validate(doc)
    assert _paths(problems) == [
        f"{HISTORY}[3].type",
        f"{HISTORY}[3].content",
        f"{HISTORY}[3].id",
        f"{HISTORY}[3].additional_kwargs",
        f"{HISTORY}[4]",
    ]
    assert "'system', 'human', 'ai', 'tool'" in _message_of(problems, f"{HISTORY}[3].type")
    assert "step prefix" in _message_of(problems, f"{HISTORY}[3].id")


def test_ai_tool_calls_checked() -> None:
    doc = _doc()
    doc["flows"][0]["memory"][0]["history"][1]["tool_calls"] = [{"name": "", "args": "x"}, 5]
    assert _paths(validate(doc)) == [
        f"{HISTORY}[1].tool_calls[0].name",
        f"{HISTORY}[1].tool_calls[0].args",
        f"{HISTORY}[1].tool_calls[0].id",
        f"{HISTORY}[1].tool_calls[1]",
    ]


def test_message_id_format_only_strict() -> None:
    doc = _doc()
    doc["flows"][0]["memory"][0]["history"][1]["id"] = "SymptomsStep|later|42"
    assert validate(doc) == []
    assert _paths(validate(doc, strict=True)) == [f"{HISTORY}[1].id"]


def test_strict_wants_system_message_first() -> None:
    doc = _doc()
    del doc["flows"][0]["memory"][0]["history"][0]
    assert validate(doc) == []
    assert _paths(validate(doc, strict=True)) == [f"{HISTORY}[0]"]


def test_object_id_required() -> None:
    doc = _doc()
    doc["_id"] = doc["id"] = "3f1c0d7e-5c1e-4b7a-9d1e-0c2f9b7a1e11"
    assert validate(doc) == []
    problems = validate(doc, require_object_id=True)
    assert _paths(problems) == ["_id"]
    assert "24-character lowercase hex ObjectId" in problems[0].message
    del doc["_id"]
    assert _paths(validate(doc, require_object_id=True)) == ["_id"]


def test_object_id_from_extended_json_source() -> None:
    text = '{"_id": {"$oid": "not-hex"}, "id": "not-hex"}'
    parsed = parse(text)
    assert parsed.object_id
    with pytest.raises(SessionDocumentError) as err:
        check(parsed.document, require_object_id=parsed.object_id)
    assert "_id" in _paths(err.value.problems)


def test_id_must_match_mongo_id() -> None:
    doc = _doc()
    doc["id"] = "69c043c3bbbd4f8f919333c3"
    assert _paths(validate(doc)) == ["id"]


def test_more_than_one_active_step() -> None:
    doc = _doc()
    doc["flows"][0]["steps"][1]["isActive"] = True
    problems = validate(doc)
    assert _paths(problems) == ["flows[0].steps"]
    assert "found 2" in problems[0].message


def test_memory_and_duplicates() -> None:
    doc = _doc()
    flow = doc["flows"][0]
    flow["memory"].append({"nameSpace": "SymptomsStep", "history": {}})
    flow["memory"].append({"nameSpace": ""})
    flow["steps"].append({"name": "EndStep", "isActive": False, "state": {}})
    doc["flows"].append(copy.deepcopy(flow))
    problems = validate(doc)
    assert _paths(problems)[:6] == [
        "flows[0].memory[1].nameSpace",
        "flows[0].memory[1].history",
        "flows[0].memory[2].nameSpace",
        "flows[0].memory[2].history",
        "flows[0].steps[2].name",
        "flows[1].name",
    ]
    assert "duplicate" in problems[0].message and "duplicate" in problems[5].message


def test_layout_decides_whether_sequence_is_required() -> None:
    doc = _doc()
    del doc["flows"][0]["sequence"]
    doc["flows"][0]["temperature"] = -1  # no sequence, temperature: A0, where sequence is absent
    assert validate(doc) == []
    doc["flows"][0]["steps"][0]["modelParamsName"] = "gpt-4o"  # now B, which has sequence
    problems = validate(doc)
    assert [str(p) for p in problems] == ["flows[0].sequence: required in layout B"]


def test_state_reserved_keys() -> None:
    doc = _doc()
    doc["flows"][0]["steps"][0]["state"] = {"_saveOn": [], "_prompt": 1, "_stopTool": {"t": "y"}}
    assert _paths(validate(doc)) == [
        "flows[0].steps[0].state._saveOn",
        "flows[0].steps[0].state._prompt",
        "flows[0].steps[0].state._stopTool.t",
    ]


def test_dates_may_be_iso_strings_or_epoch_ms() -> None:
    doc = _doc()
    doc["saveOn"] = "2026-03-22T19:32:19Z"  # Cosmos documents keep strings
    doc["createdOn"] = 1774208000000
    assert validate(doc) == []


def test_log_entries() -> None:
    doc = _doc()
    doc["warn"] = [{"timestamp": T, "level": "warn", "message": "Attempt 2 of 3. Error:x"}, {}, 1]
    assert _paths(validate(doc)) == [
        "warn[1].timestamp",
        "warn[1].level",
        "warn[1].message",
        "warn[2]",
    ]


def test_many_problems_all_reported() -> None:
    doc = _doc()
    del doc["id"]
    del doc["flows"][0]["name"]
    doc["flows"][0]["memory"][0]["history"][2]["status"] = None
    doc["error"] = None
    assert _paths(validate(doc)) == [
        "id",
        "flows[0].name",
        f"{HISTORY}[2].status",
        "error",
    ]


def test_ten_thousand_levels_in_state() -> None:
    doc = _doc()
    node: dict[str, Any] = {}
    doc["flows"][0]["steps"][0]["state"]["deep"] = node
    for _ in range(10_000):
        node["a"] = {}
        node = node["a"]
    problems = validate(doc)
    assert len(problems) == 1
    assert problems[0].path.startswith("flows[0].steps[0].state.deep.a.a")
    assert "deeper than 256" in problems[0].message
    with pytest.raises(SessionDocumentError):
        check(doc)


def test_values_that_are_not_json() -> None:
    doc = _doc()
    doc["flows"][0]["context"]["config"] = {"when": object(), 3: "x"}
    assert _paths(validate(doc)) == ["flows[0].context.config", "flows[0].context.config.when"]


def test_odd_keys_are_quoted_in_paths() -> None:
    doc = _doc()
    doc["flows"][0]["steps"][0]["state"]["_stopTool"] = {"my tool": "yes"}
    assert _paths(validate(doc)) == ['flows[0].steps[0].state._stopTool["my tool"]']


def test_not_an_object() -> None:
    assert _paths(validate([])) == [""]  # type: ignore[arg-type]


def test_plain_loaded_document_validates() -> None:
    from langgraph_picoflow.document import dumps

    doc = load(dumps(_doc()))
    assert isinstance(doc["saveOn"], datetime)
    assert validate(doc, strict=True, require_object_id=True) == []
