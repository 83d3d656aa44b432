"""Tests for langgraph_picoflow.messages: LangChain message <-> Picoflow history entry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    HumanMessageChunk,
    RemoveMessage,
    SystemMessage,
    SystemMessageChunk,
    ToolMessage,
    ToolMessageChunk,
)

from langgraph_picoflow.errors import SessionDocumentError
from langgraph_picoflow.messages import (
    METADATA_KEY,
    PICOFLOW_ID_RE,
    UnsupportedMessageError,
    from_entry,
    from_history,
    is_picoflow_id,
    to_entry,
    to_history,
)
from tests.samples import SKIP_REASON, sample_params, sample_paths

NEW_ID = "NewStep|2026-01-02T03:04:05.678Z|1234567890"
OTHER_ID = "OtherStep|1999-12-31T23:59:59.999Z|9999999999"
SPEC_ORDER = ["type", "content", "id", "additional_kwargs", "tool_calls"]
TOOL_ORDER = ["type", "content", "id", "additional_kwargs", "tool_call_id", "status", "name"]


def _history(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for f, flow in enumerate(document["flows"]):
        for m, memory in enumerate(flow["memory"]):
            for h, entry in enumerate(memory["history"]):
                yield f"flows[{f}].memory[{m}].history[{h}]", entry


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _assert_round_trip(
    message: BaseMessage, *, shape: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check message -> (entry, sidecar) -> message, also through a JSON store.

    ``shape=False`` skips the key-order checks, for messages read from unusual entries, which
    are written back as they were.
    """
    entry, sidecar = to_entry(message, entry_id=NEW_ID)
    back = from_entry(entry, sidecar)
    assert type(back) is type(message)
    assert back == message
    stored = from_entry(json.loads(_dumps(entry)), json.loads(_dumps(sidecar)))
    assert stored == message
    assert type(stored) is type(message)
    if shape:
        order = TOOL_ORDER if entry["type"] == "tool" else SPEC_ORDER
        assert list(entry) == [key for key in order if key in entry]
        assert is_picoflow_id(entry["id"])
    assert to_entry(back, entry_id=NEW_ID) == (entry, sidecar)
    return entry, sidecar


# --- the real documents ---------------------------------------------------------------------


@pytest.mark.parametrize("sample", sample_params())
def test_every_sample_entry_round_trips_exactly(sample: Path) -> None:
    document = json.loads(sample.read_text(encoding="utf-8"))
    seen = 0
    for path, entry in _history(document):
        message = from_entry(entry, path=path)
        again, sidecar = to_entry(message, entry_id=NEW_ID, path=path)
        assert _dumps(again) == _dumps(entry), path
        assert sidecar == {}, path
        assert message.id == entry["id"]
        _assert_round_trip(message)
        seen += 1
    assert seen > 0


def test_sample_kinds_map_to_the_expected_messages() -> None:
    if not sample_paths():
        pytest.skip(SKIP_REASON)
    kinds: set[str] = set()
    for sample in sample_paths():
        for _, entry in _history(json.loads(sample.read_text(encoding="utf-8"))):
            message = from_entry(entry)
            kinds.add(type(message).__name__)
            assert message.additional_kwargs == entry.get("additional_kwargs", {})
            if entry["type"] == "tool":
                assert isinstance(message, ToolMessage)
                assert (message.tool_call_id, message.status, message.name) == (
                    entry["tool_call_id"],
                    entry["status"],
                    entry["name"],
                )
            if entry.get("tool_calls"):
                assert isinstance(message, AIMessage)
                assert [call["type"] for call in message.tool_calls] == ["tool_call"] * len(
                    entry["tool_calls"]
                )
            if isinstance(entry["content"], dict):
                assert json.loads(str(message.content)) == entry["content"]
                assert message.response_metadata == {METADATA_KEY: {"content": "object"}}
    assert kinds == {"SystemMessage", "HumanMessage", "AIMessage", "ToolMessage"}


# --- hand cases -----------------------------------------------------------------------------


