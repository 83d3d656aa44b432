"""Migrations named by connection strings: open the stores, keep the journal and id map."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph_picoflow.errors import PicoflowError
from langgraph_picoflow.migrate._copy import (
    DEFAULT_OPTIONS,
    MigrateOptions,
    MigrationError,
    migrate_store,
)
from langgraph_picoflow.migrate._ids import IdRules
from langgraph_picoflow.migrate._journal import Journal, write_id_map
from langgraph_picoflow.migrate._langgraph_mongodb import import_langgraph_mongodb
from langgraph_picoflow.migrate._report import SILENT, Listener, Report
from langgraph_picoflow.stores.url import is_mongodb_url, open_store, sqlite_path


def redact(url: str) -> str:
    """``url`` without its secrets (a MongoDB password, a Cosmos account key).

    >>> redact("mongodb://app:s3cret@db:27017/x"), redact("AccountEndpoint=e;AccountKey=k;")
    ('mongodb://app:***@db:27017/x', 'AccountEndpoint=e;AccountKey=***;')
    """
    url = re.sub(r"(AccountKey=)[^;]*", r"\1***", url, flags=re.IGNORECASE)
    return re.sub(r"^(mongodb(?:\+srv)?://[^:/@]+:)[^@]*@", r"\1***@", url)


def _same_store(a: str, b: str) -> bool:
    """Whether two URLs name one store (SQLite paths compared as resolved files)."""
    if a == b:
        return a not in ("memory://", ":memory:", "sqlite://:memory:")  # each is a new store
    if is_mongodb_url(a) or is_mongodb_url(b) or "accountendpoint=" in (a + b).lower():
        return False
    try:
        return os.path.realpath(sqlite_path(a)) == os.path.realpath(sqlite_path(b))
    except PicoflowError:
        return False


def default_journal_path(source: str, target: str) -> Path:
    """``./picoflow-migrate-<hash>.journal``: one per pair of stores, secrets not in the name."""
    digest = hashlib.sha256(f"{source}\n{target}".encode()).hexdigest()[:10]
    return Path(f"picoflow-migrate-{digest}.journal")


@dataclass(frozen=True)
class Bookkeeping:
    """The files of a resumable migration (none by default: not resumable)."""

    #: The progress journal: rerun with the same one after an interruption to continue.
    journal: Path | None = None
    #: Discard an unfinished journal instead of resuming it.
    restart: bool = False
    #: Receives ``{old: new}`` for sessions given new ids (written only if there are any).
    id_map: Path | None = None


NO_FILES = Bookkeeping()


@dataclass(frozen=True)
class MigrationResult:
    """A finished (or dry) migration: the report, and where its files are."""

    report: Report
    journal: Path | None
    #: The ``{old: new}`` id mapping file, when some session got a new id.
    id_map: Path | None


@contextmanager
def _journaled(
    header: dict[str, Any], files: Bookkeeping, *, dry_run: bool
) -> Iterator[tuple[Journal, Callable[[], Path | None]]]:
    """The journal of a run; the id map is written when the run ends, even interrupted."""
    journal = Journal.open(None if dry_run else files.journal, header, restart=files.restart)
    id_map_path = files.id_map
    written: list[Path] = []

    def id_map() -> Path | None:
        return written[0] if written else None

    try:
        yield journal, id_map
    finally:
        journal.close()
        if id_map_path is not None and not dry_run and write_id_map(id_map_path, journal.renamed()):
            written.append(id_map_path)


def migrate(
    from_url: str,
    to_url: str,
    *,
    options: MigrateOptions = DEFAULT_OPTIONS,
    new_ids: bool = False,
    files: Bookkeeping = NO_FILES,
    listener: Listener = SILENT,
) -> MigrationResult:
    """Copy every session and its checkpoint log from ``from_url`` to ``to_url``.

    With a journal in ``files`` the run is resumable: rerun after an interruption and it
    continues where it stopped. ``new_ids`` gives every session an id of the target's kind.
    """
    if _same_store(from_url, to_url) and not new_ids:
        raise MigrationError("the source and the target are the same store")
    header = {
        "from": redact(from_url),
        "to": redact(to_url),
        "new_ids": new_ids,
        "to_layout": options.to_layout,
    }
    ids = IdRules.for_url(to_url, new_ids=new_ids)
    with (
        open_store(from_url) as (source, _),
        open_store(to_url) as (target, _),
        _journaled(header, files, dry_run=options.dry_run) as (journal, id_map),
    ):
        source.setup()
        target.setup()
        report = migrate_store(
            source, target, options=options, ids=ids, journal=journal, listener=listener
        )
    return MigrationResult(report, journal.path, id_map())


def migrate_langgraph_mongodb(
    mongo_url: str,
    to_url: str,
    *,
    db_name: str = "checkpointing_db",
    options: MigrateOptions = DEFAULT_OPTIONS,
    new_ids: bool = False,
    files: Bookkeeping = NO_FILES,
    listener: Listener = SILENT,
) -> MigrationResult:
    """Turn the threads ``MongoDBSaver`` keeps at ``mongo_url`` into sessions at ``to_url``."""
    from pymongo import MongoClient

    header = {"from-langgraph-mongodb": redact(mongo_url), "db": db_name, "to": redact(to_url)}
    ids = IdRules.for_url(to_url, new_ids=new_ids)
    client: Any = MongoClient(mongo_url)
    try:
        with (
            open_store(to_url) as (target, session),
            _journaled(header, files, dry_run=options.dry_run) as (journal, id_map),
        ):
            target.setup()
            report = import_langgraph_mongodb(
                client,
                target,
                session=session,
                db_name=db_name,
                options=options,
                ids=ids,
                journal=journal,
                listener=listener,
            )
    finally:
        client.close()
    return MigrationResult(report, journal.path, id_map())
