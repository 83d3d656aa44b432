"""``Step`` and ``LogicStep``: the units of a flow, each a node of the compiled graph.

A step is defined once (a subclass, or an instance configured with fluent calls) and,
during a turn, works on a *bound copy* that reaches the session: its helpers
(``save_state``, ``get_state``, ``run_step``...) read and write that turn's document.
Overridable hooks follow Picoflow 1.0.x (``get_prompt``, ``define_tools``, ``get_tools``,
``on_enter``, ``on_exit``, ``on_crossing``, ``on_response``, ``structured_output_schema``,
``is_end``); tool handlers are methods named after their tool::

    >>> from langgraph_picoflow.flow import Step, EndStep, go, stay, tool
    >>> class HelloStep(Step):
    ...     prompt = "Ask the user for their name, then call capture_name."
    ...     @tool(schema={"type": "object", "properties": {"name": {"type": "string"}}})
    ...     def capture_name(self, call):
    ...         '''Capture the user's name.'''
    ...         if call["args"]["name"] == "John Doe":
    ...             return stay("Cannot accept John Doe, please choose a different name.")
    ...         self.save_state({"name": call["args"]["name"]})
    ...         return go(EndStep)
    >>> step = HelloStep(active=True).use_memory("default").use_model("gemini-2.5-flash")
    >>> step.name, step.namespace, step.model_name
    ('HelloStep', 'default', 'gemini-2.5-flash')
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, ToolCall
from pydantic import BaseModel

from langgraph_picoflow.flow import _state
from langgraph_picoflow.flow._errors import FlowRuntimeError
from langgraph_picoflow.flow._tools import Handler, Tool, declared_tools
from langgraph_picoflow.flow._transition import StepRef, Transition

if TYPE_CHECKING:
    from langgraph_picoflow.flow._runtime import Turn

#: Human message a step receives when entered without one (and with an empty namespace).
START = "Start"

StructuredSchema = type[BaseModel] | Mapping[str, Any]


class Step:
    """An LLM step: a system prompt, a model, tools, its own state and a memory namespace.

    Configure with class attributes (``prompt``, ``structured_output``, ``content_type``),
    constructor arguments, or fluent calls (``use_memory``, ``use_model``,
    ``use_model_params``, ``use_temperature``). ``name`` defaults to the class name and
    the namespace to the name; ``active=True`` marks the step a new session starts in.
    """

    #: Static system prompt (``get_prompt`` returns ``state._prompt`` first, then this).
    prompt: str | None = None
    #: Pydantic model or JSON schema for structured output (no tools are bound then).
    structured_output: StructuredSchema | None = None
    #: Content type of replies made in this step.
    content_type: str = "text/plain"

    def __init__(
        self,
        name: str | None = None,
        *,
        active: bool = False,
        prompt: str | None = None,
        memory: str | None = None,
        model: str | None = None,
        model_params: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        tools: list[Tool] | tuple[Tool, ...] = (),
        handlers: Mapping[str, Handler] | None = None,
        structured_output: StructuredSchema | None = None,
    ) -> None:
        self.name: str = name or type(self).__name__
        self.active = active
        if prompt is not None:
            self.prompt = prompt
        if structured_output is not None:
            self.structured_output = structured_output
        # Picoflow: memorySpace defaults to the class name, i.e. the step's name.
        self.namespace: str = memory or self.name
        self.model_name: str | None = model
        self.model_params: dict[str, Any] | None = (
            dict(model_params) if model_params is not None else None
        )
        self.temperature: float = -1 if temperature is None else temperature
        self._extra_tools = list(tools)
        self._handlers: dict[str, Handler] = dict(handlers or {})
        self._turn: Turn | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    # -- fluent configuration ----------------------------------------------------------
    def use_memory(self, namespace: str) -> Step:
        """Use memory namespace ``namespace`` (several steps may share one)."""
        self.namespace = namespace
        return self

    def use_model(self, name: str, params: Mapping[str, Any] | None = None) -> Step:
        """Use the registered model ``name`` with optional ``params`` (e.g. temperature)."""
        self.model_name = name
        if params is not None:
            self.model_params = dict(params)
        return self

    def use_model_params(self, params: Mapping[str, Any]) -> Step:
        """Model parameters for this step (recorded as ``modelParams`` in layout B)."""
        self.model_params = dict(params)
        return self

    def use_temperature(self, temperature: float) -> Step:
        """Sampling temperature (``-1``: the model's default; recorded in layouts A)."""
        self.temperature = temperature
        return self

    def add_tool(self, spec: Tool, handler: Handler | None = None) -> Step:
        """Offer ``spec``; ``handler(step, call)`` answers it unless a method of its name does."""
        self._extra_tools.append(spec)
        if handler is not None:
            self._handlers[spec.name] = handler
        return self

    # -- hooks (override) --------------------------------------------------------------
    def get_prompt(self) -> str | None:
        """The system prompt of the next model call: ``state._prompt``, else ``prompt``."""
        saved = self.get_state(_state.PROMPT)
        return saved if isinstance(saved, str) else self.prompt

    def define_tools(self) -> list[Tool]:
        """Every tool this step can offer (``@tool`` methods, then ``tools=``/``add_tool``)."""
        return [spec for spec, _ in declared_tools(type(self))] + list(self._extra_tools)

    def get_tools(self) -> list[str]:
        """Names of the tools offered now: all defined ones not stopped in ``_stopTool``."""
        stopped = self.get_stop_tool() if self._turn is not None else {}
        return [t.name for t in self.define_tools() if not stopped.get(t.name)]

    def get_stop_tool(self) -> dict[str, bool]:
        """``state._stopTool``: tools flagged ``True`` there are no longer offered."""
        value = self.get_state(_state.STOP_TOOL)
        return dict(value) if isinstance(value, Mapping) else {}

    def on_enter(self) -> None:
        """Called when the step becomes active."""

    def on_exit(self) -> None:
        """Called when the step stops being active."""

    def on_crossing(
        self, message: BaseMessage | None, prior: str | None
    ) -> BaseMessage | str | None:
        """The message to send when the conversation crosses into this step.

        ``message`` is the incoming message (re-prefixed for this step), ``prior`` the step
        it came from (``None`` when this step's namespace is empty or ends with its system
        prompt). The default passes ``message`` on and, when there is no message and no prior
        step, says ``"Start"``.
        """
        if message is None and prior is None:
            return START
        return message

    def on_response(self, content: Any) -> Any:
        """Post-process the model's answer; return the reply, or a step to go to instead."""
        return content

    def structured_output_schema(self) -> StructuredSchema | None:
        """Schema of the structured output, if the step wants one."""
        return self.structured_output

    def is_end(self) -> bool:
        """Whether reaching this step ends the conversation."""
        return False

    def is_logic(self) -> bool:
        """Whether this step runs code instead of a model."""
        return False

    def handler_for(self, tool_name: str) -> Callable[[ToolCall], Any] | None:
        """The callable answering ``tool_name``: ``handlers=``, ``@tool`` or a same-named method."""
        if tool_name in self._handlers:
            function = self._handlers[tool_name]
            return lambda call: function(self, call)
        for spec, attr in declared_tools(type(self)):
            if spec.name == tool_name:
                method: Callable[[ToolCall], Any] = getattr(self, attr)
                return method
        if tool_name in _BASE_ATTRS or tool_name.startswith("_"):
            return None  # never answer a tool with one of the step's own helpers
        found = getattr(self, tool_name, None)
        return found if callable(found) else None

    # -- helpers (during a turn) -------------------------------------------------------
    @property
    def turn(self) -> Turn:
        """The turn this bound copy works in (raises outside a turn)."""
        if self._turn is None:
            raise FlowRuntimeError(
                f"{self.name}: state and session helpers work only during a turn"
            )
        return self._turn

    @property
    def state(self) -> dict[str, Any]:
        """This step's state (read it; write through ``save_state``/``merge_state``)."""
        return self.turn.state_of(self.name)

    def save_state(self, update: Mapping[str, Any]) -> None:
        """Picoflow's ``saveState``: see :func:`langgraph_picoflow.flow.save_state`."""
        self.turn.save_state(self.name, update)

    def merge_state(self, update: Mapping[str, Any]) -> None:
        """Picoflow's ``mergeState``: deep merge in place, then ``_saveOn``."""
        self.turn.set_state(self.name, _state.merge_state(self.state, update, self.turn.now()))

    def remove_state(self, *keys: str) -> None:
        """Picoflow's ``removeState``: drop ``keys`` (``_saveOn`` untouched)."""
        self.turn.set_state(self.name, _state.remove_state(self.state, *keys))

    def get_state(self, key: str | None = None, default: Any = None) -> Any:
        """A copy of the value at ``key`` (a lodash path), or of the whole state."""
        if self._turn is None:
            return default
        return copy.deepcopy(_state.get_path(self.state, key, default))

    def stop_tool(self, tool_name: str, stopped: bool = True) -> None:
        """Flag ``tool_name`` in ``_stopTool`` so it is (no longer) offered to the model."""
        self.merge_state({_state.STOP_TOOL: {tool_name: stopped}})

    def session_completed(self) -> None:
        """Mark the session ``completed`` (Picoflow's ``sessionCompleted``)."""
        self.turn.session["runStatus"] = "completed"

    def get_context(self, path: str | None = None, default: Any = None) -> Any:
        """A value of the flow's context, e.g. ``get_context("config.user")``."""
        return copy.deepcopy(_state.get_path(self.turn.session.get("context", {}), path, default))

    def run_step(self, step: StepRef, message: BaseMessage | str | None = None) -> str | None:
        """Run ``step`` now (nested), then come back here; returns its reply.

        The sequence records the child and then this step again, as Picoflow's does.
        """
        return self.turn.run_step(step, message)

    def activate(self, step: StepRef) -> None:
        """Make ``step`` the active step now (its ``on_enter`` runs)."""
        self.turn.activate(step)

    def erase_memory(self) -> None:
        """Empty this step's memory namespace."""
        self.turn.memory[self.namespace] = []

    def get_last_message(self) -> BaseMessage | None:
        """The last message of this step's namespace."""
        history = self.turn.memory.get(self.namespace) or []
        return history[-1] if history else None

    def new_message_id(self) -> str:
        """A fresh Picoflow message id with this step's prefix."""
        return self.turn.new_id(self.name)

    @property
    def flow_state(self) -> Mapping[str, dict[str, Any]]:
        """Every step's state by step name (read only)."""
        return {name: self.turn.state_of(name) for name in self.turn.step_names()}

    def get_step_state(self, step: StepRef, key: str | None = None, default: Any = None) -> Any:
        """Another step's state (or the value at ``key``), as Picoflow's ``getStepState``."""
        name = self.turn.resolve(step)
        return copy.deepcopy(_state.get_path(self.turn.state_of(name), key, default))

    def save_step_state(self, step: StepRef, update: Mapping[str, Any]) -> None:
        """``save_state`` on another step, as Picoflow's ``saveStepState``."""
        self.turn.save_state(self.turn.resolve(step), update)

    def _bind(self, turn: Turn) -> Step:
        bound = copy.copy(self)
        bound._turn = turn
        return bound


class LogicStep(Step):
    """A step that runs code instead of a model: override :meth:`run_logic`.

    Entering it adds the AI message ``"Transition to step:<Name>"`` to its namespace, then
    ``run_logic()`` returns where to go (a :class:`Transition`, a step or a name)::

        >>> from langgraph_picoflow.flow import go
        >>> class RouteStep(LogicStep):
        ...     def run_logic(self):
        ...         return go("FavoritesStep").with_state({"gooData": "gooValue"})
    """

    def run_logic(self) -> Transition | StepRef:
        """Decide where the flow goes; must name a destination step."""
        raise NotImplementedError(f"{type(self).__name__}.run_logic")

    def is_logic(self) -> bool:
        """Logic steps never call a model."""
        return True

    def on_crossing(
        self, message: BaseMessage | None, prior: str | None
    ) -> BaseMessage | str | None:
        """Picoflow discards the ``"Start"`` of a logic step: nothing by default."""
        return None


_BASE_ATTRS = frozenset(name for klass in (Step, LogicStep) for name in vars(klass))