def test_picoflow_id_format() -> None:
    assert is_picoflow_id("HelloStep|2025-11-14T22:29:37.260Z|9083744487")
    assert PICOFLOW_ID_RE.match(NEW_ID)
    for bad in (
        None,
        12,
        "",
        str(uuid.uuid4()),
        "Step|2025-11-14T22:29:37Z|9083744487",
        "Step|2025-11-14T22:29:37.260Z|908374448",
        "Step|2025-11-1\u0664T22:29:37.260Z|9083744487",  # an Arabic-Indic digit
        "|2025-11-14T22:29:37.260Z|9083744487",
        "Step|2025-11-14T22:29:37.260Z|9083744487\n",
        "A|B|2025-11-14T22:29:37.260Z|1000000000",
    ):
        assert not is_picoflow_id(bad), bad


def test_ai_text_keeps_picoflow_id_and_omits_empty_kwargs() -> None:
    message = AIMessage(content="Hello", id=OTHER_ID)
    entry, sidecar = _assert_round_trip(message)
    assert entry == {"type": "ai", "content": "Hello", "id": OTHER_ID}
    assert sidecar == {}


@pytest.mark.parametrize("original_id", [None, str(uuid.uuid4()), "lc_run--abc", ""])
def test_foreign_ids_are_replaced_and_kept_in_sidecar(original_id: str | None) -> None:
    entry, sidecar = _assert_round_trip(HumanMessage(content="hi", id=original_id))
    assert entry["id"] == NEW_ID
    assert sidecar == {"id": original_id}


def test_ai_with_everything_langchain_has() -> None:
    message = AIMessage(
        content="",
        id="run-1",
        name="assistant",
        tool_calls=[
            {"name": "search", "args": {"q": "x", "deep": {"a": [1, 2.5, None, True]}}, "id": "c1"},
            {"name": "noop", "args": {}, "id": None},
        ],
        invalid_tool_calls=[{"name": "bad", "args": "{oops", "id": "c2", "error": "bad json"}],
        usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 17},
        response_metadata={"model_name": "gpt-x", "finish_reason": "tool_calls"},
        additional_kwargs={"refusal": None, "tool_calls": [{"id": "c1", "type": "function"}]},
    )
    entry, sidecar = _assert_round_trip(message)
    assert entry == {
        "type": "ai",
        "content": "",
        "id": NEW_ID,
        "tool_calls": [
            {"name": "search", "args": {"q": "x", "deep": {"a": [1, 2.5, None, True]}}, "id": "c1"},
            {"name": "noop", "args": {}, "id": None},
        ],
    }
    assert set(sidecar) == {
        "id",
        "name",
        "invalid_tool_calls",
        "usage_metadata",
        "response_metadata",
        "additional_kwargs",
    }


def test_tool_calls_with_text_and_list_content() -> None:
    blocks: list[str | dict[str, Any]] = [{"type": "text", "text": "Let me check."}, "raw"]
    message = AIMessage(
        content=blocks, id=OTHER_ID, tool_calls=[{"name": "t", "args": {}, "id": "1"}]
    )
    entry, sidecar = _assert_round_trip(message)
    assert entry["content"] == blocks
    assert sidecar == {}


def test_object_content_becomes_compact_json_text_and_back() -> None:
    entry = {"type": "ai", "content": {"z": 1, "a": {"é": [1.5, None]}, "m": "x"}, "id": OTHER_ID}
    message = from_entry(entry)
    assert message.content == '{"z":1,"a":{"é":[1.5,null]},"m":"x"}'
    assert message.text == message.content
    assert to_entry(message, entry_id=NEW_ID) == (entry, {})
    assert list(to_entry(message, entry_id=NEW_ID)[0]["content"]) == ["z", "a", "m"]
    _assert_round_trip(message)


def test_object_marker_on_text_that_is_not_compact_json_stays_text() -> None:
    for text in ('{"a": 1}', "[1]", "not json", '{"a":NaN}', '{"a":1,"a":2}'):
        message = AIMessage(content=text, response_metadata={METADATA_KEY: {"content": "object"}})
        entry, sidecar = _assert_round_trip(message)
        assert entry["content"] == text
        assert sidecar["response_metadata"] == {METADATA_KEY: {"content": "object"}}


