"""``PicoflowSaver`` and ``AsyncPicoflowSaver``: LangGraph checkpointers over Picoflow sessions.

Both are thin drivers: every operation is a plan from :mod:`langgraph_picoflow.plans`,
executed against a store, synchronously or asynchronously. Example::

    from langgraph_picoflow import PicoflowSaver

    with PicoflowSaver.from_conn_string("sqlite:///sessions.db") as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"messages": [("user", "Hi")]}, {"configurable": {"thread_id": sid}})
        saver.get_session(sid)  # the Picoflow session document
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timezone
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_picoflow import document as pdoc
from langgraph_picoflow import plans
from langgraph_picoflow.drive import adrive, drive
from langgraph_picoflow.mapping import SessionConfig, revision_of
from langgraph_picoflow.patch import ReplaceSession, empty_sidecars
from langgraph_picoflow.records import SessionRecord
from langgraph_picoflow.stores.protocol import AsyncStore, Store, UpdateSession, Write
from langgraph_picoflow.stores.url import open_async_store, open_store


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _PicoflowBase(BaseCheckpointSaver[str]):
    """What both savers share: the plan context, versions and the session helpers."""

    def __init__(
        self,
        *,
        serde: SerializerProtocol | None = None,
        session: SessionConfig | None = None,
    ) -> None:
        super().__init__(serde=serde)
        self.session_config = session or SessionConfig()
        self._rng = random.Random()
        self._heads = plans.HeadCache()

    def _ctx(self) -> plans.Context:
        # Built per call so that ``with_allowlist`` copies (which swap ``serde``) are honoured.
        return plans.Context(
            serde=self.serde,
            config=self.session_config,
            clock=_utc_now,
            rng=self._rng,
            next_version=lambda v: self.get_next_version(v, None),
            heads=self._heads,
        )

    def get_next_version(self, current: str | int | float | None, channel: None = None) -> str:
        """Monotonic, comparable versions, in the same spelling as LangGraph's own savers."""
        if current is None:
            number = 0
        elif isinstance(current, (int, float)):
            number = int(current)
        else:
            number = int(str(current).split(".")[0])
        return f"{number + 1:032}.{self._rng.random():016}"

    def _import_plan(self, document: Any, overwrite: bool) -> plans.Plan:
        doc = pdoc.load(document)
        pdoc.check(doc)
        session_id = str(doc["id"])
        existing = yield from plans.load_head(self._ctx(), session_id)
        if existing is not None and not overwrite:
            from langgraph_picoflow.errors import ConflictError

            raise ConflictError(session_id, "a session with this id exists (overwrite=False)")
        sidecars = empty_sidecars(doc)
        record = SessionRecord(doc, sidecars, revision_of(doc))
        expected = existing.record.revision if existing else None
        self._heads.pop(session_id, None)
        yield Write((UpdateSession(session_id, expected, [ReplaceSession(doc, sidecars)], record),))
        return session_id

    def _session_plan(self, session_id: str) -> plans.Plan:
        head = yield from plans.load_head(self._ctx(), pdoc.check_text(session_id, "session_id"))
        return None if head is None else pdoc.dump(head.record.document, "plain")


