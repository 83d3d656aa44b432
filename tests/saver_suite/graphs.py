"""Small real graphs and the scenarios played on them by ``tests/test_pregel.py``.

Every builder takes a checkpointer and returns a freshly compiled graph; builders hold
no shared mutable state (the scripted chat model is re-created per build), so the run
against the saver under test and the reference run are deterministic and identical.
All messages produced here carry explicit ids; only ``ToolMessage`` ids are assigned
randomly by LangGraph and are normalised by :mod:`tests.saver_suite.compare`.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Durability, Send, StateSnapshot, interrupt
from typing_extensions import TypedDict

from tests.saver_suite.compare import (
    GetHistory,
    GetState,
    Invoke,
    Observation,
    Scenario,
    UpdateState,
    View,
    history_entry,
    subgraph_namespace,
)

__all__ = [
    "SCENARIOS",
    "ScriptedChatModel",
    "build_agent",
    "build_chat_with_error",
    "build_delta",
    "build_interrupt",
    "build_linear",
    "build_parallel",
    "build_parallel_interrupts",
    "build_review_pipeline",
    "build_subgraph",
]

Graph = CompiledStateGraph[Any, Any, Any, Any]
Saver = BaseCheckpointSaver[Any]


def _final_value(
    observations: Sequence[Observation], kind: str = "GetState", thread: str = "t1"
) -> Any:
    """Return the value of the last ``kind`` observation on ``thread`` (the epilogue's)."""
    for obs in reversed(observations):
        _, step_kind, step_thread, *_ = obs.label.split(" ")
        if step_kind == kind and step_thread == f"thread={thread}":
            return obs.value
    raise AssertionError(f"no {kind} observation on {thread}")


def _meta(snapshot: StateSnapshot) -> dict[str, Any]:
    """``snapshot.metadata`` as a plain dict (it is typed optional)."""
    assert snapshot.metadata is not None, "every stored checkpoint must have metadata"
    return dict(snapshot.metadata)


def _history(observations: Sequence[Observation]) -> list[StateSnapshot]:
    value = _final_value(observations, "GetHistory")
    assert isinstance(value, list)
    return value


# ---------------------------------------------------------------------------
# a. tool-calling agent (langchain.agents.create_agent + scripted model)
# ---------------------------------------------------------------------------


class ScriptedChatModel(GenericFakeChatModel):
    """``GenericFakeChatModel`` that accepts ``bind_tools`` (the script already decides
    which tool calls to make, so binding is a no-op)."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self


@tool(response_format="content_and_artifact")
def multiply(a: int, b: int) -> tuple[str, dict[str, int]]:
    """Multiply two integers."""
    # content_and_artifact: the ToolMessage carries an artifact dict, one more field
    # that must survive storage.
    return str(a * b), {"a": a, "b": b, "product": a * b}


def _usage(inp: int, out: int) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
        "input_token_details": {"cache_read": 1},
        "output_token_details": {"reasoning": 2},
    }


def _agent_script() -> list[AIMessage]:
    """The model's replies for the three agent turns, in order."""
    meta = {"model_name": "scripted-1", "finish_reason": "stop", "logprobs": None}
    return [
        # turn 1: two parallel tool calls, then an answer
        AIMessage(
            content="",
            id="ai-1",
            tool_calls=[
                {"name": "multiply", "args": {"a": 6, "b": 7}, "id": "call-1"},
                {"name": "multiply", "args": {"a": 2, "b": 3}, "id": "call-2"},
            ],
            usage_metadata=_usage(12, 7),  # type: ignore[arg-type]
            response_metadata={**meta, "finish_reason": "tool_calls", "latency_s": 0.25},
            additional_kwargs={"reasoning": {"steps": ["split", "call"]}},
        ),
        AIMessage(
            content="6*7=42 and 2*3=6",
            id="ai-2",
            usage_metadata=_usage(40, 9),  # type: ignore[arg-type]
            response_metadata=meta,
        ),
        # turn 2: one tool call, then an answer with structured (list) content
        AIMessage(
            content="",
            id="ai-3",
            tool_calls=[{"name": "multiply", "args": {"a": 5, "b": 5}, "id": "call-3"}],
            usage_metadata=_usage(60, 4),  # type: ignore[arg-type]
            response_metadata={**meta, "finish_reason": "tool_calls"},
        ),
        AIMessage(
            content=[
                {"type": "text", "text": "5*5=25"},
                {"type": "text", "text": " (\u00e9\u2713)"},
            ],
            id="ai-4",
            usage_metadata=_usage(70, 5),  # type: ignore[arg-type]
            response_metadata=meta,
        ),
        # turn 3: no tools
        AIMessage(
            content="You're welcome.",
            id="ai-5",
            usage_metadata=_usage(80, 3),  # type: ignore[arg-type]
            response_metadata=meta,
        ),
    ]


def build_agent(checkpointer: Saver) -> Graph:
    """A ``create_agent`` tool-calling loop driven by a fresh scripted model."""
    model = ScriptedChatModel(messages=iter(_agent_script()))
    return create_agent(model, [multiply], system_prompt="Be brief.", checkpointer=checkpointer)


def _check_agent(observations: Sequence[Observation], durability: Durability) -> None:
    messages: list[BaseMessage] = _final_value(observations).values["messages"]
    assert [m.id for m in messages if not isinstance(m, ToolMessage)] == [
        "h-1",
        "ai-1",
        "ai-2",
        "h-2",
        "ai-3",
        "ai-4",
        "h-3",
        "ai-5",
    ]
    by_id = {m.id: m for m in messages}
    first = by_id["ai-1"]
    assert isinstance(first, AIMessage)
    assert first.usage_metadata == _usage(12, 7)
    assert first.response_metadata["latency_s"] == 0.25
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.content) for m in tool_messages] == [
        ("call-1", "42"),
        ("call-2", "6"),
        ("call-3", "25"),
    ]
    assert tool_messages[0].artifact == {"a": 6, "b": 7, "product": 42}
    custom = observations[5].value
    assert custom, "metadata filter on config-provided keys must match the turn-2 checkpoints"
    assert all(_meta(s)["user"] == "alice" and _meta(s)["tenant"] == "acme" for s in custom)
    # turn 2 = input checkpoint at step 4, loop checkpoints 5..8 (only 8 under "exit")
    loop_steps, all_steps = ([8], [8]) if durability == "exit" else ([8, 7, 6, 5], [8, 7, 6, 5, 4])
    assert [_meta(s)["step"] for s in custom] == loop_steps
    assert [_meta(s)["step"] for s in observations[6].value] == all_steps


