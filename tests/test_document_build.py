"""Builders, ids and dates: Picoflow's key order and formats, checked against the samples."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langgraph_picoflow.document import (
    FLOW_KEYS,
    MESSAGE_ID_RE,
    TOP_LEVEL_KEYS,
    detect_layout,
    dumps,
    iso_ms,
    load,
    message_id_step,
    new_flow,
    new_message,
    new_message_id,
    new_session,
    new_session_id,
    new_step,
    parse_iso_ms,
    parse_message_id,
    utc_now_ms,
    validate,
)
from langgraph_picoflow.errors import SessionDocumentError
from tests.samples import sample_params

UTC = timezone.utc
NOW = datetime(2026, 3, 22, 19, 32, 19, 50999, tzinfo=UTC)
OID = "69c043c3bbbd4f8f919333c2"


# -- dates ---------------------------------------------------------------------------------


def test_iso_ms_is_to_iso_string() -> None:
    assert iso_ms(NOW) == "2026-03-22T19:32:19.050Z"
    assert iso_ms(datetime(2026, 3, 22, 20, 32, 19, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-03-22T19:32:19.000Z"
    )
    assert iso_ms(datetime(999, 1, 1)) == "0999-01-01T00:00:00.000Z"


def test_parse_iso_ms_only_exact_form() -> None:
    assert parse_iso_ms("2026-03-22T19:32:19.050Z") == NOW.replace(microsecond=50000)
    for text in (
        "2026-03-22T19:32:19Z",
        "2026-03-22T19:32:19.050+00:00",
        "2026-13-22T19:32:19.050Z",
    ):
        assert parse_iso_ms(text) is None


def test_utc_now_ms() -> None:
    now = utc_now_ms()
    assert now.tzinfo is not None and now.microsecond % 1000 == 0


@given(st.datetimes(timezones=st.just(UTC)))
def test_iso_ms_round_trip(dt: datetime) -> None:
    assert parse_iso_ms(iso_ms(dt)) == dt.replace(microsecond=dt.microsecond // 1000 * 1000)


# -- ids -----------------------------------------------------------------------------------


def test_message_id_format() -> None:
    mid = new_message_id("HelloStep", NOW, random.Random(7))
    assert MESSAGE_ID_RE.match(mid)
    step, when, number = parse_message_id(mid) or ("", NOW, 0)
    assert (step, when) == ("HelloStep", NOW.replace(microsecond=50000))
    assert 1_000_000_000 <= number <= 9_999_999_999
    assert new_message_id("HelloStep", NOW, random.Random(7)) == mid
    assert re.fullmatch(
        r"HelloStep\|2026-03-22T19:32:19\.050Z\|\d{10}", new_message_id("HelloStep", NOW)
    )


@pytest.mark.parametrize("bad", ["", "A|B"])
def test_message_id_step_must_be_plain(bad: str) -> None:
    with pytest.raises(ValueError):
        new_message_id(bad, NOW)


@pytest.mark.parametrize(
    "text",
    [
        "uuid-like-id",
        "Step|2026-03-22T19:32:19.050Z|123",
        "Step|2026-03-22T19:32:19.050Z|0123456789",
        "|2026-03-22T19:32:19.050Z|1234567890",
        "Step|2026-02-30T19:32:19.050Z|1234567890",
    ],
)
def test_parse_message_id_rejects(text: str) -> None:
    assert parse_message_id(text) is None


def test_message_id_step() -> None:
    assert message_id_step("EndStep|2026|1") == "EndStep"
    assert message_id_step("|x") is None and message_id_step("plain") is None


def test_session_ids() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    # The first four bytes are the creation time in seconds, as in an ObjectId.
    stamp = int(next(iter(ids))[:8], 16)
    assert abs(stamp - datetime.now(UTC).timestamp()) < 60
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        new_session_id("uuid"),
    )
    with pytest.raises(ValueError):
        new_session_id("nope")  # type: ignore[arg-type]


# -- builders ------------------------------------------------------------------------------


def test_new_session_key_order_and_validity() -> None:
    steps = [
        new_step("SymptomsStep", active=True, model_name="gpt-4o"),
        new_step("EndStep", active=False, model_name="gpt-4o"),
    ]
    doc = new_session(OID, now=NOW, flow_name="MedicalFlow", steps=steps, expire_after=50000)
    assert list(doc) == list(TOP_LEVEL_KEYS)
    assert doc["createdOn"] == doc["saveOn"] == NOW.replace(microsecond=50000)
    assert (doc["version"], doc["runStatus"], doc["tokens"], doc["expireAfter"]) == (
        1,
        "running",
        {},
        50000,
    )
    flow = doc["flows"][0]
    assert list(flow) == list(FLOW_KEYS["B"])
    assert flow["sequence"] == ["SymptomsStep"] and flow["context"] == {"config": None}
    assert detect_layout(doc) == "B"
    assert validate(doc, strict=True, require_object_id=True) == []
    assert load(dumps(doc, "extended")) == doc


def test_new_session_without_flow_or_mongo_id() -> None:
    uuid = new_session_id("uuid")
    doc = new_session(uuid, now=NOW, flow_name=None, mongo_id=True)
    assert "_id" not in doc and doc["id"] == uuid and doc["flows"] == []
    assert validate(doc) == []
    assert "_id" not in new_session(OID, now=NOW, flow_name=None, mongo_id=False)


@pytest.mark.parametrize("layout", ["A0", "A1", "B"])
def test_layouts_build_their_own_keys(layout: Any) -> None:
    llm = new_step("Ask", active=True, layout=layout, model_name="gemini-2.0-flash")
    logic = new_step("Route", active=False, layout=layout, model_name="gpt-4o", logic=True)
    doc = new_session(
        OID, now=NOW, flow_name="F", steps=[llm, logic], layout=layout, context_config={"a": 1}
    )
    flow = doc["flows"][0]
    assert list(flow) == list(FLOW_KEYS[layout])
    assert flow["context"] == {"config": {"a": 1}}
    assert detect_layout(doc) == layout
    assert validate(doc, strict=True) == []
    expected_llm = {
        "A0": ["name", "isActive", "state", "modelName", "temperature"],
        "A1": ["name", "isActive", "state", "modelName", "temperature"],
        "B": ["name", "isActive", "state", "modelName", "modelParamsName", "modelParams"],
    }[layout]
    assert list(llm) == expected_llm
    assert list(logic) == (["name", "isActive", "state"] if layout == "A1" else expected_llm)


def test_layout_c_is_not_built() -> None:
    with pytest.raises(ValueError, match="read-only"):
        new_session(OID, now=NOW, flow_name="F", layout="C")


def test_builders_copy_their_inputs() -> None:
    state = {"a": [1]}
    step = new_step("S", active=True, state=state)
    flow = new_flow("F", [step])
    step["state"]["a"].append(2)
    assert state == {"a": [1]} and flow["steps"][0]["state"] == {"a": [1]}


def test_new_message_key_orders() -> None:
    mid = "S|2026-03-22T19:32:19.050Z|1234567890"
    assert list(new_message("system", "", mid)) == ["type", "content", "id"]
    assert list(new_message("human", "hi", mid, additional_kwargs={})) == ["type", "content", "id"]
    ai = new_message(
        "ai", "", mid, tool_calls=[{"id": "c1", "type": "tool_call", "args": {}, "name": "t"}]
    )
    assert list(ai) == ["type", "content", "id", "tool_calls"]
    assert list(ai["tool_calls"][0]) == ["name", "args", "id", "type"]
    tool = new_message(
        "tool",
        "input validated",
        mid,
        additional_kwargs={"stopTool": True},
        tool_call_id="c1",
        name="t",
    )
    assert list(tool) == [
        "type",
        "content",
        "id",
        "additional_kwargs",
        "tool_call_id",
        "status",
        "name",
    ]
    assert tool["status"] == "success"
    assert new_message("ai", {"a": 1}, mid)["content"] == {"a": 1}
    assert new_message("ai", ({"type": "text", "text": "x"},), mid)["content"] == [
        {"type": "text", "text": "x"}
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"type": "bot"},
        {"type": "human", "tool_calls": [{"name": "t", "args": {}, "id": "1"}]},
        {"type": "ai", "tool_call_id": "x"},
        {"type": "tool"},
        {"type": "tool", "tool_call_id": "x", "name": "t", "status": "failed"},
        {"type": "ai", "tool_calls": [{"name": "t"}]},
    ],
)
def test_new_message_refuses_misfits(kwargs: dict[str, Any]) -> None:
    kind = kwargs.pop("type")
    with pytest.raises(SessionDocumentError):
        new_message(kind, "", "S|x", **kwargs)


@pytest.mark.parametrize("path", sample_params())
def test_builders_reproduce_every_sample_entry(path: Path) -> None:
    """Rebuilding each step and message of a real document gives the same keys in the same order."""
    doc = load(path.read_bytes())
    layout = detect_layout(doc)
    for flow in doc["flows"]:
        for step in flow["steps"]:
            rebuilt = new_step(
                step["name"],
                active=step["isActive"],
                state=step["state"],
                layout=layout,
                model_name=step.get("modelName"),
                model_params_name=step.get("modelParamsName"),
                model_params=step.get("modelParams"),
                temperature=step.get("temperature", -1),
            )
            assert dumps(rebuilt) == dumps(step)
        for ns in flow["memory"]:
            for message in ns["history"]:
                fields = {k: v for k, v in message.items() if k not in ("type", "content", "id")}
                rebuilt = new_message(message["type"], message["content"], message["id"], **fields)
                assert dumps(rebuilt) == dumps(message)
        empty = new_flow(
            flow["name"], flow["steps"], layout, context_config=flow["context"]["config"]
        )
        assert list(empty) == list(flow)
    shell = new_session(
        doc["id"], now=doc["createdOn"], flow_name=None, expire_after=doc["expireAfter"]
    )
    assert list(shell) == list(doc)