class PicoflowSaver(_PicoflowBase):
    """Synchronous checkpointer storing each thread as a Picoflow session document.

    ``thread_id`` is the Picoflow session id. Async methods run the sync ones in a worker
    thread; use :class:`AsyncPicoflowSaver` for native async I/O.
    """

    def __init__(
        self,
        store: Store,
        *,
        serde: SerializerProtocol | None = None,
        session: SessionConfig | None = None,
    ) -> None:
        super().__init__(serde=serde, session=session)
        self.store = store
        self._lock = threading.RLock()

    @classmethod
    @contextmanager
    def from_conn_string(
        cls, conn_string: str, *, session: SessionConfig | None = None, **kwargs: Any
    ) -> Iterator[PicoflowSaver]:
        """Open a store by URL (``sqlite:///file.db``, ``:memory:``, ``memory://``...).

        >>> with PicoflowSaver.from_conn_string(":memory:") as saver:
        ...     saver.get_session("nope") is None
        True
        """
        with open_store(conn_string, **kwargs) as (store, defaults):
            saver = cls(store, session=session or defaults)
            saver.setup()
            yield saver

    def setup(self) -> None:
        """Create what the store needs (tables, indexes); safe to call again."""
        self.store.setup()

    def _run(self, plan: plans.Plan) -> Any:
        with self._lock:
            return drive(plan, self.store.execute)

    # -- BaseCheckpointSaver -------------------------------------------------------
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the thread's latest."""
        result: CheckpointTuple | None = self._run(plans.get_tuple(self._ctx(), config))
        return result

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first, filtered on metadata, ``before`` and ``limit``."""
        plan = plans.list_checkpoints(
            self._ctx(), config, filter=filter, before=before, limit=limit
        )
        yield from self._run(plan)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; the session document changes by a delta."""
        result: RunnableConfig = self._run(
            plans.put(self._ctx(), config, checkpoint, metadata, new_versions)
        )
        return result

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes."""
        self._run(plans.put_writes(self._ctx(), config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        """Delete a session and everything LangGraph stored for it."""
        self._run(plans.delete_thread(self._ctx(), str(thread_id)))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints and writes of these runs."""
        self._run(plans.delete_for_runs(self._ctx(), run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy a session with its whole checkpoint history to another id."""
        self._run(plans.copy_thread(self._ctx(), str(source_thread_id), str(target_thread_id)))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest`` checkpoint per namespace (DeltaChannel-safe) or ``delete`` threads."""
        self._run(plans.prune(self._ctx(), thread_ids, strategy))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Per-channel writes and seed along the parent chain, in three queries."""
        result: Mapping[str, DeltaChannelHistory] = self._run(
            plans.get_delta_channel_history(self._ctx(), config, channels)
        )
        return result

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple` (in a worker thread)."""
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list` (in a worker thread)."""
        items = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in items:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put` (in a worker thread)."""
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes` (in a worker thread)."""
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    # -- Picoflow sessions ---------------------------------------------------------
    def import_session(self, document: Any, *, overwrite: bool = False) -> str:
        """Store an exported Picoflow document (either spelling); returns its session id."""
        result: str = self._run(self._import_plan(document, overwrite))
        return result

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        """The stored Picoflow document in plain spelling, or ``None``."""
        result: dict[str, Any] | None = self._run(self._session_plan(str(session_id)))
        return result


class AsyncPicoflowSaver(_PicoflowBase):
    """Asynchronous checkpointer storing each thread as a Picoflow session document.

    Its store does native async I/O. The sync methods work from other threads (they hand
    the call to the saver's event loop), as LangGraph's own async savers do.
    """

    def __init__(
        self,
        store: AsyncStore,
        *,
        serde: SerializerProtocol | None = None,
        session: SessionConfig | None = None,
    ) -> None:
        super().__init__(serde=serde, session=session)
        self.store = store
        self._lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls, conn_string: str, *, session: SessionConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[AsyncPicoflowSaver]:
        """Open a store by URL (``sqlite:///file.db``, ``:memory:``, ``memory://``...)."""
        async with open_async_store(conn_string, **kwargs) as (store, defaults):
            saver = cls(store, session=session or defaults)
            await saver.setup()
            yield saver

    async def setup(self) -> None:
        """Create what the store needs (tables, indexes); safe to call again."""
        await self.store.asetup()

    async def _run(self, plan: plans.Plan) -> Any:
        async with self._lock:
            return await adrive(plan, self.store.aexecute)

    def _sync(self, coro: Any) -> Any:
        try:
            if asyncio.get_running_loop() is self.loop:
                coro.close()
                raise asyncio.InvalidStateError(
                    "Synchronous calls to AsyncPicoflowSaver are only allowed from a different "
                    "thread; from the event loop, use the async methods (ainvoke, aget_state...)."
                )
        except RuntimeError:
            pass
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    # -- BaseCheckpointSaver (async) -----------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the thread's latest."""
        result: CheckpointTuple | None = await self._run(plans.get_tuple(self._ctx(), config))
        return result

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Checkpoints newest first, filtered on metadata, ``before`` and ``limit``."""
        plan = plans.list_checkpoints(
            self._ctx(), config, filter=filter, before=before, limit=limit
        )
        for item in await self._run(plan):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; the session document changes by a delta."""
        result: RunnableConfig = await self._run(
            plans.put(self._ctx(), config, checkpoint, metadata, new_versions)
        )
        return result

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes."""
        await self._run(plans.put_writes(self._ctx(), config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete a session and everything LangGraph stored for it."""
        await self._run(plans.delete_thread(self._ctx(), str(thread_id)))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints and writes of these runs."""
        await self._run(plans.delete_for_runs(self._ctx(), run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy a session with its whole checkpoint history to another id."""
        await self._run(
            plans.copy_thread(self._ctx(), str(source_thread_id), str(target_thread_id))
        )

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest`` checkpoint per namespace (DeltaChannel-safe) or ``delete`` threads."""
        await self._run(plans.prune(self._ctx(), thread_ids, strategy))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Per-channel writes and seed along the parent chain, in three queries."""
        result: Mapping[str, DeltaChannelHistory] = await self._run(
            plans.get_delta_channel_history(self._ctx(), config, channels)
        )
        return result

    # -- sync bridges ----------------------------------------------------------------
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Sync bridge to :meth:`aget_tuple` (from another thread)."""
        result: CheckpointTuple | None = self._sync(self.aget_tuple(config))
        return result

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Sync bridge to :meth:`alist` (from another thread)."""
        plan = plans.list_checkpoints(
            self._ctx(), config, filter=filter, before=before, limit=limit
        )
        yield from self._sync(self._run(plan))

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Sync bridge to :meth:`aput` (from another thread)."""
        result: RunnableConfig = self._sync(self.aput(config, checkpoint, metadata, new_versions))
        return result

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Sync bridge to :meth:`aput_writes` (from another thread)."""
        self._sync(self.aput_writes(config, writes, task_id, task_path))

    # -- Picoflow sessions ---------------------------------------------------------
    async def import_session(self, document: Any, *, overwrite: bool = False) -> str:
        """Store an exported Picoflow document (either spelling); returns its session id."""
        result: str = await self._run(self._import_plan(document, overwrite))
        return result

    async def get_session(self, session_id: str) -> dict[str, Any] | None:
        """The stored Picoflow document in plain spelling, or ``None``."""
        result: dict[str, Any] | None = await self._run(self._session_plan(str(session_id)))
        return result
