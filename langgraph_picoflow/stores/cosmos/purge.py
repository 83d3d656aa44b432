"""Deleting whole threads: the log by partition key when the account allows, else by id."""

from __future__ import annotations

from langgraph_picoflow.stores.cosmos.logwrite import apply_best_effort
from langgraph_picoflow.stores.cosmos.ops import DeleteItem, DeletePartition, Query, status
from langgraph_picoflow.stores.cosmos.state import Program, StoreState


def delete_head(tid: str) -> Program:
    """Delete the head item (a missing one is fine)."""
    try:
        yield DeleteItem("sessions", tid, tid)
    except Exception as exc:
        if status(exc) != 404:
            raise


def purge_log(state: StoreState, tid: str) -> Program:
    """Delete a thread's whole log (by partition key when the account supports it)."""
    if state.partition_delete is not False:
        try:
            yield DeletePartition("log", tid)
            state.partition_delete = True
            return
        except Exception as exc:
            if state.partition_delete is True or status(exc) not in (400, 403, 404, 405, 501):
                raise
            state.partition_delete = False  # the preview feature is not enabled here
    ids = yield Query(
        "log",
        "SELECT VALUE c.id FROM c WHERE c.thread_id = @t",
        (("@t", tid),),
        tid,
        state.config.page_size,
    )
    yield from apply_best_effort(state, tid, [("delete", (i,), {}) for i in ids])


def purge(state: StoreState, tid: str) -> Program:
    """Delete a whole session: its log, then its head."""
    yield from purge_log(state, tid)
    yield from delete_head(tid)
    state.forget(tid)
