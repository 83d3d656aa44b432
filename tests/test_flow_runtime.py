"""Runtime behaviour of flows, turn by turn, against RUNTIME.md and SCHEMA.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import ToolCall
from pydantic import BaseModel

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.flow import (
    HALLUCINATED,
    NUDGE,
    EndStep,
    Flow,
    LogicStep,
    Script,
    ScriptedChatModel,
    Step,
    Transition,
    direct,
    go,
    reply,
    stay,
    tool,
)

SID = "6b0000000000000000000001"


@pytest.fixture
def saver() -> Iterator[PicoflowSaver]:
    with PicoflowSaver.from_conn_string("memory://") as opened:
        yield opened


def run(
    saver: PicoflowSaver,
    steps: list[Step],
    script: Script,
    messages: list[str | None],
    **flow_kwargs: Any,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run ``messages`` as turns of a fresh session; return the outputs and the document."""
    flow_kwargs.setdefault("retry_delay", 0)
    flow = Flow(
        steps, name="TestFlow", models={"m": ScriptedChatModel(script=script)}, **flow_kwargs
    )
    graph = flow.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": SID}}
    outs = [graph.invoke({"message": m}, config) for m in messages]
    document = saver.get_session(SID)
    assert document is not None
    return outs, pdoc.load(document)


def history(document: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    for space in document["flows"][0]["memory"]:
        if space["nameSpace"] == namespace:
            return list(space["history"])
    raise AssertionError(f"no namespace {namespace!r}")


def brief(entries: list[dict[str, Any]]) -> list[tuple[str, Any, str]]:
    """``(type, content, id prefix)`` of history entries."""
    return [(e["type"], e["content"], e["id"].split("|")[0]) for e in entries]


def call(tool_name: str, call_id: str = "c1", **args: Any) -> dict[str, Any]:
    return {"name": tool_name, "args": args, "id": call_id}


def steps_by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in document["flows"][0]["steps"]}


class Ask(Step):
    prompt = "Ask the user's name."

    @tool(schema={"type": "object", "properties": {"name": {"type": "string"}}})
    def capture_name(self, call: ToolCall) -> Transition:
        """Capture the name."""
        self.save_state({"name": call["args"]["name"]})
        return go(EndStep)


# -- the model call -----------------------------------------------------------------------


def test_system_prompt_replaced_and_ids_prefixed(saver: PicoflowSaver) -> None:
    script = Script([reply("Hello!", usage=(5, 2, 7)), reply("Hi Ann", usage=(6, 2, 8))])
    outs, doc = run(saver, [Ask(active=True), EndStep()], script, ["Hi", "I'm Ann"])
    assert [o["reply"] for o in outs] == ["Hello!", "Hi Ann"]
    entries = history(doc, "Ask")
    assert brief(entries) == [
        ("system", "Ask the user's name.", "Ask"),
        ("human", "Hi", "Ask"),
        ("ai", "Hello!", "Ask"),
        ("human", "I'm Ann", "Ask"),
        ("ai", "Hi Ann", "Ask"),
    ]
    assert all(pdoc.parse_message_id(e["id"]) for e in entries)
    assert entries[1]["additional_kwargs"] == {"direct": False}
    assert "additional_kwargs" not in entries[2]
    # The model saw the system prompt first, then the conversation.
    assert [m.type for m in script.calls[1].messages] == ["system", "human", "ai", "human"]
    assert doc["tokens"] == {"inputTokens": 11, "outputTokens": 4, "totalTokens": 15}


def test_tokens_only_non_zero_fields(saver: PicoflowSaver) -> None:
    _, doc = run(
        saver, [Ask(active=True), EndStep()], Script([reply("ok", usage=(9, 0, 9))]), ["Hi"]
    )
    assert doc["tokens"] == {"inputTokens": 9, "totalTokens": 9}


def test_retry_logs_attempt_and_succeeds(saver: PicoflowSaver) -> None:
    script = Script([RuntimeError("503 overloaded"), reply("Hello!", usage=(5, 2, 7))])
    outs, doc = run(saver, [Ask(active=True), EndStep()], script, ["Hi"])
    assert outs[0]["reply"] == "Hello!"
    assert [w["message"] for w in doc["warn"]] == ["Attempt 1 of 3. Error:503 overloaded"]
    assert list(doc["warn"][0]) == ["timestamp", "level", "message"]
    assert doc["runStatus"] == "running"


