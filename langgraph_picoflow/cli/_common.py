"""What the commands share: consoles, the ``--store`` option, progress bars, reports."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from langgraph_picoflow.errors import PicoflowError
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.migrate import Listener, Outcome, Report
from langgraph_picoflow.stores.protocol import Store
from langgraph_picoflow.stores.url import (
    is_cosmos_connection_string,
    is_mongodb_url,
    open_store,
    sqlite_path,
)

DEFAULT_STORE = "sqlite:///picoflow.db"
StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="PICOFLOW_STORE",
        help="Store URL: sqlite:///file.db, memory://, mongodb://..., AccountEndpoint=...;",
    ),
]


class ExportSpelling(str, Enum):
    """How exported dates and ids are spelled."""

    plain = "plain"
    extended = "extended"


class Layout(str, Enum):
    """Layouts documents can be converted to (A0/A1 -> B)."""

    B = "B"


DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
]


def console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr); wide when not a terminal, so pipes and grep see whole rows.

    Built per call so that a redirected ``sys.stdout`` (tests, pipes) is honoured.
    """
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def plain(*cells: str) -> list[Text]:
    """Table cells shown as they are (stored text may hold ``[markup]`` or ``:emoji:``)."""
    return [Text(cell) for cell in cells]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` in red on stderr; the caller raises the returned ``Exit``."""
    console(stderr=True).print(Text(message, style="red"))
    return typer.Exit(code=code)


def _is_file_url(url: str) -> bool:
    return not (is_mongodb_url(url) or is_cosmos_connection_string(url) or url == "memory://")


def require_existing(url: str) -> None:
    """Refuse a SQLite URL whose file does not exist (opening it would create it empty)."""
    try:
        path = sqlite_path(url) if _is_file_url(url) else ":memory:"
    except PicoflowError as exc:
        raise fail(f"cannot open store: {exc}") from None
    if path != ":memory:" and not Path(path).exists():
        raise fail(f"no store at {path} (give --store URL or set PICOFLOW_STORE)")


@contextmanager
def opened(url: str, *, create: bool = False) -> Iterator[tuple[Store, SessionConfig]]:
    """The store ``url`` names, set up; a missing SQLite file is an error unless ``create``."""
    if not create:
        require_existing(url)
    stack = ExitStack()
    try:
        store, config = stack.enter_context(open_store(url))
        store.setup()
    except (PicoflowError, ImportError, OSError) as exc:
        stack.close()
        raise fail(f"cannot open store: {exc}") from None
    with stack:
        yield store, config


def changed_line(outcome: Outcome) -> Text | None:
    """The line telling that a session was (or would be) deleted or pruned, else ``None``."""
    if outcome.action not in ("deleted", "pruned"):
        return None
    verb = f"would be {outcome.action}" if outcome.dry_run else outcome.action
    detail = f" ({outcome.reason})" if outcome.reason else ""
    return Text(f"{outcome.thread_id}: {verb}{detail}")


@contextmanager
def progress_bar(description: str, *, echo_changes: bool = False) -> Iterator[Listener]:
    """A listener drawing a progress bar on stderr (only when stderr is a terminal).

    ``echo_changes`` also logs each deleted or pruned session above the bar.
    """
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    task = bar.add_task(description, total=None)

    def on_total(total: int) -> None:
        bar.update(task, total=total)

    def on_outcome(outcome: Outcome) -> None:
        bar.advance(task)
        line = changed_line(outcome) if echo_changes else None
        if line is not None:
            bar.console.print(line)

    with bar:
        yield Listener(on_total, on_outcome)


def print_report(report: Report, title: str, *, dry_run: bool = False) -> None:
    """Totals per action and every failure with its reason (stderr keeps stdout for data)."""
    out = console(stderr=True)
    counts = ", ".join(f"{n} {action}" for action, n in sorted(report.counts.items()))
    moved = f", {report.moved} moved" if report.moved else ""
    prefix = "dry run: " if dry_run else ""
    out.print(Text(f"{prefix}{title}: {counts or 'nothing to do'}{moved}"))
    if report.failures:
        table = Table(
            "session", "reason", title=f"{len(report.failures)} failed", title_justify="left"
        )
        for failure in report.failures:
            table.add_row(Text(failure.thread_id), Text(failure.reason, style="red"))
        out.print(table)


def exit_for(report: Report) -> None:
    """Exit 1 when anything failed."""
    if not report.ok:
        raise typer.Exit(code=1)


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """An ISO date/time (naive means UTC) or an age such as ``30m``, ``12h``, ``7d`` ago.

    >>> parse_when("7d", datetime(2025, 1, 8, tzinfo=timezone.utc)).day
    1
    """
    m = _RELATIVE.match(text.strip())
    if m:
        ago = timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
        return (now or datetime.now(timezone.utc)) - ago
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        message = f"expected an ISO date/time or an age like 7d, got {text!r}"
        raise typer.BadParameter(message) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_meta(pairs: list[str] | None) -> dict[str, Any] | None:
    """``key=value`` pairs; a value that is JSON (``3``, ``true``, ``"x"``) is taken as such."""
    if not pairs:
        return None
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out
