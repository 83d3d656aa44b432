"""``Flow``: a named set of steps with a model registry, compiled to a LangGraph graph.

As in Picoflow, a flow declares its steps (``define_steps()`` or ``steps=``), registers
models by name, and runs one user turn per call; the session document is the graph's
checkpoint when the checkpointer is a :class:`~langgraph_picoflow.PicoflowSaver`::

    >>> from langgraph_picoflow.flow import Flow, Step, EndStep, Script, ScriptedChatModel, reply
    >>> script = Script([reply("Hello! What's your name?")])
    >>> flow = Flow(
    ...     [Step("HelloStep", active=True, prompt="Ask the user's name."), EndStep()],
    ...     name="TutorialFlow",
    ...     models={"scripted": ScriptedChatModel(script=script)},
    ... )
    >>> graph = flow.compile()
    >>> graph.invoke({"message": "Hi"})["reply"]
    "Hello! What's your name?"
"""

from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.flow._end import EndStep
from langgraph_picoflow.flow._errors import UnknownStepError
from langgraph_picoflow.flow._models import ModelLike, with_params
from langgraph_picoflow.flow._runtime import Turn
from langgraph_picoflow.flow._step import Step
from langgraph_picoflow.flow._transition import StepRef
from langgraph_picoflow.mapping import SessionConfig

Layout = Literal["A0", "A1", "B"]
#: Picoflow's ``LLM_RETRY`` default in the demos: attempts per model call.
DEFAULT_LLM_RETRY = 3


@dataclass(frozen=True)
class ChatReply:
    """One turn's result, as Picoflow's ``/ai/run`` returns it."""

    message: str | None
    session: str
    completed: bool
    content_type: str = "text/plain"
    #: Set when the turn raised: the session is then ``aborted``.
    error: str | None = None