def test_empty_answer_is_nudged_and_counted(saver: PicoflowSaver) -> None:
    script = Script(
        [reply("", usage=(5, 0, 5)), reply("", usage=(6, 0, 6)), reply("Hi!", usage=(7, 1, 8))]
    )
    outs, doc = run(saver, [Ask(active=True), EndStep()], script, ["Hello"])
    assert outs[0]["reply"] == "Hi!"
    assert brief(history(doc, "Ask"))[1:] == [
        ("human", "Hello", "Ask"),
        ("human", NUDGE, "Ask"),
        ("ai", "Hi!", "Ask"),
    ]
    assert [w["message"] for w in doc["warn"]] == [
        "Attempt 1 of 3. Error:the model returned an empty answer",
        "Attempt 2 of 3. Error:the model returned an empty answer",
    ]
    assert doc["tokens"] == {"inputTokens": 18, "outputTokens": 1, "totalTokens": 19}


def test_failing_turn_aborts_the_session(saver: PicoflowSaver) -> None:
    script = Script([RuntimeError("boom"), RuntimeError("boom")])
    outs, doc = run(saver, [Ask(active=True), EndStep()], script, ["Hi", "again?"], llm_retry=2)
    assert outs[0]["run_status"] == "aborted" and outs[0]["error"] == "RuntimeError: boom"
    assert doc["runStatus"] == "aborted"
    assert [e["message"] for e in doc["error"]] == ["boom"]
    assert len(doc["warn"]) == 2
    # What the turn did is kept (the user's message), and the session takes no more turns.
    assert brief(history(doc, "Ask"))[1] == ("human", "Hi", "Ask")
    assert outs[1]["reply"] is None and outs[1]["completed"] is True
    assert "again?" not in str(doc)


# -- tools --------------------------------------------------------------------------------


def test_tool_transition_to_end_step(saver: PicoflowSaver) -> None:
    script = Script([reply("", tool_calls=[call("capture_name", name="Ann")]), reply("Bye!")])
    outs, doc = run(saver, [Ask(active=True), EndStep()], script, ["I'm Ann"])
    assert outs[0] == {
        "reply": "Bye!",
        "completed": True,
        "content_type": "text/plain",
        "run_status": "completed",
        "error": None,
    }
    ask = history(doc, "Ask")
    assert [e["type"] for e in ask] == ["system", "human", "ai", "tool"]
    assert ask[2]["tool_calls"] == [{"name": "capture_name", "args": {"name": "Ann"}, "id": "c1"}]
    assert ask[3]["content"] == "input validated" and ask[3]["status"] == "success"
    assert ask[3]["additional_kwargs"] == {"stopTool": True}
    end = history(doc, "EndStep")
    assert brief(end)[1:] == [("human", "I'm done with chat", "EndStep"), ("ai", "Bye!", "EndStep")]
    assert end[0]["content"].startswith("\nNicely tell the user")
    assert doc["flows"][0]["sequence"] == ["Ask", "EndStep"]
    assert steps_by_name(doc)["EndStep"]["isActive"] is True


def test_tool_call_text_is_prepended_to_the_answer(saver: PicoflowSaver) -> None:
    class Stay(Step):
        @tool
        def note(self, call: ToolCall) -> None:
            """Take a note."""

    script = Script([reply("Let me note that.", tool_calls=[call("note")]), reply("Done.")])
    outs, doc = run(saver, [Stay(active=True)], script, ["remember milk"])
    assert outs[0]["reply"] == "Let me note that.\nDone."
    assert history(doc, "Stay")[2]["content"] == ""


def test_hallucinated_tool(saver: PicoflowSaver) -> None:
    script = Script([reply("", tool_calls=[call("launch_rocket")]), reply("Sorry.")])
    outs, doc = run(saver, [Ask(active=True), EndStep()], script, ["go"])
    assert outs[0]["reply"] == "Sorry."
    tool_entry = history(doc, "Ask")[3]
    assert tool_entry["content"] == HALLUCINATED.format("launch_rocket")
    assert [w["message"] for w in doc["warn"]] == ["hallucinated tool: launch_rocket"]