def test_object_content_with_provider_metadata() -> None:
    message = AIMessage(
        content='{"a":[]}',
        id=OTHER_ID,
        response_metadata={METADATA_KEY: {"content": "object"}, "model": "m"},
    )
    entry, sidecar = _assert_round_trip(message)
    assert entry["content"] == {"a": []}
    assert sidecar == {"response_metadata": {METADATA_KEY: {"content": "object"}, "model": "m"}}


def test_picoflow_flags_go_to_entry_provider_kwargs_to_sidecar() -> None:
    message = AIMessage(
        content="x", id=OTHER_ID, additional_kwargs={"reasoning": "r", "direct": True}
    )
    entry, sidecar = _assert_round_trip(message)
    assert entry["additional_kwargs"] == {"direct": True}
    assert sidecar == {"additional_kwargs": {"reasoning": "r", "direct": True}}
    human = HumanMessage(content="Start", id=OTHER_ID, additional_kwargs={"direct": False})
    assert _assert_round_trip(human)[0]["additional_kwargs"] == {"direct": False}


def test_tool_message_error_status_artifact_and_name() -> None:
    message = ToolMessage(
        content="Cannot accept",
        tool_call_id="call-1",
        status="error",
        name="capture_name",
        artifact={"rows": [1, 2]},
        additional_kwargs={"stopTool": True},
        id=OTHER_ID,
    )
    entry, sidecar = _assert_round_trip(message)
    assert entry == {
        "type": "tool",
        "content": "Cannot accept",
        "id": OTHER_ID,
        "additional_kwargs": {"stopTool": True},
        "tool_call_id": "call-1",
        "status": "error",
        "name": "capture_name",
    }
    assert sidecar == {"artifact": {"rows": [1, 2]}}
    nameless = ToolMessage(content=[{"type": "text", "text": "ok"}], tool_call_id="c", id=OTHER_ID)
    entry, sidecar = _assert_round_trip(nameless)
    assert entry["name"] == "" and sidecar["name"] is None  # Picoflow always names tools


def test_human_with_name_and_system() -> None:
    assert _assert_round_trip(HumanMessage(content="hi", name="alice", id=OTHER_ID))[1] == {
        "name": "alice"
    }
    entry, sidecar = _assert_round_trip(SystemMessage(content="", id=OTHER_ID))
    assert (entry, sidecar) == ({"type": "system", "content": "", "id": OTHER_ID}, {})


def test_pydantic_extra_fields_ride_in_sidecar() -> None:
    message = HumanMessage(content="hi", id=OTHER_ID, custom={"k": [1]})
    assert _assert_round_trip(message)[1] == {"custom": {"k": [1]}}


@pytest.mark.parametrize(
    "message",
    [
        AIMessageChunk(
            content="par",
            id="run-9",
            tool_call_chunks=[
                {"name": "f", "args": '{"a": 1', "id": "c", "index": 0, "type": "tool_call_chunk"}
            ],
        ),
        AIMessageChunk(
            content="",
            tool_calls=[{"name": "a", "args": {"x": 1}, "id": "1"}],
            invalid_tool_calls=[
                {"name": "b", "args": "{}", "id": "2", "error": None, "type": "invalid_tool_call"}
            ],
            chunk_position="last",
        ),
        HumanMessageChunk(content="h"),
        SystemMessageChunk(content="s"),
        ToolMessageChunk(content="t", tool_call_id="c"),
    ],
    ids=lambda m: type(m).__name__,
)
def test_chunks_are_kept_with_their_class(message: BaseMessage) -> None:
    entry, sidecar = _assert_round_trip(message)
    assert sidecar["class"] == type(message).__name__
    assert type(from_entry(entry)) is not type(message)


