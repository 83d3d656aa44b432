"""Bad flow definitions fail at compile time with typed errors, never mid-conversation."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolCall

from langgraph_picoflow.errors import PicoflowError
from langgraph_picoflow.flow import (
    ActiveStepError,
    EndStep,
    Flow,
    FlowDefinitionError,
    LogicStep,
    MissingHandlerError,
    ModelError,
    NamespaceError,
    Script,
    ScriptedChatModel,
    Step,
    StepNameError,
    Tool,
    ToolDefinitionError,
    Transition,
    UnknownStepError,
    check_namespace,
    go,
    tool,
)

MODELS = {"m": ScriptedChatModel(script=Script())}


def compile_flow(steps: list[Step], **kwargs: Any) -> Any:
    kwargs.setdefault("models", MODELS)
    return Flow(steps, name="Bad", **kwargs).compile()


class PaymentStep(Step):
    """Declared here but left out of the flows below."""


class Cart(Step):
    @tool
    def checkout(self, call: ToolCall) -> Transition:
        """Check out."""
        return go(PaymentStep)


def test_unknown_target_class() -> None:
    with pytest.raises(UnknownStepError) as info:
        compile_flow([Cart(active=True), EndStep()])
    assert "Bad.Cart: checkout: go(PaymentStep) names no step" in str(info.value)
    assert info.value.flow == "Bad" and info.value.step == "Cart"
    compile_flow([Cart(active=True), PaymentStep()])  # declared: fine


def test_unknown_target_name_returned_by_a_handler() -> None:
    class Router(Step):
        @tool
        def route(self, call: ToolCall) -> str:
            """Route."""
            return "Nowhere"

    with pytest.raises(UnknownStepError, match="return 'Nowhere'"):
        compile_flow([Router(active=True)])


def test_unknown_targets_in_hooks_and_logic() -> None:
    class Hop(LogicStep):
        def run_logic(self) -> Transition:
            return go("Missing").with_state({"x": 1})

    class Nested(Step):
        def on_enter(self) -> None:
            self.run_step(PaymentStep)

    with pytest.raises(UnknownStepError, match="run_logic: go\\('Missing'\\)"):
        compile_flow([Hop(active=True), EndStep()])
    with pytest.raises(UnknownStepError, match="on_enter: run_step\\(PaymentStep\\)"):
        compile_flow([Nested(active=True)])


def test_unknown_target_in_a_handlers_mapping() -> None:
    def leave(step: Step, call: ToolCall) -> Transition:
        return go("Exit")

    step = Step("Desk", active=True, tools=[Tool("leave", "Leave", {"type": "object"})])
    step.add_tool(Tool("stay", "Stay", {"type": "object"}), lambda s, c: None)
    step._handlers["leave"] = leave
    with pytest.raises(UnknownStepError, match="leave: go\\('Exit'\\)"):
        compile_flow([step])


def test_two_active_steps() -> None:
    with pytest.raises(ActiveStepError, match="A, B are all declared active"):
        compile_flow([Step("A", active=True), Step("B", active=True)])


def test_no_active_step_starts_with_the_first() -> None:
    flow = Flow([Step("A"), Step("B")], name="Ok", models=MODELS)
    flow.compile()
    assert flow.initial_step == "A"


def test_tool_without_handler() -> None:
    step = Step("Desk", active=True, tools=[Tool("book", "Book a room", {"type": "object"})])
    with pytest.raises(MissingHandlerError, match="tool 'book' has no handler"):
        compile_flow([step])


def test_tool_answered_by_a_same_named_method() -> None:
    class Desk(Step):
        def book(self, call: ToolCall) -> None:
            return None

    compile_flow([Desk(active=True, tools=[Tool("book", "Book", {"type": "object"})])])


def test_helper_methods_never_answer_tools() -> None:
    step = Step("Desk", active=True, tools=[Tool("save_state", "Sneaky", {"type": "object"})])
    with pytest.raises(MissingHandlerError):
        compile_flow([step])


@pytest.mark.parametrize("namespace", ["", "a.b", "$set", " padded", "tab\there", "x" * 256])
def test_namespace_picoflow_refuses(namespace: str) -> None:
    with pytest.raises(NamespaceError):
        compile_flow([Step("A", active=True).use_memory(namespace)])
    with pytest.raises(NamespaceError):
        check_namespace(namespace)


@pytest.mark.parametrize("name", ["Hello Step", "Hello|Step", "a:b", "1Step", "turn", "memory"])
def test_step_names_that_cannot_be_nodes(name: str) -> None:
    with pytest.raises(StepNameError):
        compile_flow([Step(name, active=True)])


def test_duplicate_step_names() -> None:
    with pytest.raises(StepNameError, match="two steps are named 'A'"):
        compile_flow([Step("A", active=True), Step("A")])


def test_unregistered_model() -> None:
    with pytest.raises(ModelError, match="model 'gpt-9' is not registered"):
        compile_flow([Step("A", active=True).use_model("gpt-9")])
    with pytest.raises(ModelError, match="no model is registered"):
        compile_flow([Step("A", active=True)], models={})


def test_logic_only_flow_needs_no_model() -> None:
    class Loop(LogicStep):
        def run_logic(self) -> Transition:
            return go("Loop")

    compile_flow([Loop(active=True)], models={})


def test_bad_tool_definitions() -> None:
    with pytest.raises(ToolDefinitionError, match="tool name 'book room'"):
        compile_flow([Step("A", active=True, tools=[Tool("book room", "x", {"type": "object"})])])
    with pytest.raises(ToolDefinitionError, match="must describe an object"):
        compile_flow([Step("A", active=True, tools=[Tool("t", "x", {"type": "string"})])])

    class Both(Step):
        structured_output = {"type": "object", "properties": {}}

        @tool
        def t(self, call: ToolCall) -> None:
            """T."""

    with pytest.raises(ToolDefinitionError, match="structured output"):
        compile_flow([Both(active=True)])


def test_every_definition_error_is_a_picoflow_error() -> None:
    for cls in (
        UnknownStepError,
        ActiveStepError,
        MissingHandlerError,
        NamespaceError,
        StepNameError,
        ModelError,
        ToolDefinitionError,
    ):
        assert issubclass(cls, FlowDefinitionError)
        assert issubclass(cls, PicoflowError)


def test_errors_come_before_any_conversation() -> None:
    """``compile`` raises; nothing is invoked, no model is called."""
    script = Script()
    with pytest.raises(UnknownStepError):
        Flow(
            [Cart(active=True)], name="Shop", models={"m": ScriptedChatModel(script=script)}
        ).compile()
    assert script.calls == []