def test_feedback_stays_and_status_depends_on_layout(saver: PicoflowSaver) -> None:
    class Strict(Step):
        @tool
        def pick(self, call: ToolCall) -> Transition:
            """Pick."""
            return stay("Not allowed, choose again.", status="error")

    script = Script([reply("", tool_calls=[call("pick")]), reply("Choose again.")])
    _, doc = run(saver, [Strict(active=True)], script, ["x"])
    entry = history(doc, "Strict")[3]
    assert (entry["content"], entry["status"], entry["id"].split("|")[0]) == (
        "Not allowed, choose again.",
        "success",  # Picoflow 1.0.11+ writes success; "error" only in layout A0
        "Strict",
    )


def test_direct_reply_skips_the_model(saver: PicoflowSaver) -> None:
    class Lookup(Step):
        @tool
        def find(self, call: ToolCall) -> Transition:
            """Find."""
            return direct({"rooms": 2, "rate": 4.0})

    script = Script([reply("", tool_calls=[call("find")])])
    outs, doc = run(saver, [Lookup(active=True)], script, ["rooms?"])
    assert outs[0]["reply"] == '{"rooms":2,"rate":4}'
    last = history(doc, "Lookup")[-1]
    assert (
        last["additional_kwargs"] == {"direct": True} and last["content"] == '{"rooms":2,"rate":4}'
    )
    assert script.remaining == 0 and len(script.calls) == 1


def test_picoflow_object_spelling_and_destination_prefix(saver: PicoflowSaver) -> None:
    class Book(Step):
        @tool
        def book(self, call: ToolCall) -> dict[str, Any]:
            """Book."""
            return {"step": "Done", "tool": "Booked!", "state": {"ok": True}, "prompt": "Thank"}

    class Done(Step):
        pass

    script = Script([reply("", tool_calls=[call("book")]), reply("Thanks")])
    _, doc = run(saver, [Book(active=True), Done()], script, ["book it"])
    feedback = history(doc, "Book")[-1]
    assert feedback["content"] == "Booked!" and feedback["id"].startswith("Done|")
    done_state = steps_by_name(doc)["Done"]["state"]
    assert list(done_state) == ["_prompt", "_saveOn", "ok"]
    assert history(doc, "Done")[0]["content"] == "Thank"  # _prompt became the system prompt
    assert brief(history(doc, "Done"))[1] == ("human", "Start", "Done")


def test_human_message_from_a_handler_is_sent_on(saver: PicoflowSaver) -> None:
    class First(Step):
        @tool
        def hand_over(self, call: ToolCall) -> Transition:
            """Hand over."""
            return go("Second").with_message("Please continue in French")

    class Second(Step):
        pass

    script = Script([reply("", tool_calls=[call("hand_over")]), reply("D'accord")])
    outs, doc = run(saver, [First(active=True), Second()], script, ["go"])
    assert outs[0]["reply"] == "D'accord"
    assert brief(history(doc, "First"))[-1] == ("human", "Please continue in French", "First")
    assert brief(history(doc, "Second"))[1] == ("human", "Please continue in French", "Second")


def test_stop_tool_is_no_longer_offered(saver: PicoflowSaver) -> None:
    class Once(Step):
        @tool
        def greet(self, call: ToolCall) -> None:
            """Greet once."""
            self.stop_tool("greet")

        @tool
        def other(self, call: ToolCall) -> None:
            """Other."""

    script = Script([reply("", tool_calls=[call("greet")]), reply("Hello"), reply("Again")])
    _, doc = run(saver, [Once(active=True)], script, ["hi", "hi again"])
    names = [[t["function"]["name"] for t in c.tools] for c in script.calls]
    assert names == [["greet", "other"], ["other"], ["other"]]
    assert steps_by_name(doc)["Once"]["state"]["_stopTool"] == {"greet": True}


def test_content_type_of_the_reply(saver: PicoflowSaver) -> None:
    class Json(Step):
        @tool
        def export(self, call: ToolCall) -> Transition:
            """Export."""
            return stay().with_content_type("application/json").with_reply({"a": 1})

    script = Script([reply("", tool_calls=[call("export")])])
    outs, _ = run(saver, [Json(active=True)], script, ["export"])
    assert outs[0]["content_type"] == "application/json" and outs[0]["reply"] == '{"a":1}'


# -- steps ---------------------------------------------------------------------------------


