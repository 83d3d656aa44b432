"""``validate`` and ``convert``: session documents in files (and, for validate, in a store)."""

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from langgraph_picoflow.cli._common import console as _console
from langgraph_picoflow.cli._common import fail, opened
from langgraph_picoflow.document import Parsed, detect_layout, dumps, parse, validate
from langgraph_picoflow.errors import Problem, SessionDocumentError
from langgraph_picoflow.migrate import describe, thread_ids
from langgraph_picoflow.stores.protocol import ReadSession, Store


class OutputSpelling(str, Enum):
    """The text spellings a document can be converted to."""

    plain = "plain"
    extended = "extended"
    canonical = "canonical"


def _read(file: Path) -> Parsed:
    data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    return parse(data)


def _print_problems(console: Console, problems: list[Problem]) -> None:
    for problem in problems:
        line = Text("  ")
        if problem.path:
            line.append(problem.path, style="bold")
            line.append(": ")
        line.append(problem.message)
        console.print(line)


def _show(console: Console, head: Text, problems: list[Problem]) -> bool:
    """Print one document's verdict; ``True`` when it has no problem."""
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        head.append(count, style="red")
        console.print(head)
        _print_problems(console, problems)
        return False
    head.append("ok", style="green")
    console.print(head)
    return True


def _validate_file(console: Console, file: Path, strict: bool) -> bool:
    try:
        parsed = _read(file)
    except OSError as exc:
        console.print(Text(f"{file}: cannot read: {exc.strerror or exc}", style="red"))
        return False
    except SessionDocumentError as exc:
        console.print(Text(f"{file}: cannot load", style="red"))
        _print_problems(console, exc.problems)
        return False
    doc = parsed.document
    problems = validate(doc, require_object_id=parsed.object_id, strict=strict)
    return _show(
        console,
        Text(f"{file}: layout {detect_layout(doc)}, spelling {parsed.spelling}: "),
        problems,
    )


def _validate_stored(console: Console, store: Store, session_id: str, strict: bool) -> bool:
    try:
        record = store.execute(ReadSession(session_id))
    except Exception as exc:  # a record the store cannot even decode is a finding, not a crash
        console.print(Text(f"{session_id}: cannot read: {describe(exc)}", style="red"))
        return False
    if record is None:
        console.print(Text(f"{session_id}: no such session", style="red"))
        return False
    doc = record.document
    problems = validate(doc, strict=strict)
    return _show(console, Text(f"{session_id}: layout {detect_layout(doc)}: "), problems)


def validate_command(
    items: Annotated[
        list[str] | None,
        typer.Argument(
            help="Session documents (JSON; '-' is stdin), or with --store, session ids "
            "(default: every session).",
            metavar="FILE_OR_ID...",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(help="Also require what Picoflow always writes (full message ids, ...)."),
    ] = False,
    store: Annotated[
        str | None, typer.Option("--store", help="Validate the sessions of this store instead.")
    ] = None,
) -> None:
    """Check session documents; print each problem with its JSON path. Exit 1 if any."""
    console = _console()
    if store is None:
        if not items:
            raise fail("give documents to validate, or --store URL [ID...]")
        results = [_validate_file(console, Path(item), strict) for item in items]
    else:
        with opened(store) as (st, _):
            ids = thread_ids(st, items)
            results = [_validate_stored(console, st, session_id, strict) for session_id in ids]
    if not all(results):
        raise typer.Exit(code=1)


def convert_command(
    file: Annotated[Path, typer.Argument(help="Session document (JSON); '-' is stdin.")],
    to: Annotated[OutputSpelling, typer.Option("--to", help="Spelling to write.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Rewrite a document in another spelling as 2-space-indented UTF-8 JSON.

    The source's trailing newline (or its absence) is kept, so converting a file to its own
    spelling reproduces it byte for byte.
    """
    err = _console(stderr=True)
    try:
        parsed = _read(file)
        text = dumps(parsed.document, to.value, trailing_newline=parsed.trailing_newline)
    except OSError as exc:
        err.print(Text(f"{file}: cannot read: {exc.strerror or exc}", style="red"))
        raise typer.Exit(code=1) from None
    except SessionDocumentError as exc:
        err.print(Text(f"{file}: cannot convert", style="red"))
        _print_problems(err, exc.problems)
        raise typer.Exit(code=1) from None
    data = text.encode("utf-8")
    if output is not None:
        output.write_bytes(data)
        return
    # Bytes, not text: a text stream could translate newlines and break byte equality.
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
