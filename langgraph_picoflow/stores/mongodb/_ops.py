"""MongoDB operations as data: what a store program asks the driver to run.

A program (see :mod:`._program`) yields these and receives their results; it never
touches a client. Collections are named logically (``"sessions"``, ``"checkpoints"``...)
and resolved to real ones by the driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

Coll: TypeAlias = Literal["sessions", "sidecars", "checkpoints", "writes", "blobs", "chunks"]
COLLECTIONS: tuple[Coll, ...] = ("sessions", "sidecars", "checkpoints", "writes", "blobs", "chunks")

# --- reads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Find:
    """-> ``list[dict]``: the matching documents."""

    coll: Coll
    filter: Mapping[str, Any]
    projection: Mapping[str, Any] | None = None
    sort: tuple[tuple[str, int], ...] = ()
    limit: int = 0


@dataclass(frozen=True)
class Aggregate:
    """-> ``list[dict]``; with ``fallible`` a server error is returned as :class:`Failed`."""

    coll: Coll
    pipeline: tuple[Mapping[str, Any], ...]
    fallible: bool = False


@dataclass(frozen=True)
class Distinct:
    """-> ``list``: the distinct values of ``key``."""

    coll: Coll
    key: str


@dataclass(frozen=True)
class Command:
    """-> ``dict``: an admin command's reply (``hello``, ``buildInfo``)."""

    name: str


@dataclass(frozen=True)
class CreateIndex:
    """Create an index (a no-op when the same index exists)."""

    coll: Coll
    keys: tuple[tuple[str, int], ...]
    name: str
    sparse: bool = False


@dataclass(frozen=True)
class Failed:
    """A server error returned as a value (for :class:`Aggregate` with ``fallible``)."""

    code: int | None
    message: str


# --- writes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Insert:
    """Insert one document.

    ``fallback``: the upsert this insert stands for. An insert is a primary-key write on
    every server, where an upsert first queries its filter (and some servers, SecantusDB
    among them, scan the collection for a filter on a composite ``_id``). A duplicate key
    error makes the program run ``fallback`` instead, with the same outcome as the upsert.
    """

    coll: Coll
    doc: Mapping[str, Any]
    fallback: Update | Replace | None = None


@dataclass(frozen=True)
class Update:
    """Update one document."""

    coll: Coll
    filter: Mapping[str, Any]
    update: Mapping[str, Any]
    upsert: bool = False


@dataclass(frozen=True)
class Replace:
    """Replace one document."""

    coll: Coll
    filter: Mapping[str, Any]
    doc: Mapping[str, Any]
    upsert: bool = False


@dataclass(frozen=True)
class Delete:
    """Delete every matching document."""

    coll: Coll
    filter: Mapping[str, Any]


Model: TypeAlias = Insert | Update | Replace | Delete


@dataclass(frozen=True)
class Bulk:
    """Write models in order, stopping at the first error -> :class:`BulkResult`.

    ``client``: one client-level ``bulkWrite`` (MongoDB 8.0+), a single round trip across
    collections; otherwise one ``bulk_write`` per run of models on the same collection.
    """

    models: tuple[Model, ...]
    client: bool = False


@dataclass(frozen=True)
class WriteFailure:
    """Why a write did not apply: ``index`` of the failed model, server code, kind."""

    index: int
    kind: Literal["duplicate", "too_large", "transient", "other"]
    code: int | None
    message: str


@dataclass
class BulkResult:
    """What a :class:`Bulk` did.

    ``counts`` maps a model index to its matched (update, replace) or deleted count when
    the driver reports it per model; ``upserted`` holds the indexes whose upsert inserted.
    Models before ``error.index`` were applied; none after.
    """

    counts: dict[int, int] = field(default_factory=dict)
    upserted: set[int] = field(default_factory=set)
    error: WriteFailure | None = None

    def applied(self, total: int) -> int:
        """How many of the ``total`` models were applied."""
        return self.error.index if self.error is not None else total


@dataclass(frozen=True)
class Txn:
    """Start, commit or abort the transaction of this request.

    ``commit`` -> ``WriteFailure | None`` (``transient``: retry the transaction).
    """

    action: Literal["start", "commit", "abort"]


Op: TypeAlias = Find | Aggregate | Distinct | Command | CreateIndex | Bulk | Txn
