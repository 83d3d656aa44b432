"""What the server can do, as one immutable profile the programs consult.

The mode (``mongodb``, ``documentdb``, ``cosmos``) is given or recognised from the hosts
and the ``hello`` reply; the features (the client-level ``bulkWrite``, the item size limit)
follow from the mode and from what ``hello`` advertises. Transactions are used only when
asked for (``transactions=True``, on a replica set or sharded cluster).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from langgraph_picoflow.errors import StoreError

Compat: TypeAlias = Literal["mongodb", "documentdb", "cosmos"]
COMPAT_MODES: tuple[Compat, ...] = ("mongodb", "documentdb", "cosmos")

MONGO_MAX_DOCUMENT = 16 * 1024 * 1024
#: Cosmos DB for MongoDB (RU) refuses items above 2 MB.
COSMOS_MAX_DOCUMENT = 2 * 1024 * 1024
#: ``bulkWrite`` across namespaces arrived with wire version 25 (MongoDB 8.0).
CLIENT_BULK_WIRE_VERSION = 25

_HOST_SUFFIXES: tuple[tuple[str, Compat], ...] = (
    (".docdb.amazonaws.com", "documentdb"),
    (".docdb-elastic.amazonaws.com", "documentdb"),
    # vCore runs on the DocumentDB engine; treat it with the same caution.
    (".mongocluster.cosmos.azure.com", "documentdb"),
    (".mongo.cosmos.azure.com", "cosmos"),
    (".documents.azure.com", "cosmos"),
)


@dataclass(frozen=True)
class Profile:
    """The features a store uses on one server.

    ``max_document_bytes`` is the item limit the store keeps every document under;
    ``check_sizes`` makes it measure documents itself (Cosmos), where MongoDB-like servers
    refuse an oversized update on their own.
    """

    compat: Compat = "mongodb"
    transactions: bool = False
    client_bulk: bool = True
    max_document_bytes: int = MONGO_MAX_DOCUMENT
    check_sizes: bool = False
    sparse_indexes: bool = True

    @property
    def inline_bytes(self) -> int:
        """Largest payload kept inside a log, write or blob document (bigger: chunked)."""
        return self.max_document_bytes // 4

    @property
    def head_bytes(self) -> int:
        """Budget of the stored session document (room left for the update command)."""
        return self.max_document_bytes - 64 * 1024


def compat_from_hosts(hosts: Iterable[str]) -> Compat | None:
    """The mode a host name gives away (managed services have telltale domains).

    >>> compat_from_hosts(["x.cluster-abc.eu-west-1.docdb.amazonaws.com"])
    'documentdb'
    """
    for host in hosts:
        name = host.lower().rsplit(":", 1)[0] if host.count(":") == 1 else host.lower()
        for suffix, compat in _HOST_SUFFIXES:
            if name.endswith(suffix):
                return compat
    return None


def compat_from_hello(hello: Mapping[str, Any], build_info: Mapping[str, Any]) -> Compat | None:
    """The mode ``hello``/``buildInfo`` give away, when they do.

    Cosmos DB's RU API answers ``buildInfo`` without ``gitVersion`` and reports an old
    server version; DocumentDB names itself in neither, so it is recognised by host.
    """
    text = " ".join(str(v) for v in (*hello.values(), *build_info.values())).lower()
    if "cosmos" in text:
        return "cosmos"
    if "documentdb" in text or "docdb" in text:
        return "documentdb"
    return None


def make_profile(
    compat: Compat,
    hello: Mapping[str, Any],
    *,
    transactions: bool | None = None,
    client_bulk_write: bool | None = None,
    max_document_bytes: int | None = None,
) -> Profile:
    """The profile for ``compat`` on a server that answered ``hello``; options override."""
    if compat not in COMPAT_MODES:
        raise StoreError(f"compat must be one of {COMPAT_MODES}, got {compat!r}")
    sessions = "logicalSessionTimeoutMinutes" in hello
    replicated = "setName" in hello or hello.get("msg") == "isdbgrid"
    wire = int(hello.get("maxWireVersion", 0))
    server_max = int(hello.get("maxBsonObjectSize", MONGO_MAX_DOCUMENT))
    # Transactions are opt-in: a client that dies inside one leaves it open on the server,
    # and the session refuses every writer until the server reaps it (60 s by default).
    # The compensating write path needs no more round trips and leaves nothing locked.
    if compat == "cosmos":
        # RU accounts run transactions only inside one collection; a write here spans several.
        bulk, limit = False, min(server_max, COSMOS_MAX_DOCUMENT)
        if transactions:
            raise StoreError("Cosmos DB (RU) has no transactions across collections")
    elif compat == "documentdb":
        bulk, limit = False, server_max
    else:
        bulk, limit = wire >= CLIENT_BULK_WIRE_VERSION, server_max
    if transactions and not (sessions and replicated):
        raise StoreError("transactions=True, but the server is not a replica set or sharded")
    if client_bulk_write and wire < CLIENT_BULK_WIRE_VERSION:
        raise StoreError("client_bulk_write=True needs MongoDB 8.0+ (wire version 25)")
    limit = max_document_bytes or limit
    return Profile(
        compat=compat,
        transactions=bool(transactions),
        client_bulk=bulk if client_bulk_write is None else client_bulk_write,
        max_document_bytes=limit,
        check_sizes=limit < server_max,
        sparse_indexes=compat != "cosmos",
    )