AGENT = Scenario(
    name="agent",
    build=build_agent,
    steps=(
        Invoke({"messages": [HumanMessage("What are 6*7 and 2*3?", id="h-1")]}),
        GetState(),
        Invoke(
            {"messages": [HumanMessage("And 5*5?", id="h-2")]},
            metadata={"user": "alice", "score": 3, "vip": True},
            configurable={"tenant": "acme"},
        ),
        Invoke({"messages": [HumanMessage("Thanks", id="h-3")]}),
        # list() through the runtime with metadata filters (standard and custom keys,
        # incl. ones the runtime copied from config) and a limit
        GetHistory(filter={"source": "input"}),
        GetHistory(filter={"user": "alice", "tenant": "acme", "source": "loop"}),
        GetHistory(filter={"score": 3, "vip": True}),
        GetHistory(limit=3),
    ),
    check=_check_agent,
)


# ---------------------------------------------------------------------------
# b. interrupt() inside a node, resumed with Command(resume=...)
# ---------------------------------------------------------------------------


class ReviewState(TypedDict, total=False):
    request: str
    draft: str
    verdict: dict[str, Any]
    log: Annotated[list[str], operator.add]


def _draft(state: ReviewState) -> dict[str, Any]:
    return {"draft": f"draft of {state['request']}", "log": ["drafted"]}


def _review(state: ReviewState) -> dict[str, Any]:
    # Two interrupts in one node: the second resume replays the node, so the first
    # answer must come back from the stored __resume__ writes.
    approved = interrupt({"question": "approve?", "draft": state["draft"]})
    note = interrupt({"question": "note?", "approved": approved})
    return {"verdict": {"approved": approved, "note": note}, "log": ["reviewed"]}


def _publish(state: ReviewState) -> dict[str, Any]:
    return {"log": [f"published={state['verdict']['approved']}"]}


