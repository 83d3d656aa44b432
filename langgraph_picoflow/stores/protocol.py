"""The one small protocol every store implements, sync and async.

The saver's logic (in :mod:`langgraph_picoflow.plans`) never talks to a database: it
yields the requests below and receives their results. A store answers each request
with its own primitives; ``execute`` and ``aexecute`` are its only entry points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

from langgraph_picoflow.patch import PatchOp
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, SessionRecord, WriteRecord

# --- reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadSession:
    """-> :class:`SessionRecord` or ``None``."""

    thread_id: str


@dataclass(frozen=True)
class ReadHead:
    """-> :class:`HeadRead`: what reading a thread's latest state needs, in one request.

    Stores answer it in as few round trips as they can (MongoDB and Cosmos: two).
    """

    thread_id: str


@dataclass
class HeadRead:
    """The session, the newest root log entry, and that entry's writes and blobs."""

    session: SessionRecord | None
    latest: CheckpointRecord | None
    writes: list[WriteRecord]
    blobs: list[BlobRecord]


def head_blob_keys(record: CheckpointRecord) -> tuple[tuple[str, str], ...]:
    """The ``(channel, version)`` blobs a log entry's values live in."""
    data = record.checkpoint
    return tuple(
        sorted(
            (ch, str(v))
            for ch, v in data["channel_versions"].items()
            if ch not in data["inline"] and ch not in data["projected"]
        )
    )


@dataclass(frozen=True)
class ReadCheckpoint:
    """-> the :class:`CheckpointRecord` with that id, or the newest one when id is ``None``."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None = None


@dataclass(frozen=True)
class ListCheckpoints:
    """-> ``list[CheckpointRecord]``, newest first (by checkpoint id).

    ``None`` in ``thread_id``/``checkpoint_ns`` means any. ``metadata`` keeps records
    whose metadata has each key equal (as JSON) to the given value.
    """

    thread_id: str | None = None
    checkpoint_ns: str | None = None
    checkpoint_id: str | None = None
    before: str | None = None
    limit: int | None = None
    metadata: dict[str, Any] | None = None
    run_ids: tuple[str, ...] | None = None
    #: ``False``: the store may leave ``CheckpointRecord.session`` out (it can be large).
    with_session: bool = True


@dataclass(frozen=True)
class ReadWrites:
    """-> ``list[WriteRecord]`` of these checkpoints (any order; the plan sorts)."""

    thread_id: str
    checkpoint_ns: str | None
    checkpoint_ids: tuple[str, ...] | None
    channels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ReadBlobs:
    """-> ``list[BlobRecord]`` for these ``(channel, version)`` keys (all when ``None``)."""

    thread_id: str
    checkpoint_ns: str | None
    keys: tuple[tuple[str, str], ...] | None


# --- writes (one :class:`Write` is atomic where the backend allows) -----------------


@dataclass(frozen=True)
class PutCheckpoint:
    """Insert or replace a log entry."""

    record: CheckpointRecord


@dataclass(frozen=True)
class PutBlobs:
    """Insert blobs; an existing ``(thread, ns, channel, version)`` is left as it is."""

    blobs: Sequence[BlobRecord]


@dataclass(frozen=True)
class PutWrites:
    """Insert pending writes; ``overwrite`` replaces existing keys, else they are kept."""

    writes: Sequence[WriteRecord]
    overwrite: bool


@dataclass(frozen=True)
class UpdateSession:
    """Change the head document under compare-and-swap.

    ``expected`` is the revision the writer read (``None``: the session must not exist).
    A mismatch raises :class:`~langgraph_picoflow.errors.ConflictError` and nothing of the
    enclosing :class:`Write` that follows it is applied. ``result`` is the head after the
    patch, which stores that rewrite whole documents may use instead of the patch.
    """

    thread_id: str
    expected: str | None
    patch: Sequence[PatchOp]
    result: SessionRecord


@dataclass(frozen=True)
class DeleteSession:
    """Remove the head document (the log is removed with :class:`DeleteCheckpoints`)."""

    thread_id: str


@dataclass(frozen=True)
class DeleteCheckpoints:
    """Remove log entries and their writes; ``checkpoint_ids=None`` means all of the thread.

    With ``checkpoint_ns=None`` every namespace is meant. Blobs are removed only when
    ``blobs`` is true (whole-thread deletes), or for the listed ``blob_keys``.
    """

    thread_id: str
    checkpoint_ns: str | None = None
    checkpoint_ids: tuple[str, ...] | None = None
    blobs: bool = False
    blob_keys: tuple[tuple[str, str, str], ...] = ()


StoreOp: TypeAlias = (
    PutCheckpoint | PutBlobs | PutWrites | UpdateSession | DeleteSession | DeleteCheckpoints
)


@dataclass(frozen=True)
class Write:
    """Operations applied in order; the session update, if any, is checked first."""

    ops: Sequence[StoreOp] = field(default_factory=tuple)


@dataclass(frozen=True)
class ListThreads:
    """-> ``list[str]``: the thread ids that have a session or a log, sorted."""


Request: TypeAlias = (
    ReadHead
    | ReadSession
    | ReadCheckpoint
    | ListCheckpoints
    | ReadWrites
    | ReadBlobs
    | Write
    | ListThreads
)


class Store(Protocol):
    """A synchronous store."""

    def execute(self, request: Request) -> Any:
        """Answer one request."""
        ...

    def setup(self) -> None:
        """Create tables, collections or indexes; idempotent."""
        ...


class AsyncStore(Protocol):
    """An asynchronous store."""

    async def aexecute(self, request: Request) -> Any:
        """Answer one request."""
        ...

    async def asetup(self) -> None:
        """Create tables, collections or indexes; idempotent."""
        ...
