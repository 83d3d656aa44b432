"""Expiry as Picoflow has it: a whole session ends ``expire_after`` seconds after ``saveOn``.

Off unless :attr:`CosmosConfig.expire_after` is set. Then the sessions container gets
that default TTL where the service supports TTL (Azure does; the local emulator keeps
the setting but never expires anything), a read that finds an expired session deletes
it (log first, then head) and answers as if it were absent, and :func:`sweep` deletes
every expired session and every log whose head the service's TTL already removed.
The log container never gets a TTL: its items would expire one by one, older first,
which would break a thread's chain of checkpoints before the thread itself expired.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.stores.cosmos.ops import Query
from langgraph_picoflow.stores.cosmos.purge import purge, purge_log
from langgraph_picoflow.stores.cosmos.state import Program, StoreState


def _seconds(save_on: Any) -> float | None:
    if isinstance(save_on, (int, float)) and not isinstance(save_on, bool):
        return float(save_on) / 1000.0  # epoch milliseconds, which Picoflow also accepts
    parsed = pdoc.parse_iso_ms(save_on) if isinstance(save_on, str) else None
    return parsed.timestamp() if parsed is not None else None


def expired(state: StoreState, head: dict[str, Any] | None, tip: dict[str, Any] | None) -> bool:
    """Whether a thread read as ``head`` (and its stored tip) has expired."""
    limit = state.config.expire_after
    if limit is None:
        return False
    now = state.clock()
    if head is not None:
        saved = _seconds(head.get("saveOn"))
        return saved is not None and int(now - saved) > limit
    # No head but a tip that described one: the service's TTL removed the head. (A tip
    # this young may belong to a session being created: its head is written next.)
    return tip is not None and tip.get("rev") is not None and now - float(tip["_ts"]) > limit


def sweep(state: StoreState, now: float | None = None) -> Program:
    """Delete every expired session and orphaned log; -> how many threads were removed."""
    limit = state.config.expire_after
    if limit is None:
        return 0
    now = state.clock() if now is None else now
    cutoff = pdoc.iso_ms(datetime.fromtimestamp(now - limit - 1, timezone.utc))
    stale = yield Query(
        "sessions",
        "SELECT c.id, c.saveOn FROM c WHERE c.saveOn <= @cut",
        (("@cut", cutoff),),
        None,
        state.config.page_size,
    )
    removed = 0
    for row in stale:
        saved = _seconds(row.get("saveOn"))
        if saved is not None and int(now - saved) > limit:
            yield from purge(state, row["id"])
            removed += 1
    orphans = yield Query(
        "log",
        "SELECT c.thread_id FROM c WHERE c.kind = 'tip' AND c._ts < @ts AND NOT IS_NULL(c.rev)",
        (("@ts", int(now - limit)),),
        None,
        state.config.page_size,
    )
    heads = yield Query(
        "sessions",
        "SELECT VALUE c.id FROM c WHERE ARRAY_CONTAINS(@ids, c.id)",
        (("@ids", [o["thread_id"] for o in orphans]),),
        None,
        state.config.page_size,
    )
    for row in orphans:
        if row["thread_id"] not in set(heads):
            yield from purge_log(state, row["thread_id"])
            state.forget(row["thread_id"])
            removed += 1
    return removed
