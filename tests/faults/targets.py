"""One storage of a registered store kind, reachable many times over.

The registry (``tests/stores.py``) hands out factories of *fresh* savers. Fault and
concurrency tests need the opposite: several savers, threads and processes on the *same*
storage, and the same storage through another address (a fault proxy, a restarted
server). :func:`capture` gets that from any registry entry without knowing its kind: it
calls the entry's sync factory once with ``PicoflowSaver.from_conn_string`` replaced by a
recorder, and keeps the connection string and keyword arguments it was given. Every later
saver opens that same string, so a store added to the registry joins these suites as it is.

The in-memory store lives in one process: its target shares one ``MemoryStore`` object
between savers and is not ``cross_process``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import (
    AbstractContextManager,
    ExitStack,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from langgraph_picoflow import AsyncPicoflowSaver, PicoflowSaver
from langgraph_picoflow.stores.memory import MemoryStore
from tests.stores import SAVERS

#: A loopback ``host:port`` inside a connection string (our test servers only listen there).
_LOOPBACK = re.compile(r"(?P<host>127\.0\.0\.1|localhost|\[::1\]):(?P<port>\d+)")


@dataclass(frozen=True)
class Target:
    """A storage: how to open savers on it, from this process or a child process."""

    kind: str
    conn_string: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: The one store object of an in-memory target (``None`` for every other kind).
    memory: MemoryStore | None = field(default=None, compare=False, repr=False)

    @property
    def cross_process(self) -> bool:
        """Whether another process can open this storage (everything but memory)."""
        return self.memory is None

    @property
    def address(self) -> tuple[str, int] | None:
        """The server's loopback ``(host, port)``, or ``None`` for embedded stores."""
        for text in (self.conn_string, *map(str, self.kwargs.values())):
            found = _LOOPBACK.search(text)
            if found:
                return found["host"], int(found["port"])
        return None

    @property
    def is_mongodb(self) -> bool:
        """Whether this is a MongoDB URI (SecantusDB or ``MONGODB_URI``)."""
        return self.conn_string.startswith(("mongodb://", "mongodb+srv://"))

    @property
    def is_cosmos(self) -> bool:
        """Whether this is a Cosmos DB connection string (emulator or ``COSMOS_ENDPOINT``)."""
        return "accountendpoint=" in self.conn_string.lower()

    def with_timeouts(self, seconds: float) -> Target:
        """The same storage with the driver's socket timeouts set (a stalled server fails).

        Without them a server that accepts a request and never answers hangs the client
        for good; these are the options a deployment should set too.
        """
        ms = str(int(seconds * 1000))
        if self.is_mongodb:
            options = {
                "socketTimeoutMS": ms,
                "connectTimeoutMS": ms,
                "serverSelectionTimeoutMS": ms,
            }
            return replace(self, conn_string=_with_query(self.conn_string, options))
        if self.is_cosmos:
            limits = {"read_timeout": seconds, "connection_timeout": seconds}
            return replace(self, kwargs={**self.kwargs, **limits})
        return self

    def via(self, port: int, **options: str) -> Target:
        """The same storage through ``127.0.0.1:port`` (a proxy or a restarted server).

        MongoDB URIs get ``directConnection=true`` so the driver never discovers (and
        bypasses to) the address the server advertises, plus any ``options`` given.
        """
        address = self.address
        if address is None:
            raise ValueError(f"{self.kind} has no server address to redirect")
        old = f"{address[0]}:{address[1]}"
        new = f"127.0.0.1:{port}"
        conn = self.conn_string.replace(old, new)
        if self.is_mongodb:
            conn = _with_query(conn, {"directConnection": "true", **options})
        kwargs = {
            k: v.replace(old, new) if isinstance(v, str) else v for k, v in self.kwargs.items()
        }
        return replace(self, conn_string=conn, kwargs=kwargs)

    def saver(self) -> AbstractContextManager[PicoflowSaver]:
        """A new synchronous saver (its own connection) on this storage."""
        if self.memory is not None:
            saver = PicoflowSaver(self.memory)
            return nullcontext(saver)
        return PicoflowSaver.from_conn_string(self.conn_string, **self.kwargs)

    @asynccontextmanager
    async def async_saver(self) -> AsyncIterator[AsyncPicoflowSaver]:
        """A new asynchronous saver (its own connection) on this storage."""
        if self.memory is not None:
            yield AsyncPicoflowSaver(self.memory)
            return
        async with AsyncPicoflowSaver.from_conn_string(self.conn_string, **self.kwargs) as saver:
            yield saver


def _with_query(url: str, options: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(options)
    return urlunsplit(parts._replace(query=urlencode(query)))


def capture(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """A :class:`Target` on a fresh storage of registry entry ``kind``.

    The entry's factory runs (entered and left) with ``from_conn_string`` recording its
    arguments and yielding a stand-in saver, so whatever the entry does around the saver
    (naming a fresh database, dropping it afterwards) happens to the stand-in only.
    """
    sync_factory, _ = SAVERS[kind](request, tmp_path)
    calls: list[tuple[str, dict[str, Any]]] = []

    def recorder(conn_string: str, **kwargs: Any) -> AbstractContextManager[Any]:
        calls.append((conn_string, kwargs))
        return nullcontext(mock.MagicMock(name=f"{kind}-stand-in"))

    with mock.patch.object(PicoflowSaver, "from_conn_string", recorder), sync_factory():
        pass
    if len(calls) != 1:
        raise AssertionError(
            f"SAVERS[{kind!r}] does not open its savers with PicoflowSaver.from_conn_string; "
            "tests/faults needs that to reach one storage from several savers and processes"
        )
    conn_string, kwargs = calls[0]
    if conn_string == "memory://":
        return Target(kind, conn_string, kwargs, memory=MemoryStore())
    return Target(kind, conn_string, kwargs)


def target_fixture() -> Any:
    """The ``target`` fixture (one fresh storage per test, on every registered store).

    A module gets it with ``target = target_fixture()``; it rides on ``saver_kind``, which
    is parametrized over the registry.
    """

    @pytest.fixture
    def target(saver_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Target:
        return capture(saver_kind, request, tmp_path)

    return target


@contextmanager
def savers(target: Target, n: int) -> Iterator[list[PicoflowSaver]]:
    """``n`` synchronous savers on ``target``, each with its own connection."""
    with ExitStack() as stack:
        yield [stack.enter_context(target.saver()) for _ in range(n)]
