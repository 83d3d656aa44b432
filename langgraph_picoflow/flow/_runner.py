"""What ``send`` does in a step: crossing detection, the model call, tools, logic steps.

This follows RUNTIME.md sections 3 and 4 (Picoflow's ``LlmRunner`` and ``LogicRunner``):

* crossing: a message whose id prefix is another step is re-prefixed and handed to
  ``on_crossing(message, prior)``; without a message, the namespace's last message decides
  (another step's message: ``on_crossing(None, prior)``; empty or only the system prompt:
  ``on_crossing(None, None)``, which says ``"Start"`` by default);
* the model call: the system prompt replaces index 0, the message is pushed unless it is
  already last, tools or structured output are bound, and up to ``llm_retry`` attempts are
  made, each failure logged as ``"Attempt n of m. Error:<message>"``; an empty answer is
  replaced by the nudge ``"Follow system prompt and respond properly."`` and retried;
* tool calls: handlers run in call order, then the AI tool-call message (its id made now)
  and the tool results are pushed into the calling step's namespace; a direct reply ends
  the turn, a human message is sent on, otherwise the (possibly new) active step is sent
  nothing;
* logic steps push ``"Transition to step:<Name>"``, run ``run_logic()`` and go on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.runnables import Runnable

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.flow._errors import FlowRuntimeError
from langgraph_picoflow.flow._runtime import Turn
from langgraph_picoflow.flow._state import js_json
from langgraph_picoflow.flow._step import Step
from langgraph_picoflow.flow._tools import Tool
from langgraph_picoflow.flow._transition import Outcome, StepRef, Transition
from langgraph_picoflow.messages import METADATA_KEY

VALIDATED = "input validated"
NUDGE = "Follow system prompt and respond properly."
HALLUCINATED = "LLM hallucinates a non-existing tool: {}"
TRANSITION = "Transition to step:{}"
_OBJECT_KEYS = ("step", "tool", "message", "prompt", "state", "contentType")


class EmptyAnswerError(FlowRuntimeError):
    """The model answered nothing (no text, no tool call)."""


# -- messages ---------------------------------------------------------------------------


def prefix_of(message: BaseMessage | None) -> str | None:
    """The step prefix of a message's Picoflow id."""
    if message is None or not isinstance(message.id, str):
        return None
    return pdoc.message_id_step(message.id)


def human(turn: Turn, step: str, content: str) -> HumanMessage:
    """A human message made by the runtime or the user (``direct: false``)."""
    return HumanMessage(content=content, id=turn.new_id(step), additional_kwargs={"direct": False})


def _js_stringify(value: Any) -> str:
    return value if isinstance(value, str) else js_json(value)


def _answer_message(turn: Turn, step: str, content: Any) -> AIMessage:
    """A model-made reply as Picoflow stores it: content and id only (objects kept as objects)."""
    if isinstance(content, Mapping):
        # The compact spelling the message mapping recognises as "an object" (METADATA_KEY).
        return AIMessage(
            content=json.dumps(dict(content), ensure_ascii=False, separators=(",", ":")),
            id=turn.new_id(step),
            response_metadata={METADATA_KEY: {"content": "object"}},
        )
    return AIMessage(
        content=content if isinstance(content, str) else str(content), id=turn.new_id(step)
    )


def _for_step(turn: Turn, step: str, value: BaseMessage | str | None) -> BaseMessage | None:
    """``value`` as a message of ``step``: text becomes a human message; an id is ensured."""
    if value is None:
        return None
    if isinstance(value, str):
        return human(turn, step, value)
    update: dict[str, Any] = {}
    if prefix_of(value) is None:
        update["id"] = turn.new_id(step)
    if isinstance(value, HumanMessage) and "direct" not in value.additional_kwargs:
        # Picoflow marks every human message it stores ``direct: false``.
        update["additional_kwargs"] = {**value.additional_kwargs, "direct": False}
    return value.model_copy(update=update) if update else value


def _reprefix(turn: Turn, message: BaseMessage, step: str) -> BaseMessage:
    """The message forwarded into ``step``: same id apart from the step prefix."""
    parsed = pdoc.parse_message_id(message.id) if isinstance(message.id, str) else None
    new_id = f"{step}|{message.id.split('|', 1)[1]}" if parsed and message.id else turn.new_id(step)
    return message.model_copy(update={"id": new_id})


def _tool_result(
    turn: Turn, prefix: str, call: ToolCall, content: str, status: str = "success"
) -> ToolMessage:
    return ToolMessage(
        content=content,
        tool_call_id=call.get("id") or "",
        name=call["name"],
        status="error" if status == "error" and turn.flow.layout == "A0" else "success",
        id=turn.new_id(prefix),
        additional_kwargs={"stopTool": True},
    )


# -- send -------------------------------------------------------------------------------