def test_tool_calls_parsed_from_additional_kwargs_do_not_come_back_twice() -> None:
    raw = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]
    message = AIMessage(content="", id=OTHER_ID, additional_kwargs={"tool_calls": raw})
    message.tool_calls = []  # a caller dropped the calls the validator parsed
    _assert_round_trip(message)


# --- unusual entries are written back untouched ---------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "human", "content": "hi", "id": OTHER_ID, "timestamp": "2026-01-01T00:00:00Z"},
        {"type": "human", "content": "hi", "id": OTHER_ID, "additional_kwargs": {}},
        {"type": "human", "content": "hi", "id": OTHER_ID, "additional_kwargs": {"x": 1}},
        {"id": OTHER_ID, "type": "system", "content": "p"},
        {"type": "ai", "content": "", "id": OTHER_ID, "tool_calls": []},
        {
            "type": "ai",
            "content": "",
            "id": OTHER_ID,
            "tool_calls": [{"name": "f", "args": {}, "id": "1", "type": "tool_call"}],
        },
        {"type": "ai", "content": "", "id": OTHER_ID, "tool_calls": [{"name": "f", "args": {}}]},
        {"type": "ai", "content": {"a": 1}, "id": "not-a-picoflow-id"},
        {"type": "tool", "content": "ok", "id": OTHER_ID, "tool_call_id": "c"},
        {
            "type": "tool",
            "content": "ok",
            "id": OTHER_ID,
            "tool_call_id": "c",
            "status": "error",
            "name": "n",
            "extra": [1, {"b": None}],
        },
    ],
)
def test_unusual_entries_round_trip_exactly(entry: dict[str, Any]) -> None:
    message = from_entry(entry)
    assert to_entry(message, entry_id=NEW_ID) == (entry, {})
    assert _dumps(to_entry(message, entry_id=NEW_ID)[0]) == _dumps(entry)
    stored = from_entry(json.loads(_dumps(entry)))
    assert stored == message


def test_changed_message_from_unusual_entry_is_written_canonically() -> None:
    entry = {"type": "human", "content": "hi", "id": OTHER_ID, "timestamp": "t"}
    message = from_entry(entry).model_copy(update={"content": "edited"})
    new_entry, sidecar = _assert_round_trip(message)
    assert new_entry == {"type": "human", "content": "edited", "id": OTHER_ID}
    assert sidecar == {"response_metadata": {METADATA_KEY: {"entry": entry}}}


def test_entry_values_are_not_aliased_into_the_hint() -> None:
    entry: dict[str, Any] = {"type": "human", "content": "hi", "id": OTHER_ID, "x": {"y": 1}}
    message = from_entry(entry)
    entry["x"]["y"] = 2
    assert to_entry(message, entry_id=NEW_ID)[0]["x"] == {"y": 1}


# --- errors ---------------------------------------------------------------------------------


def test_extra_field_named_class_is_refused() -> None:
    # "class" is the sidecar's own key, so such a message could not be told apart on reading.
    with pytest.raises(UnsupportedMessageError):
        to_entry(HumanMessage(content="x", **{"class": "AIMessageChunk"}), entry_id=NEW_ID)


class MyAIMessage(AIMessage):
    """A user subclass: refused, since its behaviour could not be restored."""


