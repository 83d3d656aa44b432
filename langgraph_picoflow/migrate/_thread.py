"""Everything a store keeps for one thread, read and written through the store protocol.

A migration copies *records* (head document, log entries, pending writes, blobs), never
interpreted state: a head left behind its log by a crash is copied as it is, and the target
saver rolls it forward on first read, exactly as the source saver would have.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from langgraph_picoflow.document import iso_ms
from langgraph_picoflow.patch import ReplaceSession
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, SessionRecord, WriteRecord
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    DeleteSession,
    ListCheckpoints,
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    ReadBlobs,
    ReadSession,
    ReadWrites,
    Store,
    StoreOp,
    UpdateSession,
    Write,
)


@dataclass
class ThreadData:
    """One thread's records, in a stable order (so two copies compare record by record)."""

    thread_id: str
    session: SessionRecord | None = None
    checkpoints: list[CheckpointRecord] = field(default_factory=list)
    writes: list[WriteRecord] = field(default_factory=list)
    blobs: list[BlobRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.checkpoints.sort(key=lambda r: (r.checkpoint_ns, r.checkpoint_id))
        self.writes.sort(key=lambda w: (w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx))
        self.blobs.sort(key=lambda b: (b.checkpoint_ns, b.channel, b.version))

    @property
    def empty(self) -> bool:
        """Whether the store holds nothing for this thread."""
        return self.session is None and not self.checkpoints and not self.writes


def read_thread(store: Store, thread_id: str) -> ThreadData:
    """All records of ``thread_id``: four requests, whatever the thread's size."""
    return ThreadData(
        thread_id,
        store.execute(ReadSession(thread_id)),
        list(store.execute(ListCheckpoints(thread_id))),
        list(store.execute(ReadWrites(thread_id, None, None))),
        list(store.execute(ReadBlobs(thread_id, None, None))),
    )


def thread_exists(store: Store, thread_id: str) -> bool:
    """Whether the store has a head or a log for ``thread_id`` (two small reads)."""
    if store.execute(ReadSession(thread_id)) is not None:
        return True
    return bool(store.execute(ListCheckpoints(thread_id, limit=1, with_session=False)))


def write_request(data: ThreadData) -> Write:
    """One :class:`Write` creating the thread in a store that does not have it.

    The log goes first and the head last, as the saver's own ``put`` orders them, so an
    interrupted copy never leaves a head whose log is missing.
    """
    ops: list[StoreOp] = []
    if data.blobs:
        ops.append(PutBlobs(data.blobs))
    ops += [PutCheckpoint(r) for r in data.checkpoints]
    if data.writes:
        ops.append(PutWrites(data.writes, overwrite=True))
    if data.session is not None:
        record = data.session
        patch = [ReplaceSession(record.document, record.sidecars)]
        ops.append(UpdateSession(data.thread_id, None, patch, record))
    return Write(tuple(ops))


def delete_request(data: ThreadData) -> Write:
    """Remove the thread, refused (``ConflictError``) if its head changed since ``data`` was read.

    The protocol has no conditional delete, so the head is first rewritten under
    compare-and-swap with the revision that was read: a session another writer saved
    meanwhile makes the whole :class:`Write` fail instead of being lost.
    """
    ops: list[StoreOp] = []
    record = data.session
    if record is not None:
        patch = [ReplaceSession(record.document, record.sidecars)]
        ops.append(UpdateSession(data.thread_id, record.revision, patch, record))
        ops.append(DeleteSession(data.thread_id))
    ops.append(DeleteCheckpoints(data.thread_id, blobs=True))
    return Write(tuple(ops))


def _json(value: Any, *, sort_keys: bool) -> str:
    return json.dumps(_comparable(value), sort_keys=sort_keys, ensure_ascii=False)


def _comparable(value: Any) -> Any:
    """JSON-ready form with one spelling per date.

    A store may hand back a date in log JSON as a ``datetime`` (naive or aware) or as the
    codec's ``{"$date": iso}`` marker; all become ``{"$date": <ISO ms>}``.
    """
    if isinstance(value, datetime):
        return {"$date": iso_ms(value)}
    if isinstance(value, dict):
        marker = value.get("$date") if len(value) == 1 else None
        if isinstance(marker, str):
            try:
                return {"$date": iso_ms(datetime.fromisoformat(marker))}
            except ValueError:
                pass  # not a date after all: an ordinary object
        return {str(k): _comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    return value


def fingerprint(data: ThreadData) -> Iterator[str]:
    """The thread's content as text lines, independent of its id.

    The document keeps its key order (Picoflow's order is part of the data); log JSON is
    compared with sorted keys, as stores are free to reorder it.
    """
    if data.session is not None:
        yield _json(data.session.document, sort_keys=False)
        yield _json([data.session.sidecars, data.session.revision], sort_keys=True)
    for r in data.checkpoints:
        yield _json(
            [r.checkpoint_ns, r.checkpoint_id, r.parent_id, r.seq, r.checkpoint, r.metadata],
            sort_keys=True,
        )
        yield _json(r.session, sort_keys=True)
    for w in data.writes:
        key = [w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx, w.channel, w.type, w.task_path]
        yield _json(key, sort_keys=True) + bytes(w.value).hex()
    for b in data.blobs:
        yield _json([b.checkpoint_ns, b.channel, b.version, b.type], sort_keys=True)
        yield bytes(b.value).hex()


def same_content(a: ThreadData, b: ThreadData) -> bool:
    """Whether two threads hold the same records (ids aside)."""
    return list(fingerprint(a)) == list(fingerprint(b))


def first_difference(a: ThreadData, b: ThreadData) -> str:
    """A short description of where two threads differ, for error messages."""
    left, right = list(fingerprint(a)), list(fingerprint(b))
    for i, (x, y) in enumerate(zip(left, right, strict=False)):
        if x != y:
            at = next((k for k, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), 0)
            start = max(0, at - 30)
            return f"record {i}: ...{x[start : at + 30]!r} != ...{y[start : at + 30]!r}"
    return f"{len(left)} records != {len(right)}"