def send(turn: Turn, message: BaseMessage | None) -> Outcome:
    """Run the active step on ``message`` until it answers or hands over."""
    turn.sends += 1
    if turn.sends > turn.flow.max_sends:
        raise FlowRuntimeError(
            f"{turn.flow.name}: more than {turn.flow.max_sends} sends in one turn "
            "(a step keeps handing over without answering)"
        )
    step = turn.step(turn.active_name)
    if step.is_logic():
        return _send_logic(turn, step)
    history = turn.history(step.namespace, step.name)
    if message is not None:
        prior = prefix_of(message)
        if prior != step.name:
            forwarded = _reprefix(turn, message, step.name)
            message = _for_step(turn, step.name, step.on_crossing(forwarded, prior))
    else:
        last = history[-1] if history else None
        if last is None or isinstance(last, SystemMessage):
            message = _for_step(turn, step.name, step.on_crossing(None, None))
        elif prefix_of(last) != step.name:
            message = _for_step(turn, step.name, step.on_crossing(None, prefix_of(last)))
    return _call_model(turn, step, message)


def run_step(turn: Turn, ref: StepRef, message: BaseMessage | str | None) -> str | None:
    """Picoflow's ``runStep``: activate ``ref``, run it to an answer, re-activate the caller."""
    parent = turn.active_name
    child = turn.resolve(ref)
    saved_prefix, turn.prefix = turn.prefix, ""
    turn.activate(child)
    outcome = send(turn, _for_step(turn, child, message))
    while outcome.proceed:
        outcome = send(turn, outcome.message)
    turn.activate(parent)
    turn.prefix = saved_prefix
    return outcome.reply


# -- the model call ---------------------------------------------------------------------


def _bound_model(turn: Turn, step: Step) -> tuple[Runnable[Any, Any], bool]:
    """The step's model with its tools bound, or its structured output; and which."""
    model = turn.flow.model_for(step)
    schema = step.structured_output_schema()
    if schema is not None:
        return model.with_structured_output(_schema(schema), include_raw=True), True
    offered = set(step.get_tools())
    tools: list[Tool] = [t for t in step.define_tools() if t.name in offered]
    if tools:
        return model.bind_tools([t.to_openai() for t in tools]), False
    return model, False


def _schema(schema: Any) -> dict[str, Any] | type:
    return schema if isinstance(schema, type) else dict(schema)


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else message.text


def _invoke(
    turn: Turn, step: Step, runnable: Runnable[Any, Any], structured: bool
) -> tuple[AIMessage, Any]:
    """One attempt: the raw answer (tokens counted) and its content (text or object)."""
    history = turn.history(step.namespace, step.name)
    if structured:
        out = runnable.invoke(list(history))
        raw = out["raw"]
        turn.add_usage(raw)
        if out.get("parsing_error") is not None or out.get("parsed") is None:
            raise FlowRuntimeError(
                f"structured output could not be parsed: {out.get('parsing_error')}"
            )
        parsed = out["parsed"]
        content = parsed.model_dump(mode="json") if hasattr(parsed, "model_dump") else parsed
        return raw, content
    raw = runnable.invoke(list(history))
    if not isinstance(raw, AIMessage):
        raise FlowRuntimeError(f"the model returned a {type(raw).__name__}, not an AI message")
    turn.add_usage(raw)
    content = _text(raw)
    if not raw.tool_calls and not content.strip():
        # Picoflow drops the empty answer (and an earlier nudge), then nudges the model.
        if history and isinstance(history[-1], HumanMessage) and history[-1].content == NUDGE:
            history.pop()
        history.append(human(turn, step.name, NUDGE))
        raise EmptyAnswerError("the model returned an empty answer")
    return raw, content


def _call_model(turn: Turn, step: Step, message: BaseMessage | None) -> Outcome:
    history = turn.history(step.namespace, step.name)
    system = SystemMessage(content=step.get_prompt() or "", id=turn.new_id(step.name))
    if history and isinstance(history[0], SystemMessage):
        history[0] = system
    else:
        history.insert(0, system)
    if message is not None and not (
        history[-1].id == message.id and history[-1].type == message.type
    ):
        history.append(message)
    runnable, structured = _bound_model(turn, step)
    attempts = max(1, turn.flow.llm_retry)
    for attempt in range(1, attempts + 1):
        try:
            raw, content = _invoke(turn, step, runnable, structured)
            break
        except Exception as exc:
            turn.log("warn", f"Attempt {attempt} of {attempts}. Error:{exc}")
            if attempt == attempts:
                raise
            time.sleep(turn.flow.retry_delay)
    if raw.tool_calls and not structured:
        return _tool_calls(turn, step, raw, content)
    if isinstance(content, str) and turn.prefix:
        content, turn.prefix = f"{turn.prefix}\n{content}", ""
    result = step.on_response(content)
    if isinstance(result, Transition) or _is_step(result):
        target = result if isinstance(result, Transition) else Transition(step=result)
        _apply(turn, step.name, target)
        return Outcome(proceed=True)
    answer = _answer_message(turn, step.name, result)
    turn.history(step.namespace, step.name).append(answer)
    return Outcome(reply=_text(answer))


