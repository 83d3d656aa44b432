"""``EndStep``: Picoflow's built-in terminal step.

Entering it marks the session ``completed`` (before its closing reply), it says
``"I'm done with chat"`` to its model, and its prompt asks the model to close the
conversation (``state._prompt`` first, as a transition's ``with_prompt`` sets it)::

    >>> EndStep().use_memory("temp").namespace
    'temp'
    >>> EndStep(prompt="Tell user the chat has ended.").prompt
    'Tell user the chat has ended.'
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, ToolCall

from langgraph_picoflow.flow._step import Step
from langgraph_picoflow.flow._tools import end_chat_tool
from langgraph_picoflow.flow._transition import Transition, go

#: What the end step tells its model when the conversation crosses into it.
DONE_WITH_CHAT = "I'm done with chat"
#: Picoflow's default end prompt (with its surrounding newlines).
END_PROMPT = (
    "\nNicely tell the user this is the end of conversation as they requested, "
    "you MUST NOT talk other things!\n"
)


class EndStep(Step):
    """Ends the session: ``runStatus`` becomes ``completed`` when it is entered.

    Other steps go there with ``go(EndStep)``, usually from their own ``end_chat`` handler
    (offer :func:`end_chat_tool`), optionally ``.with_prompt(...)`` for the goodbye.
    """

    prompt = END_PROMPT

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.add_tool(end_chat_tool())

    def on_enter(self) -> None:
        """Mark the session completed as soon as the step is activated."""
        self.session_completed()

    def is_end(self) -> bool:
        """The conversation is over once this step is active."""
        return True

    def on_crossing(
        self, message: BaseMessage | None, prior: str | None
    ) -> BaseMessage | str | None:
        """Always ``"I'm done with chat"``."""
        return DONE_WITH_CHAT

    def end_chat(self, call: ToolCall) -> Transition:
        """The end step's own ``end_chat`` handler: stay in (go to) the end step."""
        return go(self.name)