def test_hooks_order_and_run_status(saver: PicoflowSaver) -> None:
    calls: list[str] = []

    class A(Step):
        def on_exit(self) -> None:
            calls.append("A.exit")

        @tool
        def next(self, call: ToolCall) -> type[Step]:
            """Next."""
            return B

    class B(Step):
        def on_enter(self) -> None:
            calls.append(f"B.enter status={self.turn.session['runStatus']}")
            self.save_state({"entered": True})

    script = Script([reply("", tool_calls=[call("next")]), reply("in B")])
    _, doc = run(saver, [A(active=True), B()], script, ["go"])
    assert calls == ["A.exit", "B.enter status=running"]
    assert list(steps_by_name(doc)["B"]["state"]) == ["entered", "_saveOn"]


def test_logic_steps_and_start_message(saver: PicoflowSaver) -> None:
    class Route(LogicStep):
        def run_logic(self) -> Transition:
            return go("Target").with_state({"routed": self.get_context("config.vip")})

    class Target(Step):
        pass

    flow = Flow(
        [Route(active=True).use_memory("shared"), Target().use_memory("shared")],
        name="Routing",
        models={"m": ScriptedChatModel(script=Script([reply("Welcome")]))},
    )
    graph = flow.compile(checkpointer=saver)
    out = graph.invoke({"config": {"vip": True}}, {"configurable": {"thread_id": SID}})
    assert out["reply"] == "Welcome"
    doc = pdoc.load(saver.get_session(SID))
    entries = history(doc, "shared")
    assert brief(entries) == [
        ("system", "", "Target"),
        ("ai", "Transition to step:Route", "Route"),
        ("ai", "Welcome", "Target"),
    ]
    assert entries[1]["additional_kwargs"] == {"direct": False}
    assert steps_by_name(doc)["Target"]["state"]["routed"] is True
    assert doc["flows"][0]["context"] == {"config": {"vip": True}}
    assert doc["flows"][0]["sequence"] == ["Route", "Target"]


def test_structured_output_and_on_response_step(saver: PicoflowSaver) -> None:
    class Idea(BaseModel):
        title: str
        rating: float

    class Generate(Step):
        structured_output = Idea

        def on_response(self, content: Any) -> Any:
            self.save_state({"idea": content})
            return content

    class Collect(Step):
        def on_response(self, content: Any) -> Any:
            return Generate if content == "go" else content

    script = Script([reply("go"), reply('{"title":"Galactic High","rating":7.8}')])
    outs, doc = run(saver, [Collect(active=True), Generate()], script, ["start"])
    assert outs[0]["reply"] == '{"title":"Galactic High","rating":7.8}'
    generated = history(doc, "Generate")
    assert generated[-1]["content"] == {"title": "Galactic High", "rating": 7.8}
    assert brief(history(doc, "Collect"))[-1] == ("human", "start", "Collect")  # "go" not kept
    assert steps_by_name(doc)["Generate"]["state"]["idea"] == {
        "title": "Galactic High",
        "rating": 7.8,
    }


def test_nested_run_step_with_message(saver: PicoflowSaver) -> None:
    class Parent(Step):
        @tool
        def ask_child(self, call: ToolCall) -> None:
            """Ask the child."""
            answer = self.run_step(Child, "Follow system prompt")
            self.save_state({"child": answer})

    class Child(Step):
        prompt = "Say a number."

    script = Script(
        [reply("", tool_calls=[call("ask_child")]), reply("42"), reply("The child says 42")]
    )
    outs, doc = run(saver, [Parent(active=True), Child().use_memory("separate")], script, ["ask"])
    assert outs[0]["reply"] == "The child says 42"
    assert brief(history(doc, "separate")) == [
        ("system", "Say a number.", "Child"),
        ("human", "Follow system prompt", "Child"),
        ("ai", "42", "Child"),
    ]
    assert doc["flows"][0]["sequence"] == ["Parent", "Child", "Parent"]
    assert steps_by_name(doc)["Parent"]["state"]["child"] == "42"
    assert steps_by_name(doc)["Parent"]["isActive"] is True


def test_chat_starts_a_new_session_after_the_end(saver: PicoflowSaver) -> None:
    script = Script([reply("", tool_calls=[call("capture_name", name="Ann")]), reply("Bye!")])
    flow = Flow(
        [Ask(active=True), EndStep()],
        name="TestFlow",
        models={"m": ScriptedChatModel(script=script)},
    )
    graph = flow.compile(checkpointer=saver)
    first = flow.chat(graph, "I'm Ann")
    assert first.completed and first.message == "Bye!"
    script.add(reply("Hello again"))
    second = flow.chat(graph, "Hi", first.session)
    assert second.session != first.session and second.message == "Hello again"
    assert second.error is None