def _is_step(value: Any) -> bool:
    return isinstance(value, Step) or (isinstance(value, type) and issubclass(value, Step))


# -- tools ------------------------------------------------------------------------------


def as_transition(result: Any) -> Transition | None:
    """A handler's return value as a transition (``None``: no transition)."""
    if isinstance(result, Transition):
        return result
    if isinstance(result, str) or _is_step(result):
        return Transition(step=result)
    if isinstance(result, Mapping) and any(k in result for k in _OBJECT_KEYS):
        # Picoflow 1.0's object spelling: {step, prompt, state, contentType, tool, message}.
        return Transition(
            step=result.get("step"),
            feedback=result.get("tool"),
            prompt=result.get("prompt"),
            state=result.get("state"),
            content_type=result.get("contentType"),
            message=result.get("message"),
        )
    return None


def _apply(turn: Turn, caller: str, transition: Transition) -> str:
    """Activate the destination, then ``_prompt``, then ``state``; returns the destination."""
    if transition.step is None:
        destination = caller
    else:
        destination = turn.resolve(transition.step)
        turn.activate(destination)
    if transition.prompt is not None:
        turn.save_state(destination, {"_prompt": transition.prompt})
    if transition.state:
        turn.save_state(destination, transition.state)
    if transition.content_type:
        turn.content_types[destination] = transition.content_type
    return destination


def _results(turn: Turn, step: Step, call: ToolCall, result: Any) -> list[BaseMessage]:
    """The messages a handler's result adds after the AI tool-call message."""
    transition = as_transition(result)
    if transition is None:
        return [_tool_result(turn, step.name, call, VALIDATED)]
    destination = _apply(turn, step.name, transition)
    out: list[BaseMessage] = []
    if transition.feedback is not None:
        out.append(_tool_result(turn, destination, call, transition.feedback, transition.status))
    else:
        out.append(_tool_result(turn, step.name, call, VALIDATED))
    extra = _for_step(turn, step.name, transition.message)
    if extra is not None:
        out.append(extra)
    if transition.has_reply:
        out.append(
            AIMessage(
                content=_js_stringify(transition.reply),
                id=turn.new_id(step.name),
                additional_kwargs={"direct": True},
            )
        )
    return out


def _tool_calls(turn: Turn, step: Step, raw: AIMessage, text: str) -> Outcome:
    if text.strip():
        turn.prefix = f"{turn.prefix}\n{text}" if turn.prefix else text
    offered = set(step.get_tools())
    added: list[BaseMessage] = []
    for call in raw.tool_calls:
        name = call["name"]
        if name not in offered:
            turn.log("warn", f"hallucinated tool: {name}")
            added.append(_tool_result(turn, step.name, call, HALLUCINATED.format(name)))
            continue
        handler = step.handler_for(name)
        if handler is None:
            turn.log("warn", f"missing tool handler: {name}")
            added.append(_tool_result(turn, step.name, call, VALIDATED))
            continue
        added.extend(_results(turn, step, call, handler(call)))
    # Picoflow makes the tool-call message's id after its handlers ran; provider extras
    # (e.g. Gemini thought signatures) stay on the message, outside the document.
    kwargs = {k: v for k, v in raw.additional_kwargs.items() if k not in ("direct", "stopTool")}
    call_message = AIMessage(
        content="", tool_calls=raw.tool_calls, id=turn.new_id(step.name), additional_kwargs=kwargs
    )
    history = turn.history(step.namespace, step.name)
    history.append(call_message)
    history.extend(added)
    for message in added:
        if isinstance(message, AIMessage) and message.additional_kwargs.get("direct") is True:
            return Outcome(reply=_text(message))
    forwarded = next((m for m in added if isinstance(m, HumanMessage)), None)
    return Outcome(proceed=True, message=forwarded)


# -- logic steps ------------------------------------------------------------------------


def _send_logic(turn: Turn, step: Step) -> Outcome:
    history = turn.history(step.namespace, step.name)
    last = history[-1] if history else None
    prior = None if last is None or isinstance(last, SystemMessage) else prefix_of(last)
    note = _for_step(turn, step.name, step.on_crossing(None, prior))
    if note is None:
        note = AIMessage(
            content=TRANSITION.format(step.name),
            id=turn.new_id(step.name),
            additional_kwargs={"direct": False},
        )
    history.append(note)
    run_logic = getattr(step, "run_logic", None)
    transition = as_transition(run_logic() if callable(run_logic) else None)
    if transition is None or transition.step is None:
        raise FlowRuntimeError(f"{step.name}.run_logic() must name the step to go to")
    destination = _apply(turn, step.name, transition)
    forwarded = _for_step(turn, destination, transition.message)
    if transition.has_reply:
        answer = AIMessage(
            content=_js_stringify(transition.reply),
            id=turn.new_id(destination),
            additional_kwargs={"direct": True},
        )
        turn.history(turn.step(destination).namespace, destination).append(answer)
        return Outcome(reply=_text(answer))
    return Outcome(proceed=True, message=forwarded)
