"""Run a sans-I/O generator: hand each thing it yields to ``step``, send back the answer.

The same two loops drive the saver's plans (over a store) and a store's own programs
(over a connection). An error from ``step`` is thrown into the generator, so a program
can clean up (roll back) and re-raise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

Req = TypeVar("Req")


def drive(gen: Generator[Req, Any, Any], step: Callable[[Req], Any]) -> Any:
    """Run ``gen`` to completion synchronously; returns its return value."""
    try:
        request = next(gen)
        while True:
            try:
                answer = step(request)
            except Exception as exc:
                request = gen.throw(exc)
            else:
                request = gen.send(answer)
    except StopIteration as stop:
        return stop.value


async def adrive(gen: Generator[Req, Any, Any], step: Callable[[Req], Awaitable[Any]]) -> Any:
    """Run ``gen`` to completion, awaiting each step; returns its return value."""
    try:
        request = next(gen)
        while True:
            try:
                answer = await step(request)
            except Exception as exc:
                request = gen.throw(exc)
            else:
                request = gen.send(answer)
    except StopIteration as stop:
        return stop.value
