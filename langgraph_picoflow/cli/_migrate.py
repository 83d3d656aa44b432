"""``langgraph-picoflow migrate``: between stores, or from ``langgraph-checkpoint-mongodb``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from langgraph_picoflow.cli._common import (
    DEFAULT_STORE,
    DryRunOption,
    Layout,
    console,
    exit_for,
    fail,
    print_report,
    progress_bar,
    require_existing,
)
from langgraph_picoflow.errors import PicoflowError
from langgraph_picoflow.migrate import (
    Bookkeeping,
    MigrateOptions,
    MigrationResult,
    default_journal_path,
    migrate,
    migrate_langgraph_mongodb,
)


def migrate_command(
    from_url: Annotated[
        str | None, typer.Option("--from", help="Source store URL (a Picoflow store).")
    ] = None,
    from_langgraph_mongodb: Annotated[
        str | None,
        typer.Option(
            "--from-langgraph-mongodb",
            help="Source: a MongoDB URL where langgraph-checkpoint-mongodb's MongoDBSaver wrote.",
        ),
    ] = None,
    db: Annotated[
        str, typer.Option("--db", help="MongoDBSaver's database (--from-langgraph-mongodb).")
    ] = "checkpointing_db",
    to_url: Annotated[
        str, typer.Option("--to", envvar="PICOFLOW_STORE", help="Target store URL.")
    ] = DEFAULT_STORE,
    dry_run: DryRunOption = False,
    move: Annotated[
        bool, typer.Option(help="Delete each source session once its copy is verified.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace target sessions that differ from the source.")
    ] = False,
    new_ids: Annotated[
        bool, typer.Option(help="Give every session a new id of the target's kind.")
    ] = False,
    to_layout: Annotated[
        Layout | None, typer.Option("--to-layout", help="Convert A0/A1 documents to B.")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--session", help="Only this session (repeatable).")
    ] = None,
    skip_validation: Annotated[
        bool, typer.Option(help="Copy documents even when they fail validation.")
    ] = False,
    journal: Annotated[
        Path | None,
        typer.Option(help="Progress journal (default: ./picoflow-migrate-<hash>.journal)."),
    ] = None,
    restart: Annotated[
        bool, typer.Option(help="Ignore an unfinished journal and start over.")
    ] = False,
    id_map: Annotated[
        Path | None,
        typer.Option("--id-map", help="Where to write {old: new} ids (default: beside journal)."),
    ] = None,
) -> None:
    """Copy sessions with their checkpoint logs into another store; safe to rerun.

    Idempotent (sessions already there are compared, not rewritten), resumable (Ctrl-C,
    then run the same command again), and with --move the source is deleted only after
    the copy reads back equal. Exits 1 if any session could not be migrated.
    """
    source = from_url or from_langgraph_mongodb
    if source is None or (from_url and from_langgraph_mongodb):
        raise fail("give exactly one of --from URL and --from-langgraph-mongodb URL")
    if from_url:
        require_existing(from_url)
    journal_path = journal or default_journal_path(source, to_url)
    options = MigrateOptions(
        dry_run=dry_run,
        move=move,
        overwrite=overwrite,
        to_layout=to_layout.value if to_layout else None,
        validate=not skip_validation,
        threads=tuple(only) if only else None,
    )
    files = Bookkeeping(journal_path, restart, id_map or journal_path.with_suffix(".ids.json"))
    try:
        with progress_bar("migrating") as listener:
            if from_url:
                result = migrate(
                    from_url,
                    to_url,
                    options=options,
                    new_ids=new_ids,
                    files=files,
                    listener=listener,
                )
            else:
                result = migrate_langgraph_mongodb(
                    source,
                    to_url,
                    db_name=db,
                    options=options,
                    new_ids=new_ids,
                    files=files,
                    listener=listener,
                )
    except KeyboardInterrupt:
        message = f"interrupted: run the same command again to continue ({journal_path})"
        raise fail(message, 130) from None
    except (PicoflowError, ImportError) as exc:
        raise fail(f"cannot migrate: {exc}") from None
    _summary(result, dry_run)
    exit_for(result.report)


def _summary(result: MigrationResult, dry_run: bool) -> None:
    print_report(result.report, "migrate", dry_run=dry_run)
    err = console(stderr=True)
    if result.id_map is not None:
        err.print(Text(f"new ids written to {result.id_map}"))
    if result.journal is not None and not dry_run:
        err.print(Text(f"journal: {result.journal}"))
