"""``langgraph-picoflow expire`` and ``prune``: remove old sessions or old checkpoints."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from langgraph_picoflow.cli._common import (
    DEFAULT_STORE,
    DryRunOption,
    StoreOption,
    exit_for,
    fail,
    opened,
    print_report,
    progress_bar,
)
from langgraph_picoflow.migrate import expire_sessions, prune_sessions


class Strategy(str, Enum):
    """LangGraph's pruning strategies."""

    keep_latest = "keep_latest"
    delete = "delete"


def expire_command(
    store: StoreOption = DEFAULT_STORE,
    expire_after: Annotated[
        float | None,
        typer.Option(
            help="Seconds (Picoflow's SESSION_EXPIRATION); default: each document's expireAfter."
        ),
    ] = None,
    dry_run: DryRunOption = False,
) -> None:
    """Delete expired sessions whole, as Picoflow decides expiry.

    A session is alive while the whole seconds since its saveOn are at most the expiry.
    """
    with opened(store) as (st, _), progress_bar("expiring", echo_changes=True) as listener:
        report = expire_sessions(st, expire_after=expire_after, dry_run=dry_run, listener=listener)
    print_report(report, "expire", dry_run=dry_run)
    exit_for(report)


def prune_command(
    session_ids: Annotated[list[str] | None, typer.Argument(help="Sessions to prune.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every session of the store.")] = False,
    strategy: Annotated[
        Strategy, typer.Option(help="keep_latest checkpoint per namespace, or delete threads.")
    ] = Strategy.keep_latest,
    store: StoreOption = DEFAULT_STORE,
    dry_run: DryRunOption = False,
) -> None:
    """Prune LangGraph checkpoints (DeltaChannel-safe); the documents stay as they are."""
    if not session_ids and not all_:
        raise fail("give session ids or --all")
    with opened(store) as (st, config), progress_bar("pruning", echo_changes=True) as listener:
        report = prune_sessions(
            st,
            strategy=strategy.value,
            session=config,
            ids=session_ids or None,
            dry_run=dry_run,
            listener=listener,
        )
    print_report(report, "prune", dry_run=dry_run)
    exit_for(report)