@pytest.mark.parametrize(
    "message",
    [
        ChatMessage(content="x", role="critic", id="m1"),
        FunctionMessage(content="x", name="f", id="m1"),
        RemoveMessage(id="m1"),
        MyAIMessage(content="x", id="m1"),
    ],
    ids=lambda m: type(m).__name__,
)
def test_unsupported_messages_are_refused(message: BaseMessage) -> None:
    with pytest.raises(UnsupportedMessageError) as info:
        to_entry(message, entry_id=NEW_ID, path="h[0]")
    assert type(message).__name__ in str(info.value)
    assert "m1" in str(info.value)
    assert info.value.problems[0].path == "h[0]"
    assert isinstance(info.value, SessionDocumentError)


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        ({"type": "function", "content": "x", "id": OTHER_ID}, "p.type"),
        ({"content": "x", "id": OTHER_ID}, "p.type"),
        ({"type": "tool", "content": "x", "id": OTHER_ID}, "p.tool_call_id"),
        ({"type": "ai", "content": 3, "id": OTHER_ID}, "p.content"),
        ({"type": "ai", "id": OTHER_ID}, "p.content"),
        ({"type": "ai", "content": ["ok", 3], "id": OTHER_ID}, "p.content[1]"),
        ({"type": "ai", "content": "x", "id": 5}, "p.id"),
        (
            {"type": "ai", "content": "x", "id": OTHER_ID, "additional_kwargs": []},
            "p.additional_kwargs",
        ),
        ({"type": "ai", "content": "", "id": OTHER_ID, "tool_calls": {}}, "p.tool_calls"),
        (
            {
                "type": "ai",
                "content": "",
                "id": OTHER_ID,
                "tool_calls": [{"name": "f", "args": []}],
            },
            "p.tool_calls[0].args",
        ),
        (
            {"type": "ai", "content": "", "id": OTHER_ID, "tool_calls": [{"args": {}}]},
            "p.tool_calls[0].name",
        ),
        ({"type": "ai", "content": "", "id": OTHER_ID, "tool_calls": ["x"]}, "p.tool_calls[0]"),
        (
            {"type": "tool", "content": "x", "id": OTHER_ID, "tool_call_id": "c", "status": "ok"},
            "p.status",
        ),
        (
            {"type": "tool", "content": "x", "id": OTHER_ID, "tool_call_id": "c", "name": 1},
            "p.name",
        ),
        ({"type": "ai", "content": {"a": float("nan")}, "id": OTHER_ID}, "p.content"),
        ("not an entry", "p"),
    ],
)
def test_malformed_entries_name_the_field(entry: Any, where: str) -> None:
    with pytest.raises(SessionDocumentError) as info:
        from_entry(entry, path="p")
    assert where in [problem.path for problem in info.value.problems]
    assert not isinstance(info.value, UnsupportedMessageError)


def test_every_problem_is_reported() -> None:
    with pytest.raises(SessionDocumentError) as info:
        from_entry({"type": "tool", "content": 1, "id": None, "status": "?"})
    assert [p.path for p in info.value.problems] == ["content", "id", "tool_call_id", "status"]


def test_bad_sidecars() -> None:
    entry = {"type": "ai", "content": "x", "id": OTHER_ID}
    for sidecar in ({"class": "ToolMessageChunk"}, {"class": "ChatMessage"}, {"class": 3}):
        with pytest.raises(SessionDocumentError, match=r"sidecar\.class"):
            from_entry(entry, sidecar, path="p")
    with pytest.raises(SessionDocumentError, match=r"cannot build an? AIMessage"):
        from_entry(entry, {"usage_metadata": "lots"})


@pytest.mark.parametrize(
    ("message", "where"),
    [
        (
            ToolMessage(content="x", tool_call_id="c", artifact=[Document(page_content="d")]),
            "p.sidecar.artifact[0]",
        ),
        (
            AIMessage(
                content="", tool_calls=[{"name": "f", "args": {"v": float("inf")}, "id": "1"}]
            ),
            "p.tool_calls[0].args.v",
        ),
        (AIMessage(content="x", response_metadata={1: "a"}), "p.sidecar.response_metadata"),
        (
            HumanMessage(content="x", additional_kwargs={"direct": (1, 2)}),
            "p.additional_kwargs.direct",
        ),
    ],
)
def test_non_json_values_are_refused(message: BaseMessage, where: str) -> None:
    with pytest.raises(SessionDocumentError) as info:
        to_entry(message, entry_id=NEW_ID, path="p")
    assert info.value.problems[0].path == where


def test_generated_entry_id_must_be_a_picoflow_id() -> None:
    with pytest.raises(SessionDocumentError, match="not a Picoflow message id"):
        to_entry(HumanMessage(content="x"), entry_id="oops", path="p")
    assert to_entry(HumanMessage(content="x", id=OTHER_ID), entry_id="unused")[0]["id"] == OTHER_ID


