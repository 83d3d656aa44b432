"""Compile-time checks of a flow: every definition error surfaces before a conversation.

>>> check_namespace("travelPlan")
>>> check_namespace("a.b")
Traceback (most recent call last):
...
langgraph_picoflow.flow._errors.NamespaceError: memory namespace 'a.b' ...
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from langgraph_picoflow.flow._errors import (
    ActiveStepError,
    FlowDefinitionError,
    MissingHandlerError,
    ModelError,
    NamespaceError,
    StepNameError,
    ToolDefinitionError,
    UnknownStepError,
)
from langgraph_picoflow.flow._step import LogicStep, Step
from langgraph_picoflow.flow._targets import step_references

if TYPE_CHECKING:
    from langgraph_picoflow.flow._flow import Flow

#: Step names: identifiers, as Picoflow's (class names) are; no ``|`` (the message-id
#: separator) and no ``:`` (LangGraph's namespace separator) can then occur.
STEP_NAME_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,127}\Z")


def check_namespace(name: object, flow: str = "", step: str = "") -> None:
    """Raise ``NamespaceError`` unless Picoflow can store a memory namespace called ``name``.

    A namespace is a non-empty string of at most 255 characters without control characters
    or surrounding spaces; it may not start with ``$`` nor contain ``.``: Picoflow 1.1 keys
    ``memory`` by namespace, and MongoDB refuses such field names.
    """
    problem = None
    if not isinstance(name, str) or not name:
        problem = "must be a non-empty string"
    elif len(name) > 255:
        problem = "is longer than 255 characters"
    elif name != name.strip() or any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "has surrounding spaces or control characters"
    elif name.startswith("$") or "." in name:
        problem = "starts with '$' or contains '.' (not a MongoDB field name)"
    if problem:
        raise NamespaceError(f"memory namespace {name!r} {problem}", flow, step)


def _step_functions(step: Step) -> list[tuple[str, Callable[..., Any], bool]]:
    """``(label, function, returns names)`` for the code a step brings (not the library's)."""
    from langgraph_picoflow.flow._end import EndStep

    library = {Step, LogicStep, EndStep, object}
    tools = {t.name for t in step.define_tools()}
    out: list[tuple[str, Callable[..., Any], bool]] = []
    for klass in type(step).__mro__:
        if klass in library:
            continue
        for attr, value in vars(klass).items():
            function = getattr(value, "__func__", value)
            if callable(function) and not isinstance(function, type):
                out.append((attr, function, attr in tools or attr == "run_logic"))
    for name, function in step._handlers.items():
        out.append((name, function, True))
    return out


def validate(flow: Flow, reserved: frozenset[str]) -> str:
    """Check ``flow``; return its initial step's name. Raises a ``FlowDefinitionError``."""
    steps = flow.steps
    if not steps:
        raise FlowDefinitionError("a flow needs at least one step", flow.name)
    seen: set[str] = set()
    for step in steps:
        if not isinstance(step, Step):
            raise FlowDefinitionError(f"{step!r} is not a Step", flow.name)
        if not isinstance(step.name, str) or not STEP_NAME_RE.match(step.name):
            raise StepNameError(
                f"step name {step.name!r} must be an identifier (letters, digits, _)", flow.name
            )
        if step.name in reserved:
            raise StepNameError(f"step name {step.name!r} is reserved by the graph", flow.name)
        if step.name in seen:
            raise StepNameError(f"two steps are named {step.name!r}", flow.name)
        seen.add(step.name)
        check_namespace(step.namespace, flow.name, step.name)
    active = [s.name for s in steps if s.active]
    if len(active) > 1:
        raise ActiveStepError(
            f"steps {', '.join(active)} are all declared active; exactly one may be", flow.name
        )
    for step in steps:
        _check_model(flow, step)
        _check_tools(flow, step)
        _check_targets(flow, step)
    return active[0] if active else steps[0].name


def _check_model(flow: Flow, step: Step) -> None:
    if step.is_logic():
        return
    name = step.model_name or flow.default_model
    if name is None:
        raise ModelError("no model is registered for this step", flow.name, step.name)
    if name not in flow.models:
        known = ", ".join(flow.models) or "none"
        raise ModelError(
            f"model {name!r} is not registered (registered: {known})", flow.name, step.name
        )


def _check_tools(flow: Flow, step: Step) -> None:
    if step.is_logic() and not callable(getattr(step, "run_logic", None)):
        raise FlowDefinitionError("a logic step needs run_logic()", flow.name, step.name)
    specs = step.define_tools()
    names = [t.name for t in specs]
    for spec in specs:
        spec.check(flow.name, step.name)
        if names.count(spec.name) > 1:
            raise ToolDefinitionError(f"tool {spec.name!r} is defined twice", flow.name, step.name)
        if step.handler_for(spec.name) is None:
            raise MissingHandlerError(
                f"tool {spec.name!r} has no handler (a method named {spec.name}, @tool, or "
                "handlers=)",
                flow.name,
                step.name,
            )
    if specs and step.structured_output_schema() is not None and not step.is_end():
        raise ToolDefinitionError(
            "a step with structured output cannot also offer tools (the model binds one)",
            flow.name,
            step.name,
        )


def _check_targets(flow: Flow, step: Step) -> None:
    for label, function, returns_names in _step_functions(step):
        for text, ref in step_references(function, returns_names=returns_names):
            try:
                flow.resolve(ref)
            except UnknownStepError:
                raise UnknownStepError(
                    f"{label}: {text} names no step of the flow (steps: "
                    f"{', '.join(s.name for s in flow.steps)})",
                    flow.name,
                    step.name,
                ) from None
