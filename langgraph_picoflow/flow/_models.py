"""Models for flows: any LangChain chat model, Gemini, and a scripted model for offline runs.

A flow's model registry maps names (what a step's ``use_model(name)`` says and what the
document records as ``modelName``) to a chat model instance or a factory
``(params) -> chat model`` called with the step's model params::

    >>> script = Script([reply("Hello! What's your name?", usage=(10, 5, 15))])
    >>> model = ScriptedChatModel(script=script)
    >>> model.invoke("Hi").content
    "Hello! What's your name?"
    >>> script.remaining
    0
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field

from langgraph_picoflow.flow._errors import FlowRuntimeError

ModelFactory: TypeAlias = Callable[[Mapping[str, Any]], BaseChatModel]
ModelLike: TypeAlias = BaseChatModel | ModelFactory
#: A scripted reply: an AI message, or an exception the model raises instead.
ScriptItem: TypeAlias = AIMessage | BaseException


def reply(
    content: str = "",
    *,
    tool_calls: Sequence[Mapping[str, Any]] = (),
    usage: tuple[int, int, int] | None = None,
) -> AIMessage:
    """A scripted AI reply; ``usage`` is ``(input, output, total)`` tokens.

    >>> reply("", tool_calls=[{"name": "capture_name", "args": {"name": "Jane"},
    ...                        "id": "call_1"}]).tool_calls[0]["name"]
    'capture_name'
    """
    calls = [
        {
            "name": c["name"],
            "args": dict(c.get("args") or {}),
            "id": c.get("id"),
            "type": "tool_call",
        }
        for c in tool_calls
    ]
    message = AIMessage(content=content, tool_calls=calls)
    if usage is not None:
        message.usage_metadata = {
            "input_tokens": usage[0],
            "output_tokens": usage[1],
            "total_tokens": usage[2],
        }
    return message


def reply_from_json(data: Mapping[str, Any]) -> ScriptItem:
    """A script item from JSON: ``{"content", "tool_calls", "usage"}`` or ``{"error": text}``.

    >>> reply_from_json({"error": "503 overloaded"})
    RuntimeError('503 overloaded')
    """
    if "error" in data:
        return RuntimeError(str(data["error"]))
    usage = data.get("usage")
    content = data.get("content", "")
    if isinstance(content, Mapping):  # structured output recorded as an object
        content = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return reply(
        content,
        tool_calls=data.get("tool_calls") or (),
        usage=(usage["input_tokens"], usage["output_tokens"], usage["total_tokens"])
        if usage
        else None,
    )


def reply_to_json(message: AIMessage) -> dict[str, Any]:
    """The JSON form :func:`reply_from_json` reads (for recording a live run)."""
    out: dict[str, Any] = {"content": message.text if message.content else ""}
    if message.tool_calls:
        out["tool_calls"] = [
            {"name": c["name"], "args": c["args"], "id": c.get("id")} for c in message.tool_calls
        ]
    if message.usage_metadata:
        out["usage"] = {
            k: message.usage_metadata.get(k, 0)  # type: ignore[misc]
            for k in ("input_tokens", "output_tokens", "total_tokens")
        }
    return out


@dataclass
class ScriptedCall:
    """One call a scripted model answered: which model, what it was sent, which tools."""

    model: str
    messages: list[BaseMessage]
    tools: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


class Script:
    """The replies of a conversation, in call order, shared by every scripted model.

    A flow whose steps use different models still draws from one queue, so a recorded
    conversation replays exactly. ``calls`` records what each call was sent.
    """

    def __init__(self, items: Iterable[ScriptItem] = ()) -> None:
        self._queue: deque[ScriptItem] = deque(items)
        self._lock = threading.Lock()
        self.calls: list[ScriptedCall] = []

    def add(self, *items: ScriptItem) -> Script:
        """Append replies (or exceptions) to the queue."""
        with self._lock:
            self._queue.extend(items)
        return self

    @property
    def remaining(self) -> int:
        """Replies not used yet."""
        return len(self._queue)

    def next(self, call: ScriptedCall) -> AIMessage:
        """The next reply (a copy), after recording ``call``; raises a scripted exception."""
        with self._lock:
            self.calls.append(call)
            if not self._queue:
                raise FlowRuntimeError(
                    f"the script has no reply left for call {len(self.calls)} ({call.model})"
                )
            item = self._queue.popleft()
        if isinstance(item, BaseException):
            raise item
        return item.model_copy(deep=True)


class ScriptedChatModel(BaseChatModel):
    """A chat model answering from a :class:`Script`: offline demos and tests.

    Supports ``bind_tools`` (the tools are recorded) and ``with_structured_output`` (the
    reply's JSON content, or its first tool call's arguments, is the parsed output).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: Script
    model: str = "scripted"
    #: Parameters a step asked for (recorded, not used).
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "picoflow-scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = ScriptedCall(
            self.model, list(messages), list(kwargs.get("tools") or []), self.params
        )
        return ChatResult(generations=[ChatGeneration(message=self.script.next(call))])

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Record ``tools`` with each call (the script decides what is called)."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Parse the next reply as ``schema`` (JSON content or first tool-call arguments)."""

        def run(value: LanguageModelInput) -> Any:
            raw = self.invoke(value)
            parsed: Any = None
            error: Exception | None = None
            try:
                parsed = dict(raw.tool_calls[0]["args"]) if raw.tool_calls else json.loads(raw.text)
                if isinstance(schema, type) and issubclass(schema, BaseModel):
                    parsed = schema.model_validate(parsed)
            except Exception as exc:  # reported as parsing_error, as LangChain does
                error, parsed = exc, None
            if include_raw:
                return {"raw": raw, "parsed": parsed, "parsing_error": error}
            if error is not None:
                raise error
            return parsed

        return RunnableLambda(run)


def gemini(model: str = "gemini-2.5-flash", **defaults: Any) -> ModelFactory:
    """A factory of ``ChatGoogleGenerativeAI`` models (key from ``GOOGLE_API_KEY``).

    Step model params override ``defaults``::

        >>> factory = gemini("gemini-2.5-flash", max_retries=3)
        >>> factory.__name__
        'gemini-2.5-flash'
    """

    def make(params: Mapping[str, Any]) -> BaseChatModel:
        from langchain_google_genai import ChatGoogleGenerativeAI

        return ChatGoogleGenerativeAI(model=model, **{**defaults, **dict(params)})

    make.__name__ = model
    return make


def with_params(model: ModelLike, params: Mapping[str, Any]) -> BaseChatModel:
    """``model`` configured with a step's ``params`` (a factory is called with them).

    An instance is copied with the params that are its fields (``temperature``...); a
    param it does not have is refused rather than silently dropped.
    """
    if not isinstance(model, BaseChatModel):
        return model(params)
    if not params:
        return model
    if isinstance(model, ScriptedChatModel):
        return model.model_copy(update={"params": {**model.params, **params}})
    unknown = [k for k in params if k not in type(model).model_fields]
    if unknown:
        raise ValueError(f"{type(model).__name__} has no parameter {', '.join(unknown)}")
    return model.model_copy(update=dict(params))