def build_interrupt(checkpointer: Saver) -> Graph:
    """draft -> review (two interrupts) -> publish."""
    builder = StateGraph(ReviewState)
    builder.add_node("draft", _draft)
    builder.add_node("review", _review)
    builder.add_node("publish", _publish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    builder.add_edge("review", "publish")
    builder.add_edge("publish", END)
    return builder.compile(checkpointer=checkpointer)


def _check_interrupt(observations: Sequence[Observation], durability: Durability) -> None:
    first = observations[0].value
    assert first["__interrupt__"][0].value == {"question": "approve?", "draft": "draft of post"}
    waiting = observations[1].value
    assert isinstance(waiting, StateSnapshot)
    assert waiting.next == ("review",)
    assert waiting.tasks[0].interrupts[0].value["question"] == "approve?"
    # first answer stored; re-running "review" now stops at the second interrupt
    second = observations[2].value
    assert second["__interrupt__"][0].value == {"question": "note?", "approved": True}
    final = _final_value(observations)
    assert final.next == ()
    assert final.values["verdict"] == {"approved": False, "note": "second"}
    assert final.values["log"].count("published=True") == 1


INTERRUPT = Scenario(
    name="interrupt",
    build=build_interrupt,
    steps=(
        Invoke({"request": "post"}),
        GetState(),
        Invoke(Command(resume=True)),
        GetState(),
        Invoke(Command(resume="lgtm")),
        # second cycle on the same thread: new interrupts, older resume writes must
        # not leak into it
        Invoke({"request": "again"}),
        Invoke(Command(resume=False)),
        Invoke(Command(resume="second")),
    ),
    check=_check_interrupt,
)


# ---------------------------------------------------------------------------
# c. subgraph (checkpoint namespaces) with an interrupt inside the subgraph
# ---------------------------------------------------------------------------


class TopicState(TypedDict, total=False):
    topic: str
    log: Annotated[list[str], operator.add]
    # written once by the subgraph's output (plain last-value channel in the parent)
    notes: list[str]


class ChildState(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], operator.add]


def _build_child() -> Any:
    def research(state: ChildState) -> dict[str, Any]:
        return {"notes": [f"research {state['topic']}"]}

    def confirm(state: ChildState) -> dict[str, Any]:
        answer = interrupt({"confirm": state["topic"]})
        return {"notes": [f"confirmed {answer}"]}

    def write(state: ChildState) -> dict[str, Any]:
        return {"notes": ["written"]}

    child = StateGraph(ChildState)
    child.add_node("research", research)
    child.add_node("confirm", confirm)
    child.add_node("write", write)
    child.add_edge(START, "research")
    child.add_edge("research", "confirm")
    child.add_edge("confirm", "write")
    child.add_edge("write", END)
    # No checkpointer here: the subgraph inherits the parent's and stores its own
    # checkpoints under the namespace "child:<task id>".
    return child.compile()


def build_subgraph(checkpointer: Saver) -> Graph:
    """plan -> child(research -> confirm[interrupt] -> write) -> finish."""
    parent = StateGraph(TopicState)
    parent.add_node("plan", lambda s: {"log": ["planned"], "notes": []})
    parent.add_node("child", _build_child())
    parent.add_node("finish", lambda s: {"log": [f"finished with {len(s['notes'])} notes"]})
    parent.add_edge(START, "plan")
    parent.add_edge("plan", "child")
    parent.add_edge("child", "finish")
    parent.add_edge("finish", END)
    return parent.compile(checkpointer=checkpointer)


def _check_subgraph(observations: Sequence[Observation], durability: Durability) -> None:
    nested = observations[1].value
    assert isinstance(nested, StateSnapshot)
    (task,) = nested.tasks
    assert task.name == "child"
    assert isinstance(task.state, StateSnapshot), "subgraphs=True must expand the subgraph"
    assert task.state.next == ("confirm",)
    assert task.state.config["configurable"]["checkpoint_ns"].startswith("child:")
    assert task.state.tasks[0].interrupts[0].value == {"confirm": "llamas"}
    flat = observations[2].value
    assert isinstance(flat.tasks[0].state, dict), "subgraphs=False gives only a config"
    sub_history = observations[3].value
    assert sub_history, "the subgraph namespace must have its own history"
    assert sub_history[0].next == ("confirm",)
    done = observations[6].value
    assert done.next == ()
    assert done.values["notes"] == ["research llamas", "confirmed yes", "written"]
    assert done.values["log"] == ["planned", "finished with 3 notes"]
    final = _final_value(observations)
    assert final.next == ("child",)
    assert final.tasks[0].state.values["notes"] == ["research alpacas"]