# --- history helpers ------------------------------------------------------------------------


def test_history_helpers() -> None:
    calls: list[str] = []

    def new_id(message: BaseMessage) -> str:
        calls.append(str(message.content))
        return f"Step|2026-01-01T00:00:00.000Z|{1000000000 + len(calls)}"

    messages = [
        SystemMessage(content="s", id=OTHER_ID),
        HumanMessage(content="h"),
        AIMessage(content="a", id="run-1"),
    ]
    entries, sidecars = to_history(messages, new_entry_id=new_id)
    assert calls == ["h", "a"]
    assert [e["id"] for e in entries][1:] == [
        "Step|2026-01-01T00:00:00.000Z|1000000001",
        "Step|2026-01-01T00:00:00.000Z|1000000002",
    ]
    assert from_history(entries, sidecars) == messages
    assert [m.id for m in from_history(entries)] == [e["id"] for e in entries]
    with pytest.raises(SessionDocumentError):
        from_history(entries, sidecars[:1])
    with pytest.raises(SessionDocumentError) as info:
        from_history([entries[0], {"type": "x"}], path="flows[0].memory[0].history")
    assert info.value.problems[0].path == "flows[0].memory[0].history[1].type"
    with pytest.raises(UnsupportedMessageError) as refused:
        to_history([RemoveMessage(id="r")], new_entry_id=new_id, path="h")
    assert refused.value.problems[0].path == "h[0]"


@pytest.mark.parametrize(
    ("message", "path"),
    [
        (
            AIMessage("x", response_metadata={"a\x00b": 1}),
            "h[0].sidecar.response_metadata.a\x00b",
        ),
        (HumanMessage("a\ud800b"), "h[0].content"),
        (
            HumanMessage("x", additional_kwargs={"k": ["ok", "\udfff"]}),
            "h[0].sidecar.additional_kwargs.k[1]",
        ),
    ],
    ids=["nul-in-key", "lone-surrogate", "nested-surrogate"],
)
def test_text_no_store_can_hold_is_refused_with_its_path(message: BaseMessage, path: str) -> None:
    with pytest.raises(SessionDocumentError) as refused:
        to_history([message], new_entry_id=lambda _: NEW_ID, path="h")
    assert refused.value.problems[0].path == path


# --- properties -----------------------------------------------------------------------------

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ["", "\x00", "a\x00b", "é😀\u2028", '{"a":1}', "{}"]
)
#: Object keys: any text but NUL, which no store can keep in a key (BSON), so it is refused.
keys = texts.filter(lambda t: "\x00" not in t)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(keys, json_values, max_size=4)
picoflow_ids = st.builds(
    lambda step, stamp, number: (
        f"{step}|{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z|{number}"
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="|"), min_size=1, max_size=12),
    st.datetimes(),
    st.integers(min_value=10**9, max_value=10**10 - 1),
)
message_ids = st.none() | picoflow_ids | st.uuids().map(str) | texts
blocks = st.one_of(
    texts,
    st.builds(lambda t: {"type": "text", "text": t}, texts),
    st.builds(lambda u: {"type": "image", "url": u, "extras": {"k": 1}}, texts),
    json_objects,
)
contents = texts | st.lists(blocks, max_size=4)
kwargs = st.dictionaries(
    st.sampled_from(["direct", "stopTool", "refusal", "reasoning_content"]) | keys,
    json_values,
    max_size=3,
)
names = st.none() | texts
extras = st.dictionaries(st.sampled_from(["custom", "trace", "x_y"]), json_values, max_size=2)
tool_calls = st.lists(
    st.builds(
        lambda n, a, i: {"name": n, "args": a, "id": i}, texts, json_objects, st.none() | texts
    ),
    max_size=3,
)


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    etype = draw(st.sampled_from(["system", "human", "ai", "tool"]))
    entry: dict[str, Any] = {
        "type": etype,
        "content": draw(texts | st.lists(blocks, max_size=3) | json_objects),
        "id": draw(picoflow_ids | texts),
    }
    if draw(st.booleans()):
        entry["additional_kwargs"] = draw(
            st.dictionaries(st.sampled_from(["direct", "stopTool"]), st.booleans(), min_size=1)
            | kwargs
        )
    if etype == "ai" and draw(st.booleans()):
        entry["tool_calls"] = draw(tool_calls)
    if etype == "tool":
        entry["tool_call_id"] = draw(texts)
        if draw(st.integers(0, 4)):
            entry["status"] = draw(st.sampled_from(["success", "error"]))
        if draw(st.integers(0, 4)):
            entry["name"] = draw(names)
    if draw(st.integers(0, 3)) == 0:
        unknown = ["timestamp", "extra"] + ([] if etype == "tool" else ["name", "tool_call_id"])
        entry[draw(st.sampled_from(unknown))] = draw(json_values)
    if draw(st.integers(0, 3)) == 0:
        order = draw(st.permutations(list(entry)))
        entry = {key: entry[key] for key in order}
    return entry


