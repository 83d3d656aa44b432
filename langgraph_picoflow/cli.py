"""The ``langgraph-picoflow`` command line.

``app`` is the root typer application. Commands that work on files live here; command groups
added later (``sessions list/show/export/import``, ``migrate``, ``expire``, ``prune``) belong in
their own modules, each exposing a ``typer.Typer`` that is attached below with
``app.add_typer(sub_app, name="sessions")``, so that this module stays a table of contents.
"""

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from .document import Parsed, detect_layout, dumps, parse, validate
from .errors import Problem, SessionDocumentError

app = typer.Typer(
    name="langgraph-picoflow",
    help="Work with Picoflow session documents and the LangGraph checkpointer built on them.",
    no_args_is_help=True,
    add_completion=False,
)


class OutputSpelling(str, Enum):
    """The text spellings a document can be converted to."""

    plain = "plain"
    extended = "extended"
    canonical = "canonical"


def _console(stderr: bool = False) -> Console:
    # Built per call so that a redirected sys.stdout (tests, pipes) is honoured; soft_wrap keeps
    # long JSON paths on one line, where grep and tests can find them.
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


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


@app.callback()
def _root() -> None:
    """Work with Picoflow session documents and the LangGraph checkpointer built on them."""


@app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="Session documents (JSON); '-' is stdin.")],
    strict: Annotated[
        bool,
        typer.Option(help="Also require what Picoflow always writes (full message ids, ...)."),
    ] = False,
) -> None:
    """Check session documents; print each problem with its JSON path. Exit 1 if any."""
    console = _console()
    failed = 0
    for file in files:
        try:
            parsed = _read(file)
        except OSError as exc:
            failed += 1
            console.print(Text(f"{file}: cannot read: {exc.strerror or exc}", style="red"))
            continue
        except SessionDocumentError as exc:
            failed += 1
            console.print(Text(f"{file}: cannot load", style="red"))
            _print_problems(console, exc.problems)
            continue
        doc = parsed.document
        problems = validate(doc, require_object_id=parsed.object_id, strict=strict)
        head = Text(f"{file}: layout {detect_layout(doc)}, spelling {parsed.spelling}: ")
        if problems:
            failed += 1
            count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
            head.append(count, style="red")
            console.print(head)
            _print_problems(console, problems)
        else:
            head.append("ok", style="green")
            console.print(head)
    if failed:
        raise typer.Exit(code=1)


@app.command("convert")
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


# Command groups from other modules are attached here, e.g.:
#     from .cli_sessions import sessions_app
#     app.add_typer(sessions_app, name="sessions")


def main() -> None:
    """Run the command line (the ``langgraph-picoflow`` console script)."""
    app()


if __name__ == "__main__":
    main()