SUBGRAPH = Scenario(
    name="subgraph",
    build=build_subgraph,
    steps=(
        Invoke({"topic": "llamas"}),
        GetState(subgraphs=True),
        GetState(subgraphs=False),
        GetHistory(at=subgraph_namespace("child")),
        GetState(at=subgraph_namespace("child", with_checkpoint_id=True)),
        Invoke(Command(resume="yes")),
        GetState(subgraphs=True),
        Invoke({"topic": "alpacas"}),
        GetState(subgraphs=True),
    ),
    check=_check_subgraph,
)


# ---------------------------------------------------------------------------
# d. parallel branches: static fan-out + Send map step
# ---------------------------------------------------------------------------


class FanState(TypedDict, total=False):
    n: int
    fanout: Annotated[list[str], operator.add]
    squares: Annotated[list[int], operator.add]
    total: int


class SquareInput(TypedDict):
    x: int


def _map_squares(state: FanState) -> list[Send]:
    return [Send("square", {"x": i}) for i in range(1, state["n"] + 1)]


def build_parallel(checkpointer: Saver) -> Graph:
    """START -> (left || right) -> join -> Send(square) x n -> total."""
    builder = StateGraph(FanState)
    builder.add_node("left", lambda s: {"fanout": [f"left{s['n']}"]})
    builder.add_node("right", lambda s: {"fanout": [f"right{s['n']}"]})
    builder.add_node("join", lambda s: {"fanout": ["joined"]})

    def square(arg: SquareInput) -> dict[str, Any]:
        return {"squares": [arg["x"] * arg["x"]]}

    # the Send payload, not the graph state, is this node's input
    builder.add_node("square", square)  # type: ignore[arg-type]
    builder.add_node("total", lambda s: {"total": sum(s["squares"])})
    builder.add_edge(START, "left")
    builder.add_edge(START, "right")
    builder.add_edge(["left", "right"], "join")
    builder.add_conditional_edges("join", _map_squares, ["square"])
    builder.add_edge("square", "total")
    builder.add_edge("total", END)
    return builder.compile(checkpointer=checkpointer)


def _check_parallel(observations: Sequence[Observation], durability: Durability) -> None:
    final = _final_value(observations)
    assert final.values["squares"] == [1, 4, 9, 1, 4]
    assert final.values["total"] == 1 + 4 + 9 + 1 + 4
    assert sorted(final.values["fanout"][:2]) == ["left3", "right3"]
    history = _history(observations)
    if durability == "exit":
        # one checkpoint per run, nothing in between
        assert [_meta(s)["step"] for s in history] == [10, 4]
    else:
        assert any(s.next == ("left", "right") for s in history)
        assert any(s.next == ("square",) * 3 for s in history)


PARALLEL = Scenario(
    name="parallel",
    build=build_parallel,
    steps=(Invoke({"n": 3}), GetState(), Invoke({"n": 2})),
    check=_check_parallel,
)


# ---------------------------------------------------------------------------
# d2. two interrupts pending at once (parallel nodes), resumed by interrupt id
# ---------------------------------------------------------------------------


class ApprovalState(TypedDict, total=False):
    answers: Annotated[list[str], operator.add]


def build_parallel_interrupts(checkpointer: Saver) -> Graph:
    """START -> (ask_a || ask_b), both interrupting in the same super-step -> done."""

    def ask(name: str) -> Any:
        def node(state: ApprovalState) -> dict[str, Any]:
            return {"answers": [f"{name}={interrupt({'ask': name})}"]}

        return node

    builder = StateGraph(ApprovalState)
    builder.add_node("ask_a", ask("a"))
    builder.add_node("ask_b", ask("b"))
    builder.add_node("done", lambda s: {"answers": ["done"]})
    builder.add_edge(START, "ask_a")
    builder.add_edge(START, "ask_b")
    builder.add_edge(["ask_a", "ask_b"], "done")
    builder.add_edge("done", END)
    return builder.compile(checkpointer=checkpointer)


def _resume_only(name: str) -> Any:
    """Resume just the pending interrupt asked by ``name`` (ids differ per run)."""

    def make(view: View) -> Command[Any]:
        (target,) = [i for i in view.state.interrupts if i.value == {"ask": name}]
        return Command(resume={target.id: f"yes-{name}"})

    return make


