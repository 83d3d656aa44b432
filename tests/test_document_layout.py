"""Layout detection and the read-only layout C (Picoflow 1.1.x) conversion to B."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from langgraph_picoflow.document import (
    FLOW_KEYS,
    TOP_LEVEL_KEYS,
    detect_layout,
    load,
    to_layout_b,
    validate,
)
from langgraph_picoflow.errors import SessionDocumentError
from tests.samples import sample_params

T = datetime(2025, 6, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
UUID = "3f1c0d7e-5c1e-4b7a-9d1e-0c2f9b7a1e11"


@pytest.mark.parametrize("path", sample_params())
def test_samples_layouts(path: Path) -> None:
    expected = "A0" if path.name.startswith("tutorial1") else "B"
    assert detect_layout(load(path.read_bytes())) == expected


def _flow(flow_keys: dict[str, Any], step_keys: dict[str, Any]) -> dict[str, Any]:
    step = {"name": "S", "isActive": True, "state": {}, **step_keys}
    return {"flows": [{"name": "F", "memory": [], "steps": [step], "context": {}, **flow_keys}]}


@pytest.mark.parametrize(
    ("doc", "layout"),
    [
        ({"flows": []}, "B"),
        ({}, "B"),
        ({"flows": "junk"}, "B"),
        (_flow({"temperature": -1}, {"modelName": "m", "temperature": -1}), "A0"),
        (_flow({"sequence": [], "temperature": -1}, {"modelName": "m", "temperature": -1}), "A1"),
        # An A0 document re-saved by 1.0.11 gains sequence after temperature: now A1.
        (_flow({"temperature": -1, "sequence": []}, {"temperature": -1}), "A1"),
        (
            _flow({"sequence": []}, {"modelName": "m", "modelParamsName": "m", "modelParams": {}}),
            "B",
        ),
        # A B document re-saved by 1.0.11 keeps modelParams* and gains temperature: still B.
        (
            _flow(
                {"sequence": [], "temperature": -1},
                {"modelParamsName": "m", "modelParams": {}, "temperature": -1},
            ),
            "B",
        ),
        (_flow({"sequence": []}, {}), "B"),
        ({"flow": {"name": "F"}}, "C"),
    ],
)
def test_detect_layout(doc: dict[str, Any], layout: str) -> None:
    assert detect_layout(doc) == layout


def _layout_c() -> dict[str, Any]:
    """A hand-written 1.1.x document, following Picoflow's published reference docs."""
    return {
        "id": UUID,
        "revision": 7,
        "version": 1.5,
        "runStatus": "running",
        "createdOn": T,
        "saveOn": T,
        "flow": {
            "name": "HotelFlow",
            "model": {"provider": "openai", "name": "gpt-4o", "params": {"temperature": 0.2}},
            "context": {"config": {"vip": True}},
            "memory": {
                "default": {
                    "messages": [
                        {
                            "type": "system",
                            "content": "Be nice",
                            "id": "m1",
                            "timestamp": T,
                            "name": "",
                        },
                        {
                            "type": "ai",
                            "content": "",
                            "id": "m2",
                            "timestamp": T,
                            "name": "",
                            "tool_calls": [{"name": "book", "args": {"n": 2}, "id": "call_1"}],
                        },
                        {
                            "type": "tool",
                            "content": "input validated",
                            "name": "book",
                            "timestamp": T,
                            "tool_call_id": "call_1",
                            "id": "m3",
                            "additional_kwargs": {},
                        },
                    ],
                    "summary": "they want a room",
                    "summarizedThroughId": "m1",
                },
                "end": {"messages": []},
            },
            "steps": [
                {"name": "BookStep", "state": {"n": 2, "_saveOn": T}},
                {"name": "EndStep", "state": {}, "model": {"name": "gpt-4o-mini"}},
            ],
            "currentStep": "EndStep",
            "sequence": [{"level": 0, "stepName": "BookStep"}, {"level": 0, "stepName": "EndStep"}],
        },
        "tokens": {
            "inputTokens": 100,
            "outputTokens": 20,
            "totalTokens": 130,
            "reasoningTokens": 10,
            "cachedInputTokens": 0,
        },
        "log": [],
        "error": [],
        "warn": [],
        "debug": [],
        "verbose": [],
    }


