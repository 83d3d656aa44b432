"""Turn threads of ``langgraph-checkpoint-mongodb``'s ``MongoDBSaver`` into Picoflow sessions.

Each thread's checkpoints are read with ``MongoDBSaver.list`` and replayed, oldest first,
through :class:`~langgraph_picoflow.PicoflowSaver` ``put``/``put_writes`` with the same
checkpoint ids, parent configs, metadata and pending writes, so ``get_state_history`` and
time travel keep working. ``new_versions`` (what changed since the parent) is recomputed
from the channel versions, as LangGraph would have passed it, and versions are respelled
as the saver spells them (see :mod:`._versions`). The session's dates are the checkpoints'
own timestamps, not the time of the migration.

pymongo and the official saver are imported here only, when this importer is used.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, CheckpointTuple

from langgraph_picoflow import plans
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.migrate._copy import DEFAULT_OPTIONS, MigrateOptions, MigrationError
from langgraph_picoflow.migrate._ids import KEEP_IDS, IdRules
from langgraph_picoflow.migrate._journal import Journal
from langgraph_picoflow.migrate._report import SILENT, Action, Listener, Outcome, Report
from langgraph_picoflow.migrate._run import run_threads
from langgraph_picoflow.migrate._thread import ThreadData, delete_request, read_thread
from langgraph_picoflow.migrate._versions import VersionMap
from langgraph_picoflow.saver import PicoflowSaver
from langgraph_picoflow.stores.protocol import Store

#: A pending write as the official saver stores it: what ``put_writes`` needs again.
_WriteKey = tuple[str, str]  # (checkpoint_ns, checkpoint_id)


class _ReplaySaver(PicoflowSaver):
    """A saver whose clock is the replayed checkpoint's time, with reproducible randomness.

    (``PicoflowSaver`` takes no clock; a public ``clock=`` argument would make this
    subclass unnecessary.)
    """

    def __init__(self, store: Store, *, session: SessionConfig, thread_id: str) -> None:
        super().__init__(store, session=session)
        self.now = datetime.now(timezone.utc)
        self._replay_rng = random.Random(thread_id)

    def _ctx(self) -> plans.Context:
        return replace(super()._ctx(), clock=lambda: self.now, rng=self._replay_rng)


def import_langgraph_mongodb(
    client: Any,
    target: Store,
    *,
    session: SessionConfig | None = None,
    db_name: str = "checkpointing_db",
    checkpoint_collection: str = "checkpoints",
    writes_collection: str = "checkpoint_writes",
    options: MigrateOptions = DEFAULT_OPTIONS,
    ids: IdRules = KEEP_IDS,
    journal: Journal | None = None,
    listener: Listener = SILENT,
) -> Report:
    """Replay every thread ``MongoDBSaver`` keeps in ``db_name`` into ``target``.

    ``client`` is a ``pymongo.MongoClient``. With ``options.move`` a thread is deleted
    from the source (``MongoDBSaver.delete_thread``) once the target's checkpoints read
    back equal to the source's.
    """
    from langgraph.checkpoint.mongodb import MongoDBSaver

    source = MongoDBSaver(client, db_name, checkpoint_collection, writes_collection)
    journal = journal or Journal(None, {})
    threads = sorted(set(options.threads)) if options.threads else list(_thread_ids(source))
    importer = _Importer(source, target, session or SessionConfig(), options, ids, journal)
    return run_threads(
        threads, importer.thread, journal=journal, listener=listener, dry_run=options.dry_run
    )


def _thread_ids(source: Any) -> Iterator[str]:
    # A cursor over groups, not distinct(): its answer is one document, capped at 16 MB.
    pipeline = [{"$group": {"_id": "$thread_id"}}, {"$sort": {"_id": 1}}]
    for group in source.checkpoint_collection.aggregate(pipeline):
        yield str(group["_id"])


@dataclass
class _Importer:
    source: Any
    target: Store
    session: SessionConfig
    options: MigrateOptions
    ids: IdRules
    journal: Journal

    def thread(self, thread_id: str) -> Outcome:
        tuples = sorted(
            self.source.list({"configurable": {"thread_id": thread_id}}),
            key=lambda t: t.config["configurable"]["checkpoint_id"],
        )
        if not tuples:
            return Outcome(thread_id, "kept", reason="no checkpoints in the source")
        new_id = self.ids.target_id(thread_id)
        existing = read_thread(self.target, new_id)
        action = self._action(thread_id, existing, tuples)
        if self.options.dry_run:
            return Outcome(thread_id, action, new_id, dry_run=True)
        if action != "unchanged":
            self.journal.writing(thread_id)
            if action == "replaced":
                self.target.execute(delete_request(existing))
            self._replay(thread_id, new_id, tuples)
        moved = self.options.move and self._move(thread_id, new_id, tuples)
        return Outcome(thread_id, action, new_id, moved=moved)

    def _action(self, thread_id: str, existing: ThreadData, tuples: list[Any]) -> Action:
        if existing.empty:
            return "created"
        have = {(r.checkpoint_ns, r.checkpoint_id, r.parent_id) for r in existing.checkpoints}
        if have == {_ids_of(t) for t in tuples}:
            return "unchanged"
        if self.options.overwrite or self.journal.inflight == thread_id:
            return "replaced"
        raise MigrationError(
            f"the target has a different thread {existing.thread_id!r}; use overwrite"
        )

    def _replay(self, thread_id: str, new_id: str, tuples: list[CheckpointTuple]) -> None:
        saver = _ReplaySaver(self.target, session=self.session, thread_id=thread_id)
        writes = self._writes(thread_id)
        versions = VersionMap()
        for t in tuples:
            ns, checkpoint_id, parent_id = _ids_of(t)
            respelled, new_versions = versions.rewrite(ns, checkpoint_id, parent_id, t.checkpoint)
            checkpoint = cast(Checkpoint, respelled)
            saver.now = _timestamp(checkpoint.get("ts"), saver.now)
            parent = {"checkpoint_id": parent_id} if parent_id else {}
            config: RunnableConfig = {
                "configurable": {"thread_id": new_id, "checkpoint_ns": ns, **parent}
            }
            saved = saver.put(config, checkpoint, t.metadata, new_versions)
            for (task_id, task_path), items in writes.get((ns, checkpoint_id), {}).items():
                saver.put_writes(saved, items, task_id, task_path)

    def _writes(self, thread_id: str) -> dict[_WriteKey, dict[tuple[str, str], list[Any]]]:
        """Pending writes by checkpoint, then by task, in ``idx`` order (one call each).

        ``put_writes`` numbers a task's writes by position, except special channels
        (interrupts, errors...), which have fixed negative ``idx``: those go last, so the
        others get back the ``idx`` they had.
        """
        docs = self.source.writes_collection.find({"thread_id": thread_id})
        grouped: dict[_WriteKey, dict[tuple[str, str], list[Any]]] = defaultdict(dict)

        def order(d: dict[str, Any]) -> tuple[str, str, bool, int]:
            return str(d.get("task_path", "")), str(d["task_id"]), d["idx"] < 0, d["idx"]

        for doc in sorted(docs, key=order):
            value = self.source.serde.loads_typed((doc["type"], doc["value"]))
            task = (str(doc["task_id"]), str(doc.get("task_path", "")))
            key = (str(doc["checkpoint_ns"]), str(doc["checkpoint_id"]))
            grouped[key].setdefault(task, []).append((doc["channel"], value))
        return grouped

    def _move(self, thread_id: str, new_id: str, tuples: list[CheckpointTuple]) -> bool:
        """Delete the source thread once every checkpoint reads back equal from the target."""
        saver = PicoflowSaver(self.target, session=self.session)
        copied = {_ids_of(t): t for t in saver.list({"configurable": {"thread_id": new_id}})}
        for t in tuples:
            mine = copied.get(_ids_of(t))
            if mine is None or not _same_checkpoint(t, mine):
                raise MigrationError(f"checkpoint {_ids_of(t)[1]} differs on read-back")
        self.source.delete_thread(thread_id)
        return True


def _ids_of(t: CheckpointTuple) -> tuple[str, str, str | None]:
    conf = t.config["configurable"]
    parent = t.parent_config["configurable"].get("checkpoint_id") if t.parent_config else None
    return str(conf.get("checkpoint_ns", "")), str(conf["checkpoint_id"]), parent


def _same_checkpoint(source: CheckpointTuple, copy: CheckpointTuple) -> bool:
    """Same values, metadata and pending writes (versions are respelled, not compared).

    A channel the source checkpoint omits may read back from the copy: a value stored once
    per version (a delta channel's snapshot) is there for every checkpoint of that version.
    """
    values, mine = source.checkpoint["channel_values"], copy.checkpoint["channel_values"]
    if any(ch not in mine or mine[ch] != v for ch, v in values.items()):
        return False
    return dict(source.metadata or {}) == dict(copy.metadata or {}) and _writes(source) == (
        _writes(copy)
    )


def _writes(t: CheckpointTuple) -> list[tuple[str, str, str]]:
    return sorted((w[0], w[1], repr(w[2])) for w in t.pending_writes or ())


def _timestamp(ts: Any, fallback: datetime) -> datetime:
    try:
        stamp = datetime.fromisoformat(str(ts))
    except ValueError:
        return fallback
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