def _check_parallel_interrupts(observations: Sequence[Observation], durability: Durability) -> None:
    both = observations[1].value
    assert sorted(i.value["ask"] for i in both.interrupts) == ["a", "b"]
    assert both.next == ("ask_a", "ask_b")
    half = observations[3].value
    # ask_b answered; its write is pending on the checkpoint, ask_a still waits
    assert [i.value for i in half.interrupts] == [{"ask": "a"}]
    final = _final_value(observations)
    assert final.values["answers"] == ["a=yes-a", "b=yes-b", "done"]


PARALLEL_INTERRUPTS = Scenario(
    name="parallel_interrupts",
    build=build_parallel_interrupts,
    steps=(
        Invoke({"answers": []}),
        GetState(),
        Invoke(None, input_from=_resume_only("b")),
        GetState(),
        Invoke(None, input_from=_resume_only("a")),
    ),
    check=_check_parallel_interrupts,
)


# ---------------------------------------------------------------------------
# e. update_state (with and without as_node), then continue
# ---------------------------------------------------------------------------


class CountState(TypedDict, total=False):
    count: int
    log: Annotated[list[str], operator.add]


def build_review_pipeline(checkpointer: Saver) -> Graph:
    """one -> two, with a static ``interrupt_before=["two"]`` breakpoint."""
    builder = StateGraph(CountState)
    builder.add_node("one", lambda s: {"count": s["count"] + 1, "log": ["one"]})
    builder.add_node("two", lambda s: {"count": s["count"] * 2, "log": ["two"]})
    builder.add_edge(START, "one")
    builder.add_edge("one", "two")
    builder.add_edge("two", END)
    return builder.compile(checkpointer=checkpointer, interrupt_before=["two"])


def _check_update_state(observations: Sequence[Observation], durability: Durability) -> None:
    paused = observations[1].value
    assert paused.next == ("two",)
    edited = observations[3].value
    assert edited.values == {"count": 10, "log": ["in", "one", "edited"]}
    assert edited.next == ("two",)
    assert edited.metadata["source"] == "update"
    final = _final_value(observations)
    # third turn: update_state(None, as_node="two") skipped node "two"
    assert final.next == ()
    assert final.values["count"] == 100
    history = _history(observations)
    assert [_meta(s)["source"] for s in history].count("update") == 3


UPDATE_STATE = Scenario(
    name="update_state",
    build=build_review_pipeline,
    steps=(
        Invoke({"count": 1, "log": ["in"]}),
        GetState(),
        UpdateState({"count": 10, "log": ["edited"]}, as_node="one"),
        GetState(),
        Invoke(None),
        # on a finished thread, without as_node (the last writer is inferred)
        UpdateState({"count": 99}),
        Invoke({"count": 99}),
        # pretend the paused node ran and wrote nothing: skips it
        UpdateState(None, as_node="two"),
        GetState(),
    ),
    check=_check_update_state,
)


# ---------------------------------------------------------------------------
# f. time travel: replay from an older checkpoint and fork via update_state
# ---------------------------------------------------------------------------


class TrailState(TypedDict, total=False):
    value: int
    trail: Annotated[list[str], operator.add]


def build_linear(checkpointer: Saver) -> Graph:
    """n1 -> n2 -> n3, each appending to ``trail``."""
    builder = StateGraph(TrailState)
    for name in ("n1", "n2", "n3"):

        def node(state: TrailState, _name: str = name) -> dict[str, Any]:
            return {"trail": [f"{_name}:{state['value']}"], "value": state["value"] + 1}

        builder.add_node(name, node)
    builder.add_edge(START, "n1")
    builder.add_edge("n1", "n2")
    builder.add_edge("n2", "n3")
    builder.add_edge("n3", END)
    return builder.compile(checkpointer=checkpointer)


def _check_time_travel(observations: Sequence[Observation], durability: Durability) -> None:
    replayed = observations[2].value
    forked = observations[4].value
    if durability == "exit":
        # only run-final checkpoints exist: "replay" of the end of run 1 runs nothing,
        # the fork (as if n2 wrote it) runs n3 only
        assert replayed["trail"] == ["n1:1", "n2:2", "n3:3"]
        assert forked["trail"] == ["n1:1", "n2:2", "n3:3", "fork", "n3:50"]
    else:
        # replay from "before n2" of the first run re-runs n2 and n3
        assert replayed["trail"] == ["n1:1", "n2:2", "n3:3"]
        assert forked["trail"] == ["n1:1", "fork", "n3:50"]
    history = _history(observations)
    parents = [
        (s.parent_config or {}).get("configurable", {}).get("checkpoint_id") for s in history
    ]
    # the fork (and replay) branch off older checkpoints: some parent has two children
    assert len(parents) != len(set(parents))


