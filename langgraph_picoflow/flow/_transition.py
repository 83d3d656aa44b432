"""Transitions: what a tool handler, ``run_logic`` or ``on_response`` returns.

Picoflow 1.0.x lets a handler return a step name, a step class, or an object
``{step, prompt, state, contentType, tool, message}``; 1.1 spells the same with builders
(``go(Step).withToolFeedback(...)``, ``stay(feedback)``, ``direct(content)``). Both work here::

    >>> t = go("EndStep").with_prompt("Say goodbye").with_state({"booked": True})
    >>> t.step, t.prompt, t.state
    ('EndStep', 'Say goodbye', {'booked': True})
    >>> stay("Cannot accept John Doe").feedback
    'Cannot accept John Doe'
    >>> direct({}).reply
    {}

A handler may also return ``None`` (no transition: the tool result is ``"input validated"``
and the model is called again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from langchain_core.messages import BaseMessage

if TYPE_CHECKING:
    from langgraph_picoflow.flow._step import Step

#: A step named by its name, its class, or its instance.
StepRef: TypeAlias = "str | type[Step] | Step"

_UNSET: Any = object()


@dataclass(frozen=True)
class Transition:
    """What happens after a tool call (or a logic step): Picoflow's response object.

    * ``step``: the step to activate (``None``: stay in the calling step);
    * ``feedback``: text of the tool result (Picoflow's ``tool``); the tool message then
      carries the *destination* step's id prefix. ``None``: ``"input validated"``;
    * ``status``: the tool result status. Picoflow 1.0.11+ writes ``"success"`` always;
      ``"error"`` is kept only for flows writing layout A0 (as older Picoflow did);
    * ``prompt``: saved as ``_prompt`` in the destination's state (its next system prompt);
    * ``state``: saved into the destination's state (``saveState`` semantics);
    * ``content_type``: the reply's content type (e.g. ``"application/json"``);
    * ``message``: a message pushed after the tool result: a human message (sent on to the
      destination step) or an AI message; see ``reply``;
    * ``reply``: an AI reply returned to the user verbatim, without a model call (a
      ``direct`` message; an object is JSON-stringified).
    """

    step: StepRef | None = None
    feedback: str | None = None
    status: Literal["success", "error"] = "success"
    prompt: str | None = None
    state: Mapping[str, Any] | None = None
    content_type: str | None = None
    message: BaseMessage | str | None = None
    reply: Any = _UNSET

    @property
    def has_reply(self) -> bool:
        """Whether this transition answers the user directly (no model call)."""
        return self.reply is not _UNSET

    def with_tool_feedback(
        self, feedback: str, status: Literal["success", "error"] = "success"
    ) -> Transition:
        """The tool result text (and status) for the calling tool call."""
        return replace(self, feedback=feedback, status=status)

    def with_state(self, state: Mapping[str, Any]) -> Transition:
        """State saved into the destination step (after ``_prompt``)."""
        return replace(self, state=dict(state))

    def with_prompt(self, prompt: str) -> Transition:
        """The destination's next system prompt, saved as ``_prompt`` in its state."""
        return replace(self, prompt=prompt)

    def with_message(self, message: BaseMessage | str) -> Transition:
        """A message pushed after the tool result (a string is a human message)."""
        return replace(self, message=message)

    def with_content_type(self, content_type: str) -> Transition:
        """The content type of the turn's reply."""
        return replace(self, content_type=content_type)

    def with_reply(self, content: Any) -> Transition:
        """Answer the user with ``content`` verbatim (no model call)."""
        return replace(self, reply=content)


def go(step: StepRef) -> Transition:
    """Activate ``step`` (a name, class or instance); the model is then called there.

    >>> go("BookingStep").with_tool_feedback("Booked!").feedback
    'Booked!'
    """
    return Transition(step=step)


def stay(
    feedback: str | None = None, *, status: Literal["success", "error"] = "success"
) -> Transition:
    """Stay in the calling step; ``feedback`` becomes the tool result the model sees.

    >>> stay("Please choose another name").step is None
    True
    """
    return Transition(feedback=feedback, status=status)


def direct(content: Any) -> Transition:
    """Reply ``content`` to the user verbatim, without calling the model.

    >>> direct("Done.").reply
    'Done.'
    """
    return Transition(reply=content)


@dataclass(frozen=True)
class Outcome:
    """Where a ``send`` ended: a reply for the user, or the turn goes on (``proceed``).

    When it goes on, the now active step is sent ``message`` (``None``: no new message).
    """

    reply: str | None = None
    proceed: bool = False
    message: BaseMessage | None = None
