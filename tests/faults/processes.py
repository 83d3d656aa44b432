"""Client processes that can be SIGKILLed at any moment.

Children come from a ``forkserver`` that has already imported LangGraph and the saver,
so a client starts in milliseconds instead of the ~1 s a fresh interpreter takes to
import them: hundreds of kill runs stay affordable. A child is killed and reaped through
its ``Process`` object (by its own pid, never by name).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from tests.faults.workload import Client, read_lines, run_client

_PRELOAD = ["tests.faults.workload", "langgraph_picoflow.saver", "langgraph.graph"]
_context: ForkServerContext | None = None


def _ctx() -> ForkServerContext:
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        assert isinstance(ctx, ForkServerContext)
        ctx.set_forkserver_preload(_PRELOAD)
        _context = ctx
    return _context


def start(client: Client) -> BaseProcess:
    """Start ``client`` in a child process."""
    return start_function(run_client, client)


def start_function(function: Callable[..., None], *args: Any) -> BaseProcess:
    """Start ``function(*args)`` in a child process (a module-level function)."""
    process = _ctx().Process(target=function, args=args, daemon=True)
    process.start()
    return process


def barrier(parties: int) -> Any:
    """A barrier the children of :func:`start_function` can share (pass it as an argument)."""
    return _ctx().Barrier(parties)


def kill(process: BaseProcess) -> None:
    """SIGKILL a child (no cleanup on its side) and reap it."""
    if process.is_alive():
        process.kill()
    process.join(timeout=30)


class Joinable(Protocol):
    """A thread or a process."""

    def join(self, timeout: float | None = None) -> None: ...

    def is_alive(self) -> bool: ...


def join_all(workers: Sequence[Joinable], timeout: float) -> list[Joinable]:
    """Join every worker within one shared deadline; return those still running."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    return [w for w in workers if w.is_alive()]


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.005) -> bool:
    """Poll ``condition`` until it holds; ``False`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def acks_at_least(path: Path, n: int) -> Callable[[], bool]:
    """A condition: the side file holds ``n`` acknowledged turns."""
    return lambda: len(read_lines(path)) >= n
