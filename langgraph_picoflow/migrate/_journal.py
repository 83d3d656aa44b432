"""The progress journal that makes a migration resumable.

An append-only JSON Lines file: a header naming the migration, then one line before a
thread is written (``writing``) and one after (``done`` or ``failed``), and ``complete``
at the end. Threads are migrated in sorted id order, so "done up to here" is one id (the
cursor) and resuming needs no set of finished ids: memory stays flat however many sessions
there are. A thread marked ``writing`` without ``done`` was interrupted mid-copy; it is the
only target thread a resumed run may replace without ``--overwrite``.

Lines are flushed as they are written; a torn last line (killed mid-write) is ignored.
A session that appears in the source below the cursor while a migration is interrupted is
not picked up by resuming it; the next run after completion compares every session and
copies it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from langgraph_picoflow.errors import PicoflowError


class JournalMismatchError(PicoflowError):
    """The journal file belongs to another migration (other stores or options)."""


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                item = json.loads(line)
            except ValueError:
                continue  # torn write of a killed run
            if isinstance(item, dict):
                yield item


class Journal:
    """Progress of one migration; ``Journal(None, ...)`` keeps nothing (dry runs, one-offs)."""

    def __init__(self, path: Path | None, header: dict[str, Any]) -> None:
        self.path = path
        self.header = header
        #: Highest thread id finished (done or failed) by an earlier run.
        self.cursor: str | None = None
        #: The thread an earlier run was writing when it stopped.
        self.inflight: str | None = None
        #: Threads an earlier run could not migrate (retried), with the reason.
        self.failed: dict[str, str] = {}
        self._fh: IO[str] | None = None

    @classmethod
    def open(cls, path: Path | None, header: dict[str, Any], *, restart: bool = False) -> Journal:
        """Resume the journal at ``path``, or start it (a completed one starts over).

        Raises :class:`JournalMismatchError` when ``path`` records another migration,
        unless ``restart`` discards it.
        """
        journal = cls(path, header)
        if path is None:
            return journal
        if path.exists() and not restart:
            journal._resume(path)
        if journal.cursor is None and journal.inflight is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            journal._fh = path.open("w", encoding="utf-8")
            journal._append({"migration": header})
        else:
            journal._fh = path.open("a", encoding="utf-8")
        return journal

    def _resume(self, path: Path) -> None:
        writing: str | None = None
        for item in _lines(path):
            if "migration" in item and item["migration"] != self.header:
                raise JournalMismatchError(
                    f"{path} records another migration ({item['migration']}); "
                    "remove it, pass another journal file, or restart"
                )
            if "writing" in item:
                writing = str(item["writing"])
            for key in ("done", "failed"):
                if key in item:
                    tid = str(item[key])
                    self.cursor = max(self.cursor or tid, tid)
                    writing = None if writing == tid else writing
                    if key == "failed":
                        self.failed[tid] = str(item.get("reason", ""))
                    else:
                        self.failed.pop(tid, None)
            if "complete" in item:
                self.cursor, writing = None, None
                self.failed.clear()
        self.inflight = writing

    def _append(self, item: dict[str, Any]) -> None:
        if self._fh is not None:
            self._fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            self._fh.flush()

    def finished_earlier(self, thread_id: str) -> bool:
        """Whether an earlier run migrated ``thread_id`` (failed threads are retried)."""
        return (
            self.cursor is not None
            and thread_id <= self.cursor
            and thread_id not in self.failed
            and thread_id != self.inflight
        )

    def writing(self, thread_id: str) -> None:
        """Note that ``thread_id`` is about to be written."""
        self._append({"writing": thread_id})

    def done(self, thread_id: str, target_id: str, action: str) -> None:
        """Note that ``thread_id`` is in the target (as ``target_id``)."""
        self._append({"done": thread_id, "to": target_id, "action": action})

    def failed_thread(self, thread_id: str, reason: str) -> None:
        """Note that ``thread_id`` could not be migrated."""
        self._append({"failed": thread_id, "reason": reason})

    def complete(self, counts: dict[str, int]) -> None:
        """Mark the migration finished: a later run starts over (and finds nothing to do)."""
        self._append({"complete": True, "counts": counts})

    def close(self) -> None:
        """Close the file (flushed, and synced to disk)."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def renamed(self) -> Iterator[tuple[str, str]]:
        """``(old id, new id)`` of every session this migration gave a new id, in order."""
        if self.path is None or not self.path.exists():
            return
        for item in _lines(self.path):
            if "done" in item and item.get("to") not in (None, item["done"]):
                yield str(item["done"]), str(item["to"])


def write_id_map(path: Path, pairs: Iterator[tuple[str, str]]) -> int:
    """Write ``{old: new, ...}`` as 2-space JSON, streaming; returns how many were written.

    Written to a temporary file first and renamed, so the file is always whole; nothing is
    written when no session changed id.
    """
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("{")
        for old, new in pairs:
            fh.write(("," if count else "") + f"\n  {json.dumps(old)}: {json.dumps(new)}")
            count += 1
        fh.write("\n}\n")
    if count:
        os.replace(tmp, path)
    else:
        tmp.unlink()
    return count
