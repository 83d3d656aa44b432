"""Picoflow expiry (whole sessions) and LangGraph pruning (checkpoints), with dry runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Literal

from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.migrate._report import SILENT, Listener, Outcome, Report
from langgraph_picoflow.migrate._run import run_threads
from langgraph_picoflow.migrate._sessions import (
    SessionFilter,
    as_datetime,
    iter_sessions,
    thread_ids,
)
from langgraph_picoflow.migrate._thread import (
    ThreadData,
    delete_request,
    read_thread,
    write_request,
)
from langgraph_picoflow.saver import PicoflowSaver
from langgraph_picoflow.stores.memory import MemoryStore
from langgraph_picoflow.stores.protocol import ListCheckpoints, ReadSession, Store

PruneStrategy = Literal["keep_latest", "delete"]


def is_expired(doc: dict[str, Any], now: datetime, expire_after: float | None = None) -> bool:
    """Whether Picoflow would treat the session as expired at ``now``.

    Picoflow keeps a session alive while the whole seconds since ``saveOn`` are at most the
    expiry; it uses its process setting (``SESSION_EXPIRATION``), which ``expire_after``
    stands for, else the document's own ``expireAfter``. Without either, or without
    ``saveOn``, a session never expires.
    """
    save_on = as_datetime(doc.get("saveOn"))
    limit = expire_after if expire_after is not None else doc.get("expireAfter")
    if save_on is None or not isinstance(limit, (int, float)) or isinstance(limit, bool):
        return False
    return int((now - save_on).total_seconds()) > limit


def _selected(store: Store, where: SessionFilter | None, ids: Sequence[str] | None) -> list[str]:
    if where is None or where == SessionFilter():
        return thread_ids(store, ids)
    return [s.id for s in iter_sessions(store, where, ids)]


def expire_sessions(
    store: Store,
    *,
    now: datetime | None = None,
    expire_after: float | None = None,
    where: SessionFilter | None = None,
    ids: Sequence[str] | None = None,
    dry_run: bool = False,
    listener: Listener = SILENT,
) -> Report:
    """Delete expired sessions whole (document, log, writes, blobs).

    A session saved again between the check and the delete is kept (the delete is a
    compare-and-swap on the revision that was checked).
    """
    moment = now or datetime.now(timezone.utc)

    def one(thread_id: str) -> Outcome:
        record = store.execute(ReadSession(thread_id))
        if record is None or not is_expired(record.document, moment, expire_after):
            return Outcome(thread_id, "kept")
        if not dry_run:
            store.execute(delete_request(ThreadData(thread_id, record)))
        return Outcome(thread_id, "deleted", dry_run=dry_run)

    return run_threads(_selected(store, where, ids), one, listener=listener, dry_run=dry_run)


def _count(store: Store, thread_id: str) -> int:
    return len(store.execute(ListCheckpoints(thread_id, with_session=False)))


def prune_sessions(
    store: Store,
    *,
    strategy: PruneStrategy = "keep_latest",
    session: SessionConfig | None = None,
    where: SessionFilter | None = None,
    ids: Sequence[str] | None = None,
    dry_run: bool = False,
    listener: Listener = SILENT,
) -> Report:
    """``PicoflowSaver.prune`` thread by thread: ``keep_latest`` or ``delete``.

    A dry run prunes a copy of each thread in memory and reports what it removed.
    """

    def one(thread_id: str) -> Outcome:
        before = _count(store, thread_id)
        if before == 0:
            return Outcome(thread_id, "kept", reason="no checkpoints")
        where_to = store
        if dry_run:
            where_to = MemoryStore()
            where_to.execute(write_request(read_thread(store, thread_id)))
        PicoflowSaver(where_to, session=session or SessionConfig()).prune(
            [thread_id], strategy=strategy
        )
        removed = before - _count(where_to, thread_id)
        reason = f"{removed} of {before} checkpoints"
        if strategy == "delete":
            return Outcome(thread_id, "deleted", reason=reason, dry_run=dry_run)
        return Outcome(thread_id, "pruned" if removed else "kept", reason=reason, dry_run=dry_run)

    return run_threads(_selected(store, where, ids), one, listener=listener, dry_run=dry_run)
