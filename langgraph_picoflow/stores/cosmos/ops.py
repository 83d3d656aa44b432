"""Cosmos DB operations as data, and how each maps onto an SDK container method.

The store's programs (:mod:`.program`) yield these and receive the SDK's answer; the
sync and async stores differ only in how they call the method :func:`sdk_call` names.
SDK exceptions are thrown back into the program, which reads them with :func:`status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from azure.core import MatchConditions
from azure.cosmos import PartitionKey

#: Which container an operation addresses.
Where = Literal["sessions", "log"]
#: ``(operation, args, kwargs)`` as ``execute_item_batch`` takes them.
BatchOp: TypeAlias = tuple[str, tuple[Any, ...], dict[str, Any]]


@dataclass(frozen=True)
class ReadItem:
    """Point read -> the item; a missing item raises (status 404)."""

    where: Where
    item_id: str
    pk: str


@dataclass(frozen=True)
class Query:
    """SQL query -> ``list[dict]``; ``pk=None`` means across partitions."""

    where: Where
    text: str
    params: Sequence[tuple[str, Any]] = ()
    pk: str | None = None
    page_size: int = -1


@dataclass(frozen=True)
class CreateItem:
    """Create -> the item (or only its headers when ``minimal``); an existing id: 409."""

    where: Where
    body: dict[str, Any]
    minimal: bool = False


@dataclass(frozen=True)
class ReplaceItem:
    """Replace, under ``If-Match`` when ``etag`` is given (412 when it changed)."""

    where: Where
    body: dict[str, Any]
    etag: str | None = None
    minimal: bool = False


@dataclass(frozen=True)
class UpsertItem:
    """Create or replace -> the item."""

    where: Where
    body: dict[str, Any]


@dataclass(frozen=True)
class PatchItem:
    """At most 10 patch operations under ``If-Match`` -> the patched item."""

    where: Where
    item_id: str
    pk: str
    operations: Sequence[dict[str, Any]]
    etag: str | None = None
    minimal: bool = False


@dataclass(frozen=True)
class DeleteItem:
    """Delete (a missing item raises 404), under ``If-Match`` when ``etag`` is given."""

    where: Where
    item_id: str
    pk: str
    etag: str | None = None


@dataclass(frozen=True)
class Batch:
    """Transactional batch in one logical partition -> per-operation results."""

    where: Where
    pk: str
    operations: Sequence[BatchOp] = field(default_factory=tuple)


@dataclass(frozen=True)
class DeletePartition:
    """Delete every item of a logical partition (preview feature of the service)."""

    where: Where
    pk: str


@dataclass(frozen=True)
class EnsureDatabase:
    """Create the database unless it exists."""

    name: str


@dataclass(frozen=True)
class EnsureContainer:
    """Create a container unless it exists (its settings apply only on creation)."""

    name: str
    partition_key: str
    indexing_policy: dict[str, Any]
    default_ttl: int | None = None


@dataclass(frozen=True)
class ReadContainer:
    """The container's properties (partition key, TTL, indexing policy)."""

    where: Where


ItemOp: TypeAlias = (
    ReadItem
    | Query
    | CreateItem
    | ReplaceItem
    | UpsertItem
    | PatchItem
    | DeleteItem
    | Batch
    | DeletePartition
)
CosmosOp: TypeAlias = ItemOp | EnsureDatabase | EnsureContainer | ReadContainer
#: What an operation is called on: the client, the database, or one of the containers.
Target = Literal["client", "database", "sessions", "log"]


def _if_match(etag: str | None) -> dict[str, Any]:
    if etag is None:
        return {}
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


def _minimal(minimal: bool) -> dict[str, Any]:
    # The service then answers with headers only: a head write does not download the
    # (possibly large) document it just wrote.
    return {"no_response": True} if minimal else {}


def etag_of(result: Any) -> str:
    """The etag of a written item, from its body or (minimal answers) its headers."""
    if isinstance(result, dict) and result.get("_etag"):
        return str(result["_etag"])
    headers = result.get_response_headers() if hasattr(result, "get_response_headers") else {}
    return str(headers.get("etag") or "")


def sdk_call(
    op: CosmosOp, *, is_async: bool
) -> tuple[Target, str, tuple[Any, ...], dict[str, Any]]:
    """``(target, method, args, kwargs)`` of the SDK call that performs ``op``."""
    if isinstance(op, EnsureDatabase):
        return "client", "create_database_if_not_exists", (op.name,), {}
    if isinstance(op, EnsureContainer):
        kwargs: dict[str, Any] = {
            "partition_key": PartitionKey(path=op.partition_key),
            "indexing_policy": op.indexing_policy,
        }
        if op.default_ttl is not None:
            kwargs["default_ttl"] = op.default_ttl
        return "database", "create_container_if_not_exists", (op.name,), kwargs
    if isinstance(op, ReadContainer):
        return op.where, "read", (), {}
    target, method, args, kw = _item_call(op, is_async=is_async)
    return target, method, args, kw


def _item_call(
    op: ItemOp, *, is_async: bool
) -> tuple[Target, str, tuple[Any, ...], dict[str, Any]]:
    w: Target = op.where
    if isinstance(op, ReadItem):
        return w, "read_item", (op.item_id, op.pk), {}
    if isinstance(op, Query):
        kwargs: dict[str, Any] = {
            "parameters": [{"name": n, "value": v} for n, v in op.params],
            "max_item_count": op.page_size,
        }
        if op.pk is not None:
            kwargs["partition_key"] = op.pk
        elif not is_async:  # the async client fans out by itself
            kwargs["enable_cross_partition_query"] = True
        return w, "query_items", (op.text,), kwargs
    if isinstance(op, CreateItem):
        return w, "create_item", (op.body,), _minimal(op.minimal)
    if isinstance(op, ReplaceItem):
        kwargs = {**_if_match(op.etag), **_minimal(op.minimal)}
        return w, "replace_item", (op.body["id"], op.body), kwargs
    if isinstance(op, UpsertItem):
        return w, "upsert_item", (op.body,), {}
    if isinstance(op, PatchItem):
        kwargs = {**_if_match(op.etag), **_minimal(op.minimal)}
        return w, "patch_item", (op.item_id, op.pk, list(op.operations)), kwargs
    if isinstance(op, DeleteItem):
        return w, "delete_item", (op.item_id, op.pk), _if_match(op.etag)
    if isinstance(op, Batch):
        return w, "execute_item_batch", (list(op.operations), op.pk), {}
    assert isinstance(op, DeletePartition)
    return w, "delete_all_items_by_partition_key", (op.pk,), {}


def status(exc: BaseException) -> int | None:
    """The HTTP status of an SDK error (``None`` for anything else)."""
    code = getattr(exc, "status_code", None)
    return int(code) if isinstance(code, int) else None


def batch_statuses(exc: BaseException) -> list[int] | None:
    """Per-operation statuses of a failed transactional batch, if ``exc`` is one."""
    responses = getattr(exc, "operation_responses", None)
    if not isinstance(responses, list):
        return None
    return [int(r.get("statusCode", 0)) if isinstance(r, dict) else 0 for r in responses]
