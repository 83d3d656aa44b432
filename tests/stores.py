"""Every store the saver suites run on, as factories of fresh, empty savers.

A store kind is one entry in ``SAVERS``: a function ``(request, tmp_path) ->
(sync factory, async factory)``. Suites get savers only through the ``make_saver`` and
``make_async_saver`` fixtures, so a new store joins every suite by adding one entry here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from langgraph_picoflow import AsyncPicoflowSaver, PicoflowSaver

SyncFactory = Callable[[], AbstractContextManager[PicoflowSaver]]
AsyncFactory = Callable[[], AbstractAsyncContextManager[AsyncPicoflowSaver]]
_counter = itertools.count()


def _conn_strings(url: Callable[[], str], **kwargs: Any) -> tuple[SyncFactory, AsyncFactory]:
    def sync() -> AbstractContextManager[PicoflowSaver]:
        return PicoflowSaver.from_conn_string(url(), **kwargs)

    def asynchronous() -> AbstractAsyncContextManager[AsyncPicoflowSaver]:
        return AsyncPicoflowSaver.from_conn_string(url(), **kwargs)

    return sync, asynchronous


def memory(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[SyncFactory, AsyncFactory]:
    """The pure in-memory store."""
    return _conn_strings(lambda: "memory://")


def sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[SyncFactory, AsyncFactory]:
    """SQLite files, a fresh one per saver."""
    return _conn_strings(lambda: f"sqlite:///{tmp_path / f'picoflow-{next(_counter)}.db'}")


SAVERS: dict[str, Callable[[pytest.FixtureRequest, Path], tuple[SyncFactory, AsyncFactory]]] = {
    "memory": memory,
    "sqlite": sqlite,
}
