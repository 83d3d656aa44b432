"""``MongoStore`` (pymongo ``MongoClient``) and ``AsyncMongoStore`` (``AsyncMongoClient``).

Both only drive the programs of :mod:`._program`, lowered to driver calls by
:mod:`._lower`: the sync store calls each one, the async store awaits it (native async
I/O, no thread pool). Everything they share lives in :class:`_MongoBase`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from pymongo import AsyncMongoClient, MongoClient
from pymongo.write_concern import WriteConcern

from langgraph_picoflow.drive import adrive, drive
from langgraph_picoflow.errors import StoreError
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.stores.mongodb import _program
from langgraph_picoflow.stores.mongodb._lower import Call, Handles, run
from langgraph_picoflow.stores.mongodb._ops import COLLECTIONS, Op
from langgraph_picoflow.stores.mongodb._profile import (
    Compat,
    Profile,
    compat_from_hello,
    compat_from_hosts,
    make_profile,
)
from langgraph_picoflow.stores.protocol import Request

log = logging.getLogger(__name__)

#: Picoflow's demo database and collection (``MONGODB_NAME``, ``MONGODB_COLLECTION``).
DEFAULT_DB = "picoflow"
DEFAULT_COLLECTION = "sessions"
#: Acknowledged by a majority and journaled: an acknowledged step survives a crash.
DURABLE = WriteConcern(w="majority", j=True)


class _MongoBase:
    """Configuration and program plumbing shared by the sync and the async store."""

    def __init__(
        self,
        client: Any,
        *,
        db_name: str = DEFAULT_DB,
        collection: str = DEFAULT_COLLECTION,
        compat: Compat | None = None,
        write_concern: WriteConcern | None = None,
        transactions: bool | None = None,
        client_bulk_write: bool | None = None,
        max_document_bytes: int | None = None,
        expire_after: float | None = None,
    ) -> None:
        self.client = client
        self.db_name, self.collection = db_name, collection
        self.write_concern = write_concern or DURABLE
        self.expire_after = expire_after
        self._options = (compat, transactions, client_bulk_write, max_document_bytes)
        names = {c: collection if c == "sessions" else f"{collection}.{c}" for c in COLLECTIONS}
        db = client.get_database(db_name)
        self._colls: dict[str, Any] = {
            c: db.get_collection(n, write_concern=self.write_concern) for c, n in names.items()
        }
        self._namespaces: dict[str, str] = {c: f"{db_name}.{n}" for c, n in names.items()}
        #: Set by :meth:`setup` (or the first request) from the server's ``hello``.
        self.profile: Profile | None = None

    def _handles(self) -> Handles:
        return Handles(self.client, self._colls, self._namespaces, self.write_concern)

    def _lowered(self, program: Generator[Op, Any, Any]) -> Generator[Call, Any, Any]:
        return run(program, self._handles())

    def _profile_from(self, replies: tuple[dict[str, Any], dict[str, Any]]) -> Profile:
        hello, build = replies
        compat, transactions, bulk, max_bytes = self._options
        hosts = [f"{h}:{p}" for h, p in self.client.topology_description.server_descriptions()]
        hosts += [str(h) for h in hello.get("hosts", [])]
        compat = compat or compat_from_hosts(hosts) or compat_from_hello(hello, build) or "mongodb"
        if compat != "mongodb" and self.client.options.retry_writes:
            log.warning(
                "%s usually refuses retryable writes: connect with retryWrites=false", compat
            )
        return make_profile(
            compat,
            hello,
            transactions=transactions,
            client_bulk_write=bulk,
            max_document_bytes=max_bytes,
        )

    def _cutoff(self, now: datetime | None) -> datetime:
        if self.expire_after is None:
            raise StoreError("expiry is off: create the store with expire_after=<seconds>")
        return (now or datetime.now(timezone.utc)) - timedelta(seconds=self.expire_after)


class MongoStore(_MongoBase):
    """Synchronous store on a ``pymongo.MongoClient`` (MongoDB, DocumentDB, Cosmos DB).

    Options (all keyword, shared with :class:`AsyncMongoStore`):

    * ``db_name``, ``collection``: where sessions live (``picoflow``/``sessions``); the
      log and sidecars go to ``<collection>.checkpoints``, ``.writes``, ``.blobs``,
      ``.sidecars`` and ``.chunks``.
    * ``compat``: ``"mongodb"``, ``"documentdb"`` or ``"cosmos"``; recognised from the
      hosts and ``hello`` when not given.
    * ``write_concern``: default ``w="majority", j=True``.
    * ``transactions``: ``True`` commits each write in a transaction (replica sets only);
      by default writes are compensated instead, see :mod:`._writes`.
    * ``client_bulk_write``: use MongoDB 8's client-level ``bulkWrite`` (default: when
      the server has it and the mode allows it).
    * ``max_document_bytes``: the item limit to keep documents under (default: the
      server's, 2 MB on Cosmos DB).
    * ``expire_after``: seconds; enables :meth:`expire` (off by default, as in Picoflow).

    >>> store = MongoStore(MongoClient("mongodb://localhost", connect=False), db_name="app")
    >>> store.collection
    'sessions'
    """

    @classmethod
    @contextmanager
    def from_conn_string(cls, conn_string: str, **kwargs: Any) -> Iterator[MongoStore]:
        """A store on a new client for ``conn_string``, closed on exit."""
        with open_mongodb(conn_string, **kwargs) as (store, _):
            yield store

    def setup(self) -> None:
        """Recognise the server and create the indexes; idempotent."""
        profile = self._ensure_profile()
        drive(self._lowered(_program.setup(profile, self.expire_after is not None)), self._call)

    def execute(self, request: Request) -> Any:
        """Answer one request of the store protocol."""
        program = _program.program(request, self._ensure_profile())
        return drive(self._lowered(program), self._call)

    def expire(self, now: datetime | None = None) -> list[str]:
        """Delete whole sessions not saved for ``expire_after`` seconds; their thread ids."""
        program = _program.expire(self._cutoff(now), self._ensure_profile())
        expired: list[str] = drive(self._lowered(program), self._call)
        return expired

    def _ensure_profile(self) -> Profile:
        if self.profile is None:
            self.profile = self._profile_from(drive(self._lowered(_program.detect()), self._call))
        return self.profile

    @staticmethod
    def _call(call: Call) -> Any:
        result = getattr(call.target, call.method)(*call.args, **call.kwargs)
        return list(result) if call.collect else result


class AsyncMongoStore(_MongoBase):
    """Asynchronous store on a native ``pymongo.AsyncMongoClient``."""

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls, conn_string: str, **kwargs: Any
    ) -> AsyncIterator[AsyncMongoStore]:
        """A store on a new async client for ``conn_string``, closed on exit."""
        async with open_async_mongodb(conn_string, **kwargs) as (store, _):
            yield store

    async def asetup(self) -> None:
        """Recognise the server and create the indexes; idempotent."""
        profile = await self._ensure_profile()
        await adrive(
            self._lowered(_program.setup(profile, self.expire_after is not None)), self._call
        )

    async def aexecute(self, request: Request) -> Any:
        """Answer one request of the store protocol."""
        program = _program.program(request, await self._ensure_profile())
        return await adrive(self._lowered(program), self._call)

    async def aexpire(self, now: datetime | None = None) -> list[str]:
        """Delete whole sessions not saved for ``expire_after`` seconds; their thread ids."""
        program = _program.expire(self._cutoff(now), await self._ensure_profile())
        expired: list[str] = await adrive(self._lowered(program), self._call)
        return expired

    async def _ensure_profile(self) -> Profile:
        if self.profile is None:
            replies = await adrive(self._lowered(_program.detect()), self._call)
            self.profile = self._profile_from(replies)
        return self.profile

    @staticmethod
    async def _call(call: Call) -> Any:
        result = getattr(call.target, call.method)(*call.args, **call.kwargs)
        if inspect.isawaitable(result):
            result = await result
        return (await result.to_list()) if call.collect else result


# --- opening by URL ----------------------------------------------------------------------


def _uri_parts(conn_string: str) -> tuple[list[str], str | None, str]:
    """Hosts, database and options of a MongoDB URI, without DNS (``+srv`` stays unresolved)."""
    rest = conn_string.split("://", 1)[1]
    rest, _, query = rest.partition("?")
    hosts, _, path = rest.rpartition("@")[2].partition("/")
    return hosts.split(","), path or None, query.lower()


def _client_options(
    conn_string: str, compat: Compat | None, options: dict[str, Any]
) -> dict[str, Any]:
    hosts, _, query = _uri_parts(conn_string)
    mode = compat or compat_from_hosts(hosts)
    if mode in ("documentdb", "cosmos") and "retrywrites" not in query:
        options.setdefault("retryWrites", False)
    return options


def _store_kwargs(conn_string: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    _, db, _ = _uri_parts(conn_string)
    kwargs.setdefault("db_name", db or DEFAULT_DB)
    return kwargs


@contextmanager
def open_mongodb(
    conn_string: str, *, client_options: dict[str, Any] | None = None, **kwargs: Any
) -> Iterator[tuple[MongoStore, SessionConfig]]:
    """A :class:`MongoStore` on a new ``MongoClient`` and the session defaults for Mongo.

    ``kwargs`` are :class:`MongoStore` options (``db_name``, default the URI's database or
    ``picoflow``; ``collection``, default ``sessions``; ``compat``; ``write_concern``...).
    """
    options = _client_options(conn_string, kwargs.get("compat"), dict(client_options or {}))
    client: MongoClient[dict[str, Any]] = MongoClient(conn_string, **options)
    try:
        yield MongoStore(client, **_store_kwargs(conn_string, kwargs)), SessionConfig()
    finally:
        client.close()


@asynccontextmanager
async def open_async_mongodb(
    conn_string: str, *, client_options: dict[str, Any] | None = None, **kwargs: Any
) -> AsyncIterator[tuple[AsyncMongoStore, SessionConfig]]:
    """An :class:`AsyncMongoStore` on a new ``AsyncMongoClient`` (see :func:`open_mongodb`)."""
    options = _client_options(conn_string, kwargs.get("compat"), dict(client_options or {}))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(conn_string, **options)
    try:
        yield AsyncMongoStore(client, **_store_kwargs(conn_string, kwargs)), SessionConfig()
    finally:
        await client.close()
