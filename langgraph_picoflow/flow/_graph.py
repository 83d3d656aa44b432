"""The LangGraph graph a flow compiles to: one node per step, plus the ``turn`` entry node.

State channels (all mapped one to one onto the Picoflow document by the saver):

* ``memory``: ``{nameSpace: [messages]}`` (reducer :func:`merge_memory`: nodes write deltas);
* ``session``: ``runStatus, tokens, log...`` and the flow's ``steps, sequence, context``;
* ``message``/``config``: the turn's input; ``reply``/``completed``/``content_type``/
  ``run_status``: its output; ``pending``: what a node hands the next one.

``turn`` starts a session (or reads it), makes the user's message and goes to the active
step's node. A step node runs ``send`` and either ends the turn with a reply or, when the
conversation crosses into another step, goes to that step's node, so every crossing is a
checkpoint (Picoflow saves the session at each crossing too).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphBubbleUp
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from langgraph_picoflow.flow._runner import human, send
from langgraph_picoflow.flow._runtime import Turn, fresh_session, merge_memory

if TYPE_CHECKING:
    from langgraph_picoflow.flow._flow import Flow

#: Name of the entry node (a step may not use it).
TURN_NODE = "turn"
CLOSED = ("completed", "aborted")


class FlowInput(TypedDict, total=False):
    """What ``invoke`` takes: the user's ``message`` and, for a new session, ``config``."""

    message: str | BaseMessage | None
    config: Any


class FlowOutput(TypedDict, total=False):
    """What ``invoke`` returns for a turn."""

    reply: str | None
    completed: bool
    content_type: str | None
    run_status: str | None
    #: ``"<ExceptionType>: <message>"`` when the turn raised (the session is then aborted).
    error: str | None


class FlowState(FlowInput, FlowOutput, total=False):
    """The whole graph state."""

    memory: Annotated[dict[str, list[BaseMessage]], merge_memory]
    session: dict[str, Any]
    pending: dict[str, Any] | None


#: Channel names: a step may not be called like one of them.
CHANNELS = frozenset(FlowState.__annotations__)


def _turn(flow: Flow, state: FlowState) -> Turn:
    return Turn(flow, copy.deepcopy(state.get("session") or {}), state.get("memory") or {})


def _writes(turn: Turn, state: FlowState) -> dict[str, Any]:
    """The channel updates a node makes: a memory delta and the session, when changed."""
    out: dict[str, Any] = {}
    ops = turn.memory_delta(state.get("memory") or {})
    if ops:
        out["memory"] = ops
    if turn.session != state.get("session"):
        out["session"] = turn.session
    return out


def enter_node(flow: Flow) -> Any:
    """The ``turn`` node: start or read the session, then go to the active step."""

    def turn_node(state: FlowState, config: RunnableConfig) -> Command[Any]:
        session = state.get("session") or {}
        status = session.get("runStatus")
        if session.get("steps") and status in CLOSED:
            # Picoflow never continues a closed session (it starts a new one): no change.
            return Command(
                goto=END,
                update={
                    "message": None,
                    "config": None,
                    "reply": None,
                    "completed": True,
                    "content_type": None,
                    "run_status": status,
                    "pending": None,
                    "error": f"the session is {status}: start a new session",
                },
            )
        turn = _turn(flow, state)
        if not session.get("steps"):
            requested = state.get("config")
            turn.session = fresh_session(flow, flow.config if requested is None else requested)
        else:
            flow.refresh(turn)
        active = turn.active_name
        text = state.get("message")
        message = None
        if isinstance(text, BaseMessage):
            message = human(turn, active, text.text)
        elif text is not None:
            message = human(turn, active, str(text))
        update = _writes(turn, state)
        update.update(
            message=None,
            config=None,
            reply=None,
            completed=False,
            content_type=None,
            run_status=turn.session.get("runStatus"),
            error=None,
            pending={"message": message, "prefix": ""},
        )
        return Command(goto=active, update=update)

    return turn_node


def step_node(flow: Flow, name: str) -> Any:
    """The node of step ``name``: send the pending message; answer or cross over."""

    def node(state: FlowState, config: RunnableConfig) -> Command[Any]:
        turn = _turn(flow, state)
        pending = state.get("pending") or {}
        turn.prefix = str(pending.get("prefix") or "")
        turn.content_types.update(pending.get("content_types") or {})
        try:
            outcome = send(turn, pending.get("message"))
            while outcome.proceed and turn.active_name == name:
                outcome = send(turn, outcome.message)
        except GraphBubbleUp:
            raise  # interrupts and other control flow belong to LangGraph
        except Exception as exc:
            return _abort(turn, state, exc)
        update = _writes(turn, state)
        update["run_status"] = turn.session.get("runStatus")
        if outcome.proceed:
            update["pending"] = {
                "message": outcome.message,
                "prefix": turn.prefix,
                "content_types": turn.content_types,
            }
            return Command(goto=turn.active_name, update=update)
        active = turn.step(turn.active_name)
        update.update(
            pending=None,
            reply=outcome.reply,
            completed=active.is_end(),
            content_type=turn.content_types.get(active.name, active.content_type),
            error=None,
        )
        return Command(goto=END, update=update)

    node.__name__ = name
    return node


def _abort(turn: Turn, state: FlowState, exc: Exception) -> Command[Any]:
    """End a turn that raised as Picoflow does: ``aborted`` plus an ``error`` log entry.

    What the turn did until then (the user's message, retry warnings) is kept, and the
    turn returns normally with ``run_status="aborted"`` and ``error`` set, as Picoflow
    answers ``{success: false}`` instead of failing the request.
    """
    message = str(exc) or type(exc).__name__
    turn.session["runStatus"] = "aborted"
    turn.log("error", message)
    update = _writes(turn, state)
    update.update(
        pending=None,
        reply=None,
        completed=True,
        content_type=None,
        run_status="aborted",
        error=f"{type(exc).__name__}: {message}",
    )
    return Command(goto=END, update=update)


def build_graph(flow: Flow) -> StateGraph[FlowState, Any, FlowInput, FlowOutput]:
    """The uncompiled graph of ``flow`` (already validated)."""
    names = [s.name for s in flow.steps]
    builder: StateGraph[FlowState, Any, FlowInput, FlowOutput] = StateGraph(
        FlowState, input_schema=FlowInput, output_schema=FlowOutput
    )
    builder.add_node(TURN_NODE, enter_node(flow), destinations=(*names, END))
    for name in names:
        builder.add_node(name, step_node(flow, name), destinations=(*names, END))
    builder.add_edge(START, TURN_NODE)
    return builder
