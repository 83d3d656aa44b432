"""Find the steps a step's code names, so that a bad target fails at compile time.

Transitions are code (``return go(PaymentStep)``), so :meth:`Flow.compile` reads the source
of each step's methods and handlers and resolves the step references it can see without
running anything:

* the first argument (or ``step=``) of ``go``, ``Transition``, ``run_step``, ``activate``,
  ``activate_by_name``, ``get_step_state`` and ``save_step_state``;
* ``return SomeStep`` (a step class), and ``return "SomeStep"`` in tool handlers and
  ``run_logic`` (Picoflow reads a returned string as a step name there).

A reference held in a variable is checked when the turn runs instead. Code whose source
is not available (a lambda typed at a prompt) is skipped::

    >>> def handler(self, call):
    ...     return go("PaymentStep")
    >>> [text for text, _ in step_references(handler, returns_names=True)]
    ["go('PaymentStep')"]
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

_CALLS = frozenset(
    {
        "go",
        "Transition",
        "run_step",
        "activate",
        "activate_by_name",
        "get_step_state",
        "save_step_state",
    }
)
_UNRESOLVED = object()


def _namespace(func: Callable[..., Any]) -> dict[str, Any]:
    names: dict[str, Any] = dict(vars(builtins))
    names.update(getattr(func, "__globals__", {}))
    try:
        closure = inspect.getclosurevars(func)
    except (TypeError, ValueError):
        return names
    names.update(closure.globals)
    names.update(closure.nonlocals)
    return names


def _resolve(node: ast.expr, names: dict[str, Any]) -> Any:
    """The value an expression names statically: a string constant or a dotted name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id, _UNRESOLVED)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, names)
        if base is _UNRESOLVED or isinstance(base, str):
            return _UNRESOLVED
        return getattr(base, node.attr, _UNRESOLVED)
    return _UNRESOLVED


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def step_references(func: Callable[..., Any], *, returns_names: bool) -> Iterator[tuple[str, Any]]:
    """``(source text, value)`` for each step reference visible in ``func``'s source."""
    from langgraph_picoflow.flow._step import Step

    target = inspect.unwrap(func)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(target)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return
    names = _namespace(target)

    def is_step_class(value: Any) -> bool:
        return isinstance(value, type) and issubclass(value, Step)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _callee(node) in _CALLS:
            arg = node.args[0] if node.args else None
            for kw in node.keywords:
                if kw.arg == "step":
                    arg = kw.value
            if arg is None:
                continue
            value = _resolve(arg, names)
            if isinstance(value, str) or is_step_class(value):
                yield f"{_callee(node)}({ast.unparse(arg)})", value
        elif isinstance(node, ast.Return) and node.value is not None:
            value = _resolve(node.value, names)
            if is_step_class(value) or (returns_names and isinstance(value, str)):
                yield f"return {ast.unparse(node.value)}", value
