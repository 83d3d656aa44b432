"""One program per request: which Cosmos operations answer it (no I/O here).

:class:`~.store.CosmosStore` and :class:`~.store.AsyncCosmosStore` only run these
generators, sending each yielded operation to the SDK and the answer back.
"""

from __future__ import annotations

from typing import Any

from langgraph_picoflow.errors import StoreError
from langgraph_picoflow.stores.cosmos import reads
from langgraph_picoflow.stores.cosmos.expiry import sweep
from langgraph_picoflow.stores.cosmos.ids import check_thread_id
from langgraph_picoflow.stores.cosmos.ops import (
    EnsureContainer,
    EnsureDatabase,
    ReadContainer,
    status,
)
from langgraph_picoflow.stores.cosmos.state import Program, StoreState
from langgraph_picoflow.stores.cosmos.writes import write
from langgraph_picoflow.stores.protocol import (
    ListCheckpoints,
    ListThreads,
    ReadBlobs,
    ReadCheckpoint,
    ReadHead,
    ReadSession,
    ReadWrites,
    Request,
    Write,
)

#: The sessions container indexes only what sweeps and operators filter on: histories
#: can be large, and indexing them would cost request units on every save.
SESSIONS_INDEXING: dict[str, Any] = {
    "indexingMode": "consistent",
    "includedPaths": [{"path": "/saveOn/?"}, {"path": "/runStatus/?"}, {"path": "/createdOn/?"}],
    "excludedPaths": [{"path": "/*"}],
}
#: The log indexes the fields its queries use; payloads (checkpoints, patches, values,
#: sidecars, parts) are excluded.
LOG_INDEXING: dict[str, Any] = {
    "indexingMode": "consistent",
    "includedPaths": [
        {"path": f"/{name}/?"}
        for name in (
            "thread_id",
            "kind",
            "ns",
            "cid",
            "run_id",
            "channel",
            "key",
            "owner",
            "of_kind",
            "rev",
            "seq",
            "task_id",
            "_ts",
        )
    ]
    + [{"path": "/metadata/*"}],
    "excludedPaths": [{"path": "/*"}],
}


def program(state: StoreState, request: Request) -> Program:
    """The operations answering ``request``; the result is the generator's return value."""
    if isinstance(request, ReadHead):
        return (yield from reads.read_head(state, request.thread_id))
    if isinstance(request, ReadSession):
        return (yield from reads.read_head(state, request.thread_id)).session
    if isinstance(request, ReadCheckpoint):
        if request.checkpoint_id is not None:
            check_thread_id(request.thread_id)
            return (
                yield from reads.read_checkpoint(
                    state, request.thread_id, request.checkpoint_ns, request.checkpoint_id
                )
            )
        found = yield from reads.list_checkpoints(
            state, ListCheckpoints(request.thread_id, request.checkpoint_ns, limit=1)
        )
        return found[0] if found else None
    if isinstance(request, ListCheckpoints):
        return (yield from reads.list_checkpoints(state, request))
    if isinstance(request, ReadWrites):
        return (yield from reads.read_writes(state, request))
    if isinstance(request, ReadBlobs):
        return (yield from reads.read_blobs(state, request))
    if isinstance(request, ListThreads):
        return (yield from reads.list_threads(state))
    if isinstance(request, Write):
        return (yield from write(state, request))
    raise StoreError(f"unsupported request {type(request).__name__}")


def setup(state: StoreState) -> Program:
    """Create the database and both containers if missing; check the partition keys."""
    config = state.config
    for op in (
        EnsureDatabase(config.database),
        EnsureContainer(config.container, "/id", SESSIONS_INDEXING, config.expire_after),
        EnsureContainer(config.log_name, "/thread_id", LOG_INDEXING),
    ):
        try:
            yield op
        except Exception as exc:
            # "if not exists" is a read then a create: a concurrent setup may win the race.
            if status(exc) != 409:
                raise
    for where, path in (("sessions", "/id"), ("log", "/thread_id")):
        props = yield ReadContainer(where)  # type: ignore[arg-type]
        paths = (props.get("partitionKey") or {}).get("paths") or []
        if paths != [path]:
            raise StoreError(
                f"container {props.get('id')!r} is partitioned by {paths}, not [{path!r}]: "
                "Picoflow sessions need /id and the checkpoint log /thread_id"
            )


def expire(state: StoreState, now: float | None = None) -> Program:
    """Sweep expired sessions (see :mod:`.expiry`)."""
    return (yield from sweep(state, now))
