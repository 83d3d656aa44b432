"""Every store the saver suites run on, as factories of fresh, empty savers.

A store kind is one entry in ``SAVERS``: a function ``(request, tmp_path) ->
(sync factory, async factory)``. Suites get savers only through the ``make_saver`` and
``make_async_saver`` fixtures, so a new store joins every suite by adding one entry here.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
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


def mongodb(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[SyncFactory, AsyncFactory]:
    """MongoDB (SecantusDB, or ``$MONGODB_URI``): a fresh database per saver, dropped after."""
    from tests.servers.mongo import unique_db_name

    uri: str = request.getfixturevalue("mongo_uri")

    @contextmanager
    def sync() -> Iterator[PicoflowSaver]:
        name = unique_db_name("saver")
        with PicoflowSaver.from_conn_string(uri, db_name=name) as saver:
            try:
                yield saver
            finally:
                saver.store.client.drop_database(name)  # type: ignore[attr-defined]

    @asynccontextmanager
    async def asynchronous() -> AsyncIterator[AsyncPicoflowSaver]:
        name = unique_db_name("saver")
        async with AsyncPicoflowSaver.from_conn_string(uri, db_name=name) as saver:
            try:
                yield saver
            finally:
                await saver.store.client.drop_database(name)  # type: ignore[attr-defined]

    return sync, asynchronous


def cosmos(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[SyncFactory, AsyncFactory]:
    """Azure Cosmos DB (the local emulator, or $COSMOS_ENDPOINT), a fresh database per saver."""
    from tests.servers.mongo import unique_db_name

    endpoint = request.getfixturevalue("cosmos_endpoint")
    client_kwargs: dict[str, Any] = request.getfixturevalue("cosmos_client_kwargs")
    client = request.getfixturevalue("cosmos_client")
    conn = f"AccountEndpoint={endpoint.url};AccountKey={endpoint.key};"
    created: list[str] = []

    def database() -> str:
        name = unique_db_name(f"{request.node.name}-{next(_counter)}")
        created.append(name)
        return name

    def drop() -> None:
        from azure.cosmos.exceptions import CosmosHttpResponseError

        for name in created:
            with contextlib.suppress(CosmosHttpResponseError):  # never created, or gone
                client.delete_database(name)

    request.addfinalizer(drop)

    def sync() -> AbstractContextManager[PicoflowSaver]:
        return PicoflowSaver.from_conn_string(conn, database=database(), **client_kwargs)

    def asynchronous() -> AbstractAsyncContextManager[AsyncPicoflowSaver]:
        return AsyncPicoflowSaver.from_conn_string(conn, database=database(), **client_kwargs)

    return sync, asynchronous


SAVERS: dict[str, Callable[[pytest.FixtureRequest, Path], tuple[SyncFactory, AsyncFactory]]] = {
    "memory": memory,
    "mongodb": mongodb,
    "sqlite": sqlite,
    "cosmos": cosmos,
}