# Time-travel targets: the checkpoint before n2 / n3 of the FIRST run; with
# durability="exit" only the end of the first run exists, hence the fallback.
_FIRST_RUN_END = history_entry(lambda s: s.values.get("trail") == ["n1:1", "n2:2", "n3:3"])
_BEFORE_N2 = history_entry(lambda s: s.next == ("n2",), lambda s: s.values.get("value") == 4)
_BEFORE_N3 = history_entry(lambda s: s.next == ("n3",), lambda s: s.values.get("value") == 4)

TIME_TRAVEL = Scenario(
    name="time_travel",
    build=build_linear,
    steps=(
        Invoke({"value": 1}),
        Invoke({"value": 10}),
        Invoke(None, at=_BEFORE_N2),
        UpdateState({"trail": ["fork"], "value": 50}, as_node="n2", at=_BEFORE_N2),
        Invoke(None),
        GetState(at=_BEFORE_N3),
        GetState(at=_FIRST_RUN_END),
        GetHistory(before=history_entry(lambda s: _meta(s)["source"] == "update"), limit=3),
    ),
    check=_check_time_travel,
)


# ---------------------------------------------------------------------------
# g. DeltaChannel: state rebuilt from ancestor writes, snapshots every 3 updates
# ---------------------------------------------------------------------------


def extend(state: list[str], writes: Sequence[list[str]]) -> list[str]:
    """Batching-invariant list-extend reducer (what DeltaChannel requires)."""
    return [*state, *itertools.chain.from_iterable(writes)]


class DeltaState(TypedDict, total=False):
    turn: int
    items: Annotated[list[str], DeltaChannel(extend, snapshot_frequency=3)]


def build_delta(checkpointer: Saver) -> Graph:
    """produce -> (echo_a || echo_b): three DeltaChannel writes per turn."""
    builder = StateGraph(DeltaState)
    builder.add_node("produce", lambda s: {"items": [f"t{s['turn']}"]})
    builder.add_node("echo_a", lambda s: {"items": [f"a{len(s['items'])}"]})
    builder.add_node("echo_b", lambda s: {"items": [f"b{len(s['items'])}"]})
    builder.add_edge(START, "produce")
    builder.add_edge("produce", "echo_a")
    builder.add_edge("produce", "echo_b")
    builder.add_edge("echo_a", END)
    builder.add_edge("echo_b", END)
    return builder.compile(checkpointer=checkpointer)


