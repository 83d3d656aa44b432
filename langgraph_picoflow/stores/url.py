"""Open a store from a connection string, as ``from_conn_string`` takes them.

* ``:memory:`` or ``sqlite://:memory:`` - SQLite in memory;
* ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or a bare file path - SQLite;
* ``memory://`` - the pure in-memory store;
* ``mongodb://...`` / ``mongodb+srv://...`` - MongoDB, DocumentDB, Cosmos DB for MongoDB;
* ``AccountEndpoint=https://...;AccountKey=...;`` - Azure Cosmos DB (NoSQL API).

Remote stores are imported only when asked for, so their drivers stay optional extras.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from langgraph_picoflow.errors import StoreError
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.protocol import AsyncStore, Store
from langgraph_picoflow.stores.sqlite import AsyncSqliteStore, SqliteStore


def is_mongodb_url(conn_string: str) -> bool:
    """Whether ``conn_string`` is a MongoDB URI."""
    return conn_string.startswith(("mongodb://", "mongodb+srv://"))


def is_cosmos_connection_string(conn_string: str) -> bool:
    """Whether ``conn_string`` is a Cosmos DB connection string (``AccountEndpoint=...``)."""
    return "accountendpoint=" in conn_string.lower()


def sqlite_path(conn_string: str) -> str:
    """The SQLite database path a connection string names.

    >>> sqlite_path("sqlite:///data/sessions.db"), sqlite_path(":memory:")
    ('data/sessions.db', ':memory:')
    """
    if conn_string in (":memory:", "sqlite://", "sqlite://:memory:", "sqlite:///:memory:"):
        return ":memory:"
    if conn_string.startswith("sqlite:///"):
        path = conn_string[len("sqlite:///") :]
    elif "://" in conn_string:
        raise StoreError(f"unsupported store URL scheme: {conn_string.split('://')[0]!r}")
    else:
        path = conn_string
    if not path or "\x00" in path:
        raise StoreError(f"invalid SQLite path in {conn_string!r}")
    return path


@contextmanager
def open_store(conn_string: str, **kwargs: Any) -> Iterator[tuple[Store, SessionConfig]]:
    """A synchronous store for ``conn_string`` with the document defaults that suit it."""
    if is_mongodb_url(conn_string):
        from langgraph_picoflow.stores.mongodb import open_mongodb

        with open_mongodb(conn_string, **kwargs) as opened:
            yield opened
        return
    if is_cosmos_connection_string(conn_string):
        from langgraph_picoflow.stores.cosmos import open_cosmos

        with open_cosmos(conn_string, **kwargs) as opened:
            yield opened
        return
    if conn_string == "memory://":
        yield MemoryStore(), SessionConfig()
        return
    store = SqliteStore.connect(sqlite_path(conn_string))
    try:
        yield store, SessionConfig()
    finally:
        store.conn.close()


@asynccontextmanager
async def open_async_store(
    conn_string: str, **kwargs: Any
) -> AsyncIterator[tuple[AsyncStore, SessionConfig]]:
    """An asynchronous store for ``conn_string`` with the document defaults that suit it."""
    if is_mongodb_url(conn_string):
        from langgraph_picoflow.stores.mongodb import open_async_mongodb

        async with open_async_mongodb(conn_string, **kwargs) as opened:
            yield opened
        return
    if is_cosmos_connection_string(conn_string):
        from langgraph_picoflow.stores.cosmos import open_async_cosmos

        async with open_async_cosmos(conn_string, **kwargs) as opened:
            yield opened
        return
    if conn_string == "memory://":
        yield MemoryStore(), SessionConfig()
        return
    store = await AsyncSqliteStore.connect(sqlite_path(conn_string))
    try:
        yield store, SessionConfig()
    finally:
        await store.conn.close()