metadata = (
    st.dictionaries(keys, json_values, max_size=3)
    | st.just({METADATA_KEY: {"content": "object"}})
    | st.builds(lambda e: {METADATA_KEY: {"entry": e}}, entries())
)
invalid_calls = st.lists(
    st.builds(
        lambda n, a, i, e: {"name": n, "args": a, "id": i, "error": e},
        names,
        names,
        names,
        names,
    ),
    max_size=2,
)
call_chunks = st.lists(
    st.builds(
        lambda n, a, i, x: {"name": n, "args": a, "id": i, "index": x},
        names,
        st.none() | texts | json_objects.map(json.dumps),
        names,
        st.none() | st.integers(0, 3),
    ),
    max_size=3,
)
usage = st.none() | st.builds(
    lambda i, o, t: {"input_tokens": i, "output_tokens": o, "total_tokens": t},
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
)


def _common(**more: Any) -> dict[str, Any]:
    return {
        "content": contents,
        "id": message_ids,
        "name": names,
        "additional_kwargs": kwargs,
        "response_metadata": metadata,
        **more,
    }


def _message(cls: type[BaseMessage], **fields: Any) -> st.SearchStrategy[BaseMessage]:
    return st.builds(lambda e, f: cls(**f, **e), extras, st.fixed_dictionaries(fields))


messages = st.one_of(
    _message(SystemMessage, **_common()),
    _message(HumanMessage, **_common()),
    _message(
        AIMessage,
        **_common(tool_calls=tool_calls, invalid_tool_calls=invalid_calls, usage_metadata=usage),
    ),
    _message(
        ToolMessage,
        **_common(
            tool_call_id=texts,
            status=st.sampled_from(["success", "error"]),
            artifact=json_values,
        ),
    ),
    _message(AIMessageChunk, **_common(tool_calls=tool_calls, usage_metadata=usage)),
    _message(AIMessageChunk, **_common(tool_call_chunks=call_chunks)),
    _message(ToolMessageChunk, **_common(tool_call_id=texts)),
    _message(HumanMessageChunk, **_common()),
    # structured output, as from_entry makes it
    st.builds(
        lambda obj, mid: AIMessage(
            content=json.dumps(obj, ensure_ascii=False, separators=(",", ":")),
            id=mid,
            response_metadata={METADATA_KEY: {"content": "object"}},
        ),
        json_objects,
        message_ids,
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_property_message_round_trip(message: BaseMessage) -> None:
    entry, _ = _assert_round_trip(message)
    assert json.loads(_dumps(entry)) == entry


@settings(max_examples=400, deadline=None)
@given(entries())
def test_property_entry_round_trip_is_exact(entry: dict[str, Any]) -> None:
    message = from_entry(entry)
    again, sidecar = to_entry(message, entry_id=NEW_ID)
    assert _dumps(again) == _dumps(entry)
    assert sidecar == {}
    assert from_entry(json.loads(_dumps(entry))) == message
    _assert_round_trip(message, shape=False)