def _check_delta(observations: Sequence[Observation], durability: Durability) -> None:
    last_turn = observations[3].value
    # 4 turns x (t, a, b); items must be reconstructed from writes + snapshots
    assert len(last_turn["items"]) == 12
    assert last_turn["items"][:6] == ["t1", "a1", "b1", "t2", "a4", "b4"]
    history = _history(observations)
    counters = [_meta(s).get("counters_since_delta_snapshot") for s in history]
    assert any(counters), "DeltaChannel metadata counters must be stored"
    # Every historical state is rebuilt too, and consistently with its parent: with an
    # append-only reducer a child's items extend its parent's (replay and fork included).
    by_id = {s.config["configurable"]["checkpoint_id"]: s for s in history}
    linked = 0
    for snap in history:
        parent_id = (snap.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        if parent_id in by_id:
            parent_items = by_id[parent_id].values.get("items", [])
            assert snap.values["items"][: len(parent_items)] == parent_items
            linked += 1
    assert linked >= 4
    final = _final_value(observations)
    assert final.next == ()
    assert final.values["turn"] == 9
    assert "forked" in final.values["items"]
    assert final.values["items"][-3:-1] == ["t9", f"a{len(final.values['items']) - 2}"]


_MID_TURN_2 = history_entry(
    lambda s: s.values.get("turn") == 2 and s.next == ("echo_a", "echo_b"),
    lambda s: s.values.get("turn") == 2,
)
_BEFORE_PRODUCE_3 = history_entry(
    lambda s: s.values.get("turn") == 3 and s.next == ("produce",),
    lambda s: s.values.get("turn") == 3,
)

DELTA = Scenario(
    name="delta_channel",
    build=build_delta,
    steps=(
        *(Invoke({"turn": turn}) for turn in range(1, 5)),
        GetState(),
        GetHistory(limit=4),
        # replay from the middle of turn 2, then fork before "produce" of turn 3
        Invoke(None, at=_MID_TURN_2),
        GetState(at=_MID_TURN_2),
        UpdateState({"items": ["forked"]}, as_node="produce", at=_BEFORE_PRODUCE_3),
        Invoke({"turn": 9}),
    ),
    check=_check_delta,
)


# ---------------------------------------------------------------------------
# h. MessagesState chat with custom channels and a failing node
# ---------------------------------------------------------------------------


class ChatState(MessagesState):
    word_counts: dict[str, int]
    turns: int
    # Python values beyond JSON (set, datetime, Decimal, UUID, bytes, big ints, astral
    # unicode): a lossless store must give them back with their types.  No tuple: the
    # default JsonPlusSerializer itself returns tuples as lists, so the reference does.
    profile: dict[str, Any]


def _profile(turns: int) -> dict[str, Any]:
    return {
        "pair": [turns, "x"],
        "tags": {"a", "b"},
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "price": Decimal("1.10"),
        "ref": UUID("12345678-1234-5678-1234-567812345678"),
        "raw": b"\x00\xffbytes",
        "nested": [{"k": None, "f": 1.5, "big": 2**62, "text": "\u00e9\u2603\U0001f600"}],
    }


class BoomError(ValueError):
    """Raised by the chat graph when asked to."""


def _respond(state: ChatState) -> dict[str, Any]:
    text = str(state["messages"][-1].content)
    if text == "boom":
        raise BoomError("boom requested", 42)
    turns = state.get("turns", 0) + 1
    counts = dict(state.get("word_counts", {}))
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    reply = AIMessage(
        content=f"echo: {text}",
        id=f"bot-{turns}",
        usage_metadata={"input_tokens": turns, "output_tokens": 1, "total_tokens": turns + 1},
        response_metadata={"model_name": "echo", "n": turns, "scores": [0.5, 1.0]},
    )
    return {
        "messages": [reply],
        "word_counts": counts,
        "turns": turns,
        "profile": _profile(turns),
    }


def build_chat_with_error(checkpointer: Saver) -> Graph:
    """respond -> audit over ``MessagesState`` + a dict channel + an int channel."""
    builder = StateGraph(ChatState)
    builder.add_node("respond", _respond)
    builder.add_node("audit", lambda s: {"word_counts": {**s["word_counts"], "_audited": 1}})
    builder.add_edge(START, "respond")
    builder.add_edge("respond", "audit")
    builder.add_edge("audit", END)
    return builder.compile(checkpointer=checkpointer)


def _check_chat(observations: Sequence[Observation], durability: Durability) -> None:
    raised = observations[1].value["raised"]
    assert isinstance(raised, BoomError)
    failed = observations[2].value
    assert failed.next == ("respond",)
    error = failed.tasks[0].error
    assert error is not None and "boom requested" in str(error)
    final = _final_value(observations)
    assert final.values["turns"] == 2
    assert final.values["word_counts"] == {"hello": 1, "world": 1, "again": 1, "_audited": 1}
    assert final.values["messages"][-1].response_metadata["scores"] == [0.5, 1.0]
    assert final.values["profile"] == _profile(2)
    other = _final_value(observations, thread="t2")
    assert [m.id for m in other.values["messages"]] == ["v-1", "bot-1"]
    assert other.values["turns"] == 1


CHAT_ERROR = Scenario(
    name="chat_error",
    build=build_chat_with_error,
    steps=(
        Invoke({"messages": [HumanMessage("hello world", id="u-1")]}),
        Invoke({"messages": [HumanMessage("boom", id="u-2")]}, expect_error=BoomError),
        GetState(),
        Invoke({"messages": [HumanMessage("again", id="u-3")]}),
        # a second thread on the same saver stays isolated
        Invoke({"messages": [HumanMessage("other thread", id="v-1")]}, thread="t2"),
    ),
    check=_check_chat,
)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        AGENT,
        INTERRUPT,
        SUBGRAPH,
        PARALLEL,
        PARALLEL_INTERRUPTS,
        UPDATE_STATE,
        TIME_TRAVEL,
        DELTA,
        CHAT_ERROR,
    )
}