def test_layout_c_validates() -> None:
    assert validate(_layout_c()) == []


def test_layout_c_problems() -> None:
    doc = _layout_c()
    doc["flow"]["currentStep"] = "Nowhere"
    doc["flow"]["memory"]["default"]["messages"][2]["status"] = "meh"
    del doc["flow"]["memory"]["default"]["messages"][2]["tool_call_id"]
    doc["flow"]["sequence"][0]["level"] = "0"
    assert [p.path for p in validate(doc)] == [
        "flow.memory.default.messages[2].tool_call_id",
        "flow.memory.default.messages[2].status",
        "flow.currentStep",
        "flow.sequence[0].level",
    ]


def test_to_layout_b() -> None:
    b = to_layout_b(_layout_c())
    assert b == {
        "id": UUID,
        "version": 1.5,
        "runStatus": "running",
        "createdOn": T,
        "saveOn": T,
        "tokens": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 130},
        "flows": [
            {
                "name": "HotelFlow",
                "memory": [
                    {
                        "nameSpace": "default",
                        "history": [
                            {"type": "system", "content": "Be nice", "id": "m1"},
                            {
                                "type": "ai",
                                "content": "",
                                "id": "m2",
                                "tool_calls": [{"name": "book", "args": {"n": 2}, "id": "call_1"}],
                            },
                            {
                                "type": "tool",
                                "content": "input validated",
                                "id": "m3",
                                "tool_call_id": "call_1",
                                "status": "success",
                                "name": "book",
                            },
                        ],
                    },
                    {"nameSpace": "end", "history": []},
                ],
                "steps": [
                    {
                        "name": "BookStep",
                        "isActive": False,
                        "state": {"n": 2, "_saveOn": T},
                        "modelName": "gpt-4o",
                        "modelParamsName": "gpt-4o",
                        "modelParams": {"temperature": 0.2},
                    },
                    {
                        "name": "EndStep",
                        "isActive": True,
                        "state": {},
                        "modelName": "gpt-4o-mini",
                        "modelParamsName": "gpt-4o-mini",
                        "modelParams": {},
                    },
                ],
                "context": {"config": {"vip": True}},
                "sequence": ["BookStep", "EndStep"],
            }
        ],
        "log": [],
        "error": [],
        "warn": [],
        "debug": [],
        "verbose": [],
    }
    # dict equality ignores order, and key order is part of the contract.
    assert list(b) == [*TOP_LEVEL_KEYS[1:6], *TOP_LEVEL_KEYS[7:]]
    assert list(b["flows"][0]) == list(FLOW_KEYS["B"])
    tool = b["flows"][0]["memory"][0]["history"][2]
    assert list(tool) == ["type", "content", "id", "tool_call_id", "status", "name"]
    assert detect_layout(b) == "B"
    # 1.1.x message ids carry no step prefix; they are kept as they are.
    assert {p.message.split(",")[0] for p in validate(b)} == {
        "expected '<Step>|...' (Picoflow reads the step prefix)"
    }


def test_to_layout_b_keeps_unknown_keys_and_copies() -> None:
    c = _layout_c()
    c["_ts"] = 1717243200
    c["flow"]["extra"] = {"x": 1}
    c["flow"]["steps"][0]["note"] = "kept"
    b = to_layout_b(c)
    assert list(b)[-1] == "_ts"
    assert list(b["flows"][0])[-1] == "extra"
    assert list(b["flows"][0]["steps"][0])[-1] == "note"
    b["flows"][0]["steps"][0]["state"]["n"] = 99
    assert c["flow"]["steps"][0]["state"]["n"] == 2


def test_to_layout_b_refuses_other_documents() -> None:
    with pytest.raises(SessionDocumentError, match="not a layout C"):
        to_layout_b({"flows": []})
    bad = _layout_c()
    del bad["flow"]["currentStep"]
    with pytest.raises(SessionDocumentError, match=r"flow\.currentStep: required"):
        to_layout_b(bad)
