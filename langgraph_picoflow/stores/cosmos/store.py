"""``CosmosStore`` (azure-cosmos sync) and ``AsyncCosmosStore`` (``azure.cosmos.aio``).

Both run the same programs (:mod:`.program`); they differ only in how one operation is
sent to the SDK. Open one from a connection string with :func:`open_cosmos`::

    with open_cosmos("AccountEndpoint=https://acct.documents.azure.com:443/;AccountKey=...;")
        as (store, session_config):
        saver = PicoflowSaver(store, session=session_config)

or build one on a client you already have: ``CosmosStore(client, CosmosConfig(...))``.
Without an account key the client authenticates with ``DefaultAzureCredential``
(Entra ID). Keyword arguments not consumed here go to ``CosmosClient`` (e.g.
``connection_verify=False``, ``retry_total``, ``transport``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from typing import Any

from azure.cosmos import CosmosClient
from azure.cosmos.aio import CosmosClient as AsyncCosmosClient

from langgraph_picoflow.drive import adrive, drive
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.stores.cosmos.config import CosmosConfig, parse_connection_string
from langgraph_picoflow.stores.cosmos.ops import (
    CosmosOp,
    EnsureContainer,
    EnsureDatabase,
    Query,
    Target,
    sdk_call,
)
from langgraph_picoflow.stores.cosmos.program import expire, program, setup
from langgraph_picoflow.stores.cosmos.state import StoreState
from langgraph_picoflow.stores.protocol import Request

#: Keyword arguments of :func:`open_cosmos` that configure the store, not the client.
_CONFIG_KEYS = frozenset(
    {
        "database",
        "container",
        "log_container",
        "limits",
        "expire_after",
        "partition_delete",
        "page_size",
    }
)


class _CosmosBase:
    """What both stores share: configuration, per-thread memory, the SDK objects."""

    def __init__(self, client: Any, config: CosmosConfig | None, clock: Any) -> None:
        self.client = client
        self.config = config or CosmosConfig()
        self.state = StoreState(self.config, clock) if clock else StoreState(self.config)
        database = client.get_database_client(self.config.database)
        self._targets: dict[Target, Any] = {
            "client": client,
            "database": database,
            "sessions": database.get_container_client(self.config.container),
            "log": database.get_container_client(self.config.log_name),
        }

    def _call(self, op: CosmosOp, *, is_async: bool) -> Any:
        target, method, args, kwargs = sdk_call(op, is_async=is_async)
        return getattr(self._targets[target], method)(*args, **kwargs)


class CosmosStore(_CosmosBase):
    """Synchronous Cosmos DB store over an ``azure.cosmos.CosmosClient``."""

    def __init__(
        self, client: CosmosClient, config: CosmosConfig | None = None, *, clock: Any = None
    ) -> None:
        super().__init__(client, config, clock)

    def setup(self) -> None:
        """Create the database and containers if missing; idempotent."""
        drive(setup(self.state), self._run)

    def execute(self, request: Request) -> Any:
        """Answer one request of the store protocol."""
        return drive(program(self.state, request), self._run)

    def expire(self, now: float | None = None) -> int:
        """Delete expired sessions (``expire_after`` set); -> how many threads went."""
        removed: int = drive(expire(self.state, now), self._run)
        return removed

    def _run(self, op: CosmosOp) -> Any:
        result = self._call(op, is_async=False)
        if isinstance(op, Query):
            return list(result)
        return None if isinstance(op, (EnsureDatabase, EnsureContainer)) else result


class AsyncCosmosStore(_CosmosBase):
    """Asynchronous Cosmos DB store over an ``azure.cosmos.aio.CosmosClient``."""

    def __init__(
        self, client: AsyncCosmosClient, config: CosmosConfig | None = None, *, clock: Any = None
    ) -> None:
        super().__init__(client, config, clock)

    async def asetup(self) -> None:
        """Create the database and containers if missing; idempotent."""
        await adrive(setup(self.state), self._run)

    async def aexecute(self, request: Request) -> Any:
        """Answer one request of the store protocol."""
        return await adrive(program(self.state, request), self._run)

    async def aexpire(self, now: float | None = None) -> int:
        """Delete expired sessions (``expire_after`` set); -> how many threads went."""
        removed: int = await adrive(expire(self.state, now), self._run)
        return removed

    async def _run(self, op: CosmosOp) -> Any:
        result = self._call(op, is_async=True)
        if isinstance(op, Query):
            return [item async for item in result]
        result = await result
        return None if isinstance(op, (EnsureDatabase, EnsureContainer)) else result


@dataclass
class _Opening:
    """What a connection string and keyword arguments say: store settings, client args."""

    config: CosmosConfig
    endpoint: str
    #: The account key, or an Entra ID credential (then ours to close) when there is none.
    credential: Any
    client_kwargs: dict[str, Any]
    owns_credential: bool


def _opening(conn_string: str, kwargs: dict[str, Any], *, is_async: bool) -> _Opening:
    """Split store settings from SDK client arguments; pick key or Entra ID credential."""
    client_kwargs = dict(kwargs)
    settings = {k: client_kwargs.pop(k) for k in list(client_kwargs) if k in _CONFIG_KEYS}
    config = replace(client_kwargs.pop("config", None) or CosmosConfig(), **settings)
    endpoint, key = parse_connection_string(conn_string)
    if key is not None:
        return _Opening(config, endpoint, key, client_kwargs, False)
    if is_async:
        from azure.identity.aio import DefaultAzureCredential as AsyncCredential

        return _Opening(config, endpoint, AsyncCredential(), client_kwargs, True)
    from azure.identity import DefaultAzureCredential

    return _Opening(config, endpoint, DefaultAzureCredential(), client_kwargs, True)


_PICOFLOW_ON_COSMOS = SessionConfig(mongo_id=False)  # Picoflow on Cosmos has no ``_id``


@contextmanager
def open_cosmos(conn_string: str, **kwargs: Any) -> Iterator[tuple[CosmosStore, SessionConfig]]:
    """A synchronous store for ``AccountEndpoint=...;AccountKey=...;`` (key optional)."""
    o = _opening(conn_string, kwargs, is_async=False)
    with CosmosClient(o.endpoint, credential=o.credential, **o.client_kwargs) as client:
        try:
            yield CosmosStore(client, o.config), _PICOFLOW_ON_COSMOS
        finally:
            if o.owns_credential:
                o.credential.close()


@asynccontextmanager
async def open_async_cosmos(
    conn_string: str, **kwargs: Any
) -> AsyncIterator[tuple[AsyncCosmosStore, SessionConfig]]:
    """An asynchronous store for ``AccountEndpoint=...;AccountKey=...;`` (key optional)."""
    o = _opening(conn_string, kwargs, is_async=True)
    async with AsyncCosmosClient(o.endpoint, credential=o.credential, **o.client_kwargs) as client:
        try:
            yield AsyncCosmosStore(client, o.config), _PICOFLOW_ON_COSMOS
        finally:
            if o.owns_credential:
                await o.credential.close()
