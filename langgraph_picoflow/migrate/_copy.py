"""Copy sessions with their checkpoint logs from one Picoflow store to another.

Per thread: read every record from the source, convert (layout, id), read what the target
has under that id, and compare before writing: an equal thread is left alone (a second
run changes nothing), a missing one is created, a different one is refused unless
``overwrite`` (or it is the thread an interrupted run was writing). With ``move`` the copy
is read back and compared, and only then is the source deleted, under compare-and-swap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.errors import PicoflowError
from langgraph_picoflow.migrate._ids import KEEP_IDS, IdRules, for_target
from langgraph_picoflow.migrate._journal import Journal
from langgraph_picoflow.migrate._layout import Convert, convert_thread, converter
from langgraph_picoflow.migrate._report import SILENT, Action, Listener, Outcome, Report
from langgraph_picoflow.migrate._run import run_threads
from langgraph_picoflow.migrate._sessions import thread_ids
from langgraph_picoflow.migrate._thread import (
    ThreadData,
    delete_request,
    first_difference,
    read_thread,
    same_content,
    write_request,
)
from langgraph_picoflow.stores.protocol import Store


class MigrationError(PicoflowError):
    """One session cannot be migrated; the message says why."""


@dataclass(frozen=True)
class MigrateOptions:
    """How sessions are migrated (see ``langgraph-picoflow migrate --help``)."""

    dry_run: bool = False
    #: Delete each source session once its copy is verified.
    move: bool = False
    #: Replace a different session the target already has under the same id.
    overwrite: bool = False
    #: Also convert layout A0/A1 documents to B (C is always converted to B).
    to_layout: Literal["B"] | None = None
    #: Refuse documents with validation problems (``False``: copy them as they are).
    validate: bool = True
    #: Only these thread ids (default: every thread of the source).
    threads: tuple[str, ...] | None = None


DEFAULT_OPTIONS = MigrateOptions()


def migrate_store(
    source: Store,
    target: Store,
    *,
    options: MigrateOptions = DEFAULT_OPTIONS,
    ids: IdRules = KEEP_IDS,
    journal: Journal | None = None,
    listener: Listener = SILENT,
) -> Report:
    """Migrate every thread of ``source`` (or ``options.threads``) into ``target``.

    Raises :class:`MigrationError` when both are the same store and ids stay as they are
    (a ``move`` would then delete what it just "copied").
    """
    if source is target and not ids.new_ids:
        raise MigrationError("the source and the target are the same store")
    journal = journal or Journal(None, {})
    threads = thread_ids(source, options.threads)
    copier = _Copier(source, target, options, ids, journal, converter(options.to_layout))
    return run_threads(
        threads, copier.thread, journal=journal, listener=listener, dry_run=options.dry_run
    )


@dataclass
class _Copier:
    source: Store
    target: Store
    options: MigrateOptions
    ids: IdRules
    journal: Journal
    convert: Convert

    def thread(self, thread_id: str) -> Outcome:
        data = read_thread(self.source, thread_id)
        if data.empty:
            return Outcome(thread_id, "kept", reason="no longer in the source")
        if self.options.validate:
            _check(data)
        wanted = for_target(convert_thread(data, self.convert), self.ids)
        existing = read_thread(self.target, wanted.thread_id)
        action = self._action(thread_id, existing, wanted)
        if self.options.dry_run:
            return Outcome(thread_id, action, wanted.thread_id, dry_run=True)
        if action != "unchanged":
            self.journal.writing(thread_id)
            if action == "replaced":
                self.target.execute(delete_request(existing))
            self.target.execute(write_request(wanted))
        moved = self.options.move and self._move(data, wanted)
        return Outcome(thread_id, action, wanted.thread_id, moved=moved)

    def _action(self, thread_id: str, existing: ThreadData, wanted: ThreadData) -> Action:
        if existing.empty:
            return "created"
        if same_content(existing, wanted):
            return "unchanged"
        if self.options.overwrite or self.journal.inflight == thread_id:
            return "replaced"
        raise MigrationError(
            f"the target has a different session {wanted.thread_id!r} "
            f"({first_difference(existing, wanted)}); use overwrite to replace it"
        )

    def _move(self, data: ThreadData, wanted: ThreadData) -> bool:
        """Delete the source thread, once the target's copy reads back equal."""
        copy = read_thread(self.target, wanted.thread_id)
        if not same_content(copy, wanted):
            raise MigrationError(f"copy differs on read-back: {first_difference(copy, wanted)}")
        if not same_content(read_thread(self.source, data.thread_id), data):
            raise MigrationError("the source session changed during the migration; kept")
        self.source.execute(delete_request(data))
        return True


def _check(data: ThreadData) -> None:
    if data.session is None:
        return
    problems = pdoc.validate(data.session.document)
    if problems:
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise MigrationError(f"invalid document: {shown}{more}")