def test_memory_writes_are_deltas(saver: PicoflowSaver) -> None:
    """A node's ``memory`` write carries only the new messages (plus index 0)."""
    script = Script([reply("one"), reply("two")])
    flow = Flow(
        [Ask(active=True), EndStep()],
        name="TestFlow",
        models={"m": ScriptedChatModel(script=script)},
    )
    graph = flow.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": SID}}
    graph.invoke({"message": "a"}, config)
    graph.invoke({"message": "b"}, config)
    writes = [
        value
        for snapshot in saver.list(config)
        for _, channel, value in snapshot.pending_writes or []
        if channel == "memory"
    ]
    assert len(writes) == 2  # one per turn, newest first
    (op,) = writes[0]
    namespace, head, keep, added = op
    assert (namespace, head.type, keep) == ("Ask", "system", 3)
    assert [m.content for m in added] == ["b", "two"]
    state = graph.get_state(config).values
    assert [m.content for m in state["memory"]["Ask"]][1:] == ["a", "one", "b", "two"]


@pytest.mark.parametrize("layout", ["A0", "A1", "B"])
def test_layouts_a_flow_can_write(saver: PicoflowSaver, layout: str) -> None:
    class Route(LogicStep):
        def run_logic(self) -> Transition:
            return go(Ask)

    script = Script([reply("", tool_calls=[call("capture_name", name="Ann")]), reply("Bye!")])
    steps = [Route(active=True).use_memory("default"), Ask().use_memory("default"), EndStep()]
    outs, doc = run(saver, steps, script, ["I'm Ann", "more?"], layout=layout)
    assert pdoc.detect_layout(doc) == layout
    flow = doc["flows"][0]
    keys = {s["name"]: list(s) for s in flow["steps"]}
    if layout == "B":
        assert keys["Route"] == [
            "name",
            "isActive",
            "state",
            "modelName",
            "modelParamsName",
            "modelParams",
        ]
        assert flow["sequence"] == ["Route", "Ask", "EndStep"]
    elif layout == "A1":
        assert keys["Route"] == ["name", "isActive", "state"]
        assert keys["Ask"] == ["name", "isActive", "state", "modelName", "temperature"]
        assert list(flow) == ["name", "memory", "steps", "context", "sequence", "temperature"]
    else:
        assert keys["Route"] == ["name", "isActive", "state", "modelName", "temperature"]
        assert list(flow) == ["name", "memory", "steps", "context", "temperature"]
    # A completed session takes no more turns (Picoflow starts a new one instead).
    assert outs[1]["reply"] is None and outs[1]["run_status"] == "completed"
    assert "more?" not in str(doc)


async def test_achat_and_flow_level_config() -> None:
    from langgraph_picoflow import AsyncPicoflowSaver

    class Greeter(Step):
        def get_prompt(self) -> str:
            return f"Greet {self.get_context('config.user', 'someone')}."

    script = Script([reply("Hello Ann")])
    flow = Flow(
        [Greeter(active=True)],
        name="Greeting",
        models={"m": ScriptedChatModel(script=script)},
        config={"user": "Ann"},
    )
    async with AsyncPicoflowSaver.from_conn_string("memory://") as saver:
        graph = flow.compile(checkpointer=saver)
        answer = await flow.achat(graph, "Hi")
        document = await saver.get_session(answer.session)
    assert answer.message == "Hello Ann" and not answer.completed
    assert script.calls[0].messages[0].content == "Greet Ann."
    assert document is not None and document["flows"][0]["context"] == {"config": {"user": "Ann"}}


def test_content_type_set_by_a_transition_survives_the_crossing(saver: PicoflowSaver) -> None:
    class Export(Step):
        @tool
        def export(self, call: ToolCall) -> Transition:
            """Export."""
            return go("Render").with_content_type("text/html")

    class Render(Step):
        pass

    script = Script([reply("", tool_calls=[call("export")]), reply("<p>done</p>")])
    outs, _ = run(saver, [Export(active=True), Render()], script, ["export"])
    assert outs[0]["reply"] == "<p>done</p>" and outs[0]["content_type"] == "text/html"
