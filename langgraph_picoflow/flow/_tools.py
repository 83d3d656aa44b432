"""Tools a step offers to its model, and the handlers that answer them.

A tool is a name, a description and an argument schema (a pydantic model or a JSON
schema), as Picoflow's ``defineTool()`` returns them. Its handler is, as in Picoflow, the
step method named after the tool; the :func:`tool` decorator declares both at once::

    >>> from pydantic import BaseModel
    >>> class CaptureName(BaseModel):
    ...     name: str
    >>> from langgraph_picoflow.flow import Step
    >>> class HelloStep(Step):
    ...     @tool(schema=CaptureName)
    ...     def capture_name(self, call):
    ...         '''Capture the name of the user.'''
    ...         return None
    >>> [t.name for t in HelloStep("HelloStep").define_tools()]
    ['capture_name']

The handler receives LangChain's ``ToolCall`` (``{"name", "args", "id", "type"}``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from langchain_core.messages import ToolCall
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

from langgraph_picoflow.flow._errors import ToolDefinitionError

#: Tool names every provider accepts (OpenAI and Gemini function-name rules).
TOOL_NAME_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_-]{0,63}\Z")
_TOOL_ATTR = "__picoflow_tool__"

Handler = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Tool:
    """A tool definition: ``name``, ``description`` and ``schema`` (pydantic or JSON schema).

    >>> Tool("end_chat", "End the chat", {"type": "object", "properties": {}}).to_openai()[
    ...     "function"]["name"]
    'end_chat'
    """

    name: str
    description: str
    schema: type[BaseModel] | Mapping[str, Any]

    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments."""
        if isinstance(self.schema, type) and issubclass(self.schema, BaseModel):
            params = convert_to_openai_tool(self.schema)["function"].get("parameters", {})
            return dict(params)
        return dict(self.schema)

    def to_openai(self) -> dict[str, Any]:
        """The tool in the OpenAI function format, which every LangChain chat model binds."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters(),
            },
        }

    def check(self, flow: str = "", step: str = "") -> None:
        """Raise ``ToolDefinitionError`` if a provider would refuse this tool."""
        if not TOOL_NAME_RE.match(self.name):
            raise ToolDefinitionError(
                f"tool name {self.name!r} must match {TOOL_NAME_RE.pattern}", flow, step
            )
        try:
            params = self.parameters()
        except Exception as exc:  # a broken pydantic model or a schema that is not a dict
            raise ToolDefinitionError(
                f"tool {self.name!r}: bad schema ({exc})", flow, step
            ) from exc
        if params.get("type", "object") != "object":
            raise ToolDefinitionError(
                f"tool {self.name!r}: the argument schema must describe an object", flow, step
            )


@overload
def tool(fn: F) -> F: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    schema: type[BaseModel] | Mapping[str, Any] | None = None,
) -> Callable[[F], F]: ...


def tool(
    fn: F | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    schema: type[BaseModel] | Mapping[str, Any] | None = None,
) -> F | Callable[[F], F]:
    """Declare a step method as a tool and its handler.

    ``name`` defaults to the method's name, ``description`` to its docstring, ``schema`` to
    an object without properties. Usable bare (``@tool``) or with arguments.
    """

    def mark(func: F) -> F:
        doc = inspect.getdoc(func) or ""
        spec = Tool(
            name or func.__name__,
            description if description is not None else doc,
            schema if schema is not None else {"type": "object", "properties": {}},
        )
        setattr(func, _TOOL_ATTR, spec)
        return func

    return mark(fn) if fn is not None else mark


def declared_tools(cls: type) -> list[tuple[Tool, str]]:
    """``(tool, method name)`` for every ``@tool`` method of ``cls`` (base classes first)."""
    out: dict[str, tuple[Tool, str]] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            spec = getattr(value, _TOOL_ATTR, None)
            if isinstance(spec, Tool):
                out[spec.name] = (spec, attr)
    return list(out.values())


def end_chat_tool() -> Tool:
    """Picoflow's ``end_chat`` tool (argument ``prompt``), for steps that let the user leave."""
    return Tool(
        "end_chat",
        "End the conversation when the user wants to stop or leave.",
        {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "description": "what to tell the user"},
            },
        },
    )


def call_args(call: ToolCall) -> dict[str, Any]:
    """The arguments of a tool call (``{}`` when the model sent none)."""
    args = call.get("args")
    return dict(args) if isinstance(args, Mapping) else {}
