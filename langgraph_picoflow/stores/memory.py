"""An in-memory store: the reference implementation of the store protocol.

Nothing survives the process. Useful for tests and for graphs that need no persistence
but want Picoflow documents (``PicoflowSaver.from_conn_string("memory://")``).
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from langgraph_picoflow.errors import ConflictError
from langgraph_picoflow.patch import apply
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, SessionRecord, WriteRecord
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    DeleteSession,
    HeadRead,
    ListCheckpoints,
    ListThreads,
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    ReadBlobs,
    ReadCheckpoint,
    ReadHead,
    ReadSession,
    ReadWrites,
    Request,
    UpdateSession,
    Write,
    head_blob_keys,
)


def metadata_matches(metadata: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether each wanted key is in ``metadata`` with an equal JSON value (``1 != true``)."""
    return all(
        key in metadata and json.dumps(metadata[key]) == json.dumps(value)
        for key, value in wanted.items()
    )


class MemoryStore:
    """Dictionaries behind a lock; sync and async entry points answer the same way."""

    def __init__(self) -> None:
        self.sessions: dict[str, SessionRecord] = {}
        self.checkpoints: dict[tuple[str, str, str], CheckpointRecord] = {}
        self.writes: dict[tuple[str, str, str, str, int], WriteRecord] = {}
        self.blobs: dict[tuple[str, str, str, str], BlobRecord] = {}
        self._lock = threading.Lock()

    def setup(self) -> None:
        """Nothing to create."""

    async def asetup(self) -> None:
        """Nothing to create."""

    async def aexecute(self, request: Request) -> Any:
        """Same as :meth:`execute` (no I/O to wait for)."""
        return self.execute(request)

    def execute(self, request: Request) -> Any:
        """Answer one request of the store protocol."""
        with self._lock:
            return copy.deepcopy(self._answer(request))

    def _answer(self, request: Request) -> Any:
        if isinstance(request, ReadHead):
            latest = self._answer(ReadCheckpoint(request.thread_id, "", None))
            ids = (latest.checkpoint_id,) if latest else ()
            return HeadRead(
                self.sessions.get(request.thread_id),
                latest,
                self._answer(ReadWrites(request.thread_id, "", ids)) if latest else [],
                self._answer(ReadBlobs(request.thread_id, "", head_blob_keys(latest)))
                if latest
                else [],
            )
        if isinstance(request, ReadSession):
            return self.sessions.get(request.thread_id)
        if isinstance(request, ReadCheckpoint):
            if request.checkpoint_id is not None:
                key = (request.thread_id, request.checkpoint_ns, request.checkpoint_id)
                return self.checkpoints.get(key)
            found = self._list(ListCheckpoints(request.thread_id, request.checkpoint_ns, limit=1))
            return found[0] if found else None
        if isinstance(request, ListCheckpoints):
            return self._list(request)
        if isinstance(request, ReadWrites):
            return [
                w
                for w in self.writes.values()
                if w.thread_id == request.thread_id
                and request.checkpoint_ns in (None, w.checkpoint_ns)
                and (request.checkpoint_ids is None or w.checkpoint_id in request.checkpoint_ids)
                and (request.channels is None or w.channel in request.channels)
            ]
        if isinstance(request, ReadBlobs):
            keys = set(request.keys) if request.keys is not None else None
            return [
                b
                for b in self.blobs.values()
                if b.thread_id == request.thread_id
                and request.checkpoint_ns in (None, b.checkpoint_ns)
                and (keys is None or (b.channel, b.version) in keys)
            ]
        if isinstance(request, ListThreads):
            threads = set(self.sessions) | {k[0] for k in self.checkpoints}
            return sorted(threads)
        self._write(request)
        return None

    def _list(self, q: ListCheckpoints) -> list[CheckpointRecord]:
        found = [
            r
            for r in self.checkpoints.values()
            if q.thread_id in (None, r.thread_id)
            and q.checkpoint_ns in (None, r.checkpoint_ns)
            and q.checkpoint_id in (None, r.checkpoint_id)
            and (q.before is None or r.checkpoint_id < q.before)
            and (q.metadata is None or metadata_matches(r.metadata, q.metadata))
            and (q.run_ids is None or r.run_id in q.run_ids)
        ]
        found.sort(key=lambda r: r.checkpoint_id, reverse=True)
        return found[: q.limit] if q.limit is not None else found

    def _write(self, request: Write) -> None:
        for op in request.ops:
            if isinstance(op, UpdateSession):
                current = self.sessions.get(op.thread_id)
                revision = current.revision if current else None
                if revision != op.expected:
                    raise ConflictError(
                        op.thread_id, f"expected revision {op.expected}, found {revision}"
                    )
        for op in copy.deepcopy(list(request.ops)):
            if isinstance(op, UpdateSession):
                current = self.sessions.get(op.thread_id)
                base = (current.document, current.sidecars) if current else ({}, [])
                doc, side = apply(*base, op.patch)
                self.sessions[op.thread_id] = SessionRecord(doc, side, op.result.revision)
            elif isinstance(op, PutCheckpoint):
                r = op.record
                self.checkpoints[(r.thread_id, r.checkpoint_ns, r.checkpoint_id)] = r
            elif isinstance(op, PutBlobs):
                for b in op.blobs:
                    self.blobs.setdefault((b.thread_id, b.checkpoint_ns, b.channel, b.version), b)
            elif isinstance(op, PutWrites):
                for w in op.writes:
                    key = (w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx)
                    if op.overwrite or key not in self.writes:
                        self.writes[key] = w
            elif isinstance(op, DeleteSession):
                self.sessions.pop(op.thread_id, None)
            else:
                self._delete(op)

    def _delete(self, op: DeleteCheckpoints) -> None:
        def hit(thread: str, ns: str, cid: str | None = None) -> bool:
            return (
                thread == op.thread_id
                and op.checkpoint_ns in (None, ns)
                and (cid is None or op.checkpoint_ids is None or cid in op.checkpoint_ids)
            )

        self.checkpoints = {k: v for k, v in self.checkpoints.items() if not hit(*k)}
        self.writes = {k: v for k, v in self.writes.items() if not hit(k[0], k[1], k[2])}

        def blob_gone(key: tuple[str, str, str, str]) -> bool:
            thread, ns, channel, version = key
            return thread == op.thread_id and (
                (op.blobs and op.checkpoint_ns in (None, ns))
                or (ns, channel, version) in op.blob_keys
            )

        self.blobs = {k: v for k, v in self.blobs.items() if not blob_gone(k)}