class Flow:
    """A Picoflow flow: steps, the active step, a model registry and context config.

    * ``steps`` (or override :meth:`define_steps`): the steps in declaration order; the one
      with ``active=True`` starts a session (the first one when none is);
    * ``models``: registry name -> chat model or factory ``(params) -> model``; steps
      without ``use_model`` use ``default_model`` or the first registered model;
    * ``layout``: the document layout a new session is written in (``"A0"``, ``"A1"``,
      ``"B"``);
    * ``llm_retry``/``retry_delay``: attempts per model call and the pause between them;
    * ``expire_after``: ``expireAfter`` of new sessions (default: the saver's);
    * ``config``: the context config of a new session when its first request brings none
      (``invoke({"message": ..., "config": {...}})``); steps read it with ``get_context``.
    """

    def __init__(
        self,
        steps: Sequence[Step] | None = None,
        *,
        name: str | None = None,
        models: Mapping[str, ModelLike] | None = None,
        default_model: str | None = None,
        layout: Layout = "B",
        expire_after: int | None = None,
        llm_retry: int = DEFAULT_LLM_RETRY,
        retry_delay: float = 0.5,
        max_sends: int = 100,
        config: Any = None,
    ) -> None:
        self.name: str = name or type(self).__name__
        self.models: dict[str, ModelLike] = dict(models or {})
        self._default_model = default_model
        self.layout: Layout = layout
        self.expire_after = expire_after
        self.llm_retry = llm_retry
        self.retry_delay = retry_delay
        self.max_sends = max_sends
        self.config = config
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self.rng = random.Random()
        self._given = list(steps) if steps is not None else None
        self._steps: list[Step] | None = None
        self._initial: str | None = None
        self._model_cache: dict[tuple[str, str], BaseChatModel] = {}

    # -- definition ------------------------------------------------------------------
    def define_steps(self) -> list[Step]:
        """The flow's steps (override); default: ``steps=``, else Picoflow's lone end step."""
        if self._given is not None:
            return list(self._given)
        return [EndStep().use_memory("temp")]

    def register_model(self, name: str, model: ModelLike) -> Flow:
        """Register a chat model (or a factory) under ``name``; the first is the default."""
        self.models[name] = model
        return self

    def use_model(self, name: str) -> Flow:
        """The model of steps that do not choose one (Picoflow 1.0.12 flow-level model)."""
        self._default_model = name
        return self

    @property
    def default_model(self) -> str | None:
        """The model a step without ``use_model`` gets: ``use_model`` or the first registered."""
        return self._default_model or next(iter(self.models), None)

    @property
    def steps(self) -> list[Step]:
        """The declared steps (``define_steps()`` is called once)."""
        if self._steps is None:
            self._steps = list(self.define_steps())
        return self._steps

    @property
    def initial_step(self) -> str:
        """The step a new session starts in."""
        if self._initial is None:
            active = [s.name for s in self.steps if s.active]
            self._initial = active[0] if active else self.steps[0].name
        return self._initial

    def step(self, name: str) -> Step:
        """The declared step called ``name``."""
        for step in self.steps:
            if step.name == name:
                return step
        raise UnknownStepError(f"no step named {name!r}", self.name)

    def resolve(self, ref: StepRef) -> str:
        """The name of the step ``ref`` (a name, a step class or a step) designates.

        A class designates the step of exactly that class, else its only subclass step,
        else the step named like the class.
        """
        names = [s.name for s in self.steps]
        if isinstance(ref, str):
            if ref in names:
                return ref
        elif isinstance(ref, Step):
            if ref.name in names:
                return ref.name
        elif isinstance(ref, type) and issubclass(ref, Step):
            for candidates in (
                [s for s in self.steps if type(s) is ref],
                [s for s in self.steps if isinstance(s, ref)],
                [s for s in self.steps if s.name == ref.__name__],
            ):
                if len(candidates) == 1:
                    return candidates[0].name
        raise UnknownStepError(f"{_describe(ref)} names no step of the flow", self.name)

    # -- models ------------------------------------------------------------------------
    def model_for(self, step: Step) -> BaseChatModel:
        """The chat model a step calls, with its params applied (cached per params)."""
        name = step.model_name or self.default_model
        if name is None or name not in self.models:
            from langgraph_picoflow.flow._errors import ModelError

            raise ModelError(f"model {name!r} is not registered", self.name, step.name)
        params = dict(step.model_params or {})
        if step.temperature != -1 and "temperature" not in params:
            params["temperature"] = step.temperature
        key = (name, repr(sorted(params.items())))
        if key not in self._model_cache:
            self._model_cache[key] = with_params(self.models[name], params)
        return self._model_cache[key]

    def step_entry(self, step: Step, *, active: bool) -> dict[str, Any]:
        """A new ``steps[]`` entry for ``step`` in this flow's layout."""
        model = (
            None
            if self.layout == "A1" and step.is_logic()
            else (step.model_name or self.default_model)
        )
        return pdoc.new_step(
            step.name,
            active=active,
            layout=self.layout,
            model_name=model,
            model_params=step.model_params or {},
            logic=step.is_logic(),
            temperature=step.temperature,
        )

    def refresh(self, turn: Turn) -> None:
        """Bring a stored session up to this definition (Picoflow's ``readDoc``).

        Steps added to the code since the session began get an entry; a session without an
        active step gets the initial one; an empty ``sequence`` gets the active step.
        """
        known = {e.get("name") for e in turn.session.setdefault("steps", [])}
        for step in self.steps:
            if step.name not in known:
                turn.session["steps"].append(self.step_entry(step, active=False))
        if not any(e.get("isActive") is True for e in turn.session["steps"]):
            for entry in turn.session["steps"]:
                entry["isActive"] = entry.get("name") == self.initial_step
        sequence = turn.session.get("sequence")
        if isinstance(sequence, list) and not sequence:
            sequence.append(turn.active_name)

    # -- compiling and running ---------------------------------------------------------
    def session_config(self, base: SessionConfig | None = None) -> SessionConfig:
        """The saver configuration mapping this flow's state one to one onto the document."""
        base = base or SessionConfig()
        return dataclasses.replace(
            base,
            namespaces={},
            memory_channel="memory",
            session_channel="session",
            flow_name=self.name,
            layout=self.layout,
            expire_after=self.expire_after if self.expire_after is not None else base.expire_after,
        )

    def validate(self) -> None:
        """Check the definition; raises a ``FlowDefinitionError`` subclass."""
        from langgraph_picoflow.flow._graph import CHANNELS, TURN_NODE
        from langgraph_picoflow.flow._validate import validate

        self._initial = validate(self, frozenset({TURN_NODE, "__start__", "__end__", *CHANNELS}))

    def compile(
        self, checkpointer: BaseCheckpointSaver[Any] | None = None, **kwargs: Any
    ) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Validate the flow and compile its graph.

        A Picoflow saver is used through a shallow copy configured with
        :meth:`session_config` (it shares the store and caches with the original); any
        other checkpointer is used as it is. ``kwargs`` go to ``StateGraph.compile``.
        """
        from langgraph_picoflow.flow._graph import build_graph
        from langgraph_picoflow.saver import _PicoflowBase

        self.validate()
        saver: Any = checkpointer
        if isinstance(checkpointer, _PicoflowBase):
            saver = copy.copy(checkpointer)
            saver.session_config = self.session_config(checkpointer.session_config)
        return build_graph(self).compile(checkpointer=saver, **kwargs)

    def chat(
        self,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        message: str,
        session_id: str | None = None,
        *,
        config: Any = None,
    ) -> ChatReply:
        """Picoflow's ``FlowEngine.run``: one turn in ``session_id``, or in a new session.

        A missing, completed or aborted session is replaced by a new one (with a new id),
        as Picoflow does.
        """
        if session_id is not None and _closed(graph.get_state(_thread(session_id)).values):
            session_id = None
        session_id = session_id or pdoc.new_session_id()
        out = graph.invoke({"message": message, "config": config}, _thread(session_id))
        return _reply(out, session_id)

    async def achat(
        self,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        message: str,
        session_id: str | None = None,
        *,
        config: Any = None,
    ) -> ChatReply:
        """Async :meth:`chat` (``ainvoke``; use it with an ``AsyncPicoflowSaver``)."""
        if session_id is not None:
            snapshot = await graph.aget_state(_thread(session_id))
            if _closed(snapshot.values):
                session_id = None
        session_id = session_id or pdoc.new_session_id()
        out = await graph.ainvoke({"message": message, "config": config}, _thread(session_id))
        return _reply(out, session_id)


def _closed(values: Mapping[str, Any]) -> bool:
    return (values.get("session") or {}).get("runStatus") in ("completed", "aborted")


def _reply(out: Mapping[str, Any], session_id: str) -> ChatReply:
    return ChatReply(
        out.get("reply"),
        session_id,
        bool(out.get("completed")),
        out.get("content_type") or "text/plain",
        out.get("error"),
    )


def _thread(session_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": session_id}}


def _describe(ref: object) -> str:
    if isinstance(ref, type):
        return ref.__name__
    return repr(ref)
