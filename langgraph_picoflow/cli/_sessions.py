"""``langgraph-picoflow sessions``: list, show, export and import stored sessions."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.cli._common import (
    DEFAULT_STORE,
    ExportSpelling,
    Layout,
    StoreOption,
    console,
    exit_for,
    fail,
    opened,
    parse_meta,
    parse_when,
    plain,
    print_report,
    progress_bar,
)
from langgraph_picoflow.migrate import (
    Line,
    SessionFilter,
    SessionSummary,
    Source,
    as_datetime,
    b_view,
    export_line,
    export_text,
    import_sessions,
    iter_sessions,
    read_sources,
    transcript,
)
from langgraph_picoflow.stores.protocol import ListCheckpoints, ReadSession

sessions_app = typer.Typer(
    help="List, show, export and import the sessions of a store.", no_args_is_help=True
)


FlowOption = Annotated[str | None, typer.Option("--flow", help="Only this flow name.")]
StatusOption = Annotated[
    str | None, typer.Option("--status", help="Only this runStatus (running, completed...).")
]
BeforeOption = Annotated[
    str | None,
    typer.Option("--updated-before", help="saveOn before this ISO time, or an age (7d, 12h)."),
]
AfterOption = Annotated[
    str | None,
    typer.Option("--updated-after", help="saveOn after this ISO time, or an age (7d, 12h)."),
]
MetaOption = Annotated[
    list[str] | None,
    typer.Option("--meta", help="key=value the latest checkpoint's metadata has (repeatable)."),
]


def _filter(
    flow: str | None, status: str | None, before: str | None, after: str | None, meta: Any
) -> SessionFilter:
    return SessionFilter(
        flow=flow,
        status=status,
        updated_before=parse_when(before) if before else None,
        updated_after=parse_when(after) if after else None,
        metadata=parse_meta(meta),
    )


def _when(value: datetime | None) -> str:
    return pdoc.iso_ms(value) if value else "-"


def _checkpoint(meta: Any) -> str:
    if meta is None:
        return "picoflow"  # written by Picoflow, no LangGraph log
    return f"{meta.get('source', '?')} step {meta.get('step', '?')}"


def _summary_json(s: SessionSummary) -> str:
    return json.dumps(
        {
            "id": s.id,
            "flow": s.flow,
            "runStatus": s.run_status,
            "layout": s.layout,
            "createdOn": _when(s.created_on) if s.created_on else None,
            "saveOn": _when(s.save_on) if s.save_on else None,
            "activeStep": s.active_step,
            "messages": s.messages,
            "totalTokens": s.tokens,
            "checkpoint": s.checkpoint,
        },
        ensure_ascii=False,
    )


@sessions_app.command("list")
def list_command(
    store: StoreOption = DEFAULT_STORE,
    flow: FlowOption = None,
    status: StatusOption = None,
    updated_before: BeforeOption = None,
    updated_after: AfterOption = None,
    meta: MetaOption = None,
    limit: Annotated[int | None, typer.Option(help="Show at most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one per session.")] = False,
) -> None:
    """List sessions with their flow, status, active step, size and last checkpoint."""
    where = _filter(flow, status, updated_before, updated_after, meta)
    out = console()
    table = Table("id", "flow", "status", "layout", "step", "msgs", "tokens", "updated", "log")
    shown = 0
    with opened(store) as (st, _):
        for s in iter_sessions(st, where):
            if limit is not None and shown >= limit:
                break
            shown += 1
            if as_json:
                sys.stdout.write(_summary_json(s) + "\n")
                continue
            table.add_row(
                *plain(
                    s.id,
                    s.flow or "-",
                    s.run_status or "-",
                    s.layout,
                    s.active_step or "-",
                    str(s.messages),
                    "-" if s.tokens is None else str(s.tokens),
                    _when(s.save_on),
                    _checkpoint(s.checkpoint),
                )
            )
    if not as_json:
        table.title = f"{shown} session{'s' if shown != 1 else ''}"
        table.title_justify = "left"
        out.print(table)


def _content(entry: Any) -> str:
    content = entry.get("content")
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    for call in entry.get("tool_calls") or []:
        args = json.dumps(call.get("args"), ensure_ascii=False)
        text += f"\n-> {call.get('name')}({args})"
    if entry.get("type") == "tool":
        text = f"[{entry.get('name')} {entry.get('status')}] {text}"
    return text


def _tokens(line: Line) -> str:
    if not line.usage:
        return ""
    u = line.usage
    return f"{u.get('input_tokens', 0)}/{u.get('output_tokens', 0)}/{u.get('total_tokens', 0)}"


def _header(doc: dict[str, Any], checkpoints: int) -> Table:
    flows = b_view(doc).get("flows") or []
    flow = flows[0] if flows else {}
    tokens = doc.get("tokens") or {}
    rows = [
        ("flow", flow.get("name", "-")),
        ("runStatus", doc.get("runStatus", "-")),
        ("layout", pdoc.detect_layout(doc)),
        ("createdOn", _when(as_datetime(doc.get("createdOn")))),
        ("saveOn", _when(as_datetime(doc.get("saveOn")))),
        ("expireAfter", str(doc.get("expireAfter", "-"))),
        ("tokens", " ".join(f"{k}={v}" for k, v in tokens.items()) or "-"),
        ("sequence", " > ".join(str(s) for s in flow.get("sequence") or []) or "-"),
        ("checkpoints", str(checkpoints) if checkpoints else "none (written by Picoflow)"),
    ]
    table = Table(show_header=False, box=None)
    for key, value in rows:
        table.add_row(Text(key, style="bold"), Text(str(value)))
    return table


@sessions_app.command("show")
def show_command(
    session_id: Annotated[str, typer.Argument(help="The session (thread) id.")],
    store: StoreOption = DEFAULT_STORE,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw document.")] = False,
    spelling: Annotated[ExportSpelling, typer.Option(help="Spelling of --json.")] = (
        ExportSpelling.plain
    ),
) -> None:
    """Show a session: its fields, then the transcript per namespace and step, with tokens."""
    out = console()
    with opened(store) as (st, _):
        record = st.execute(ReadSession(session_id))
        if record is None:
            raise fail(f"no session {session_id!r}", code=1)
        if as_json:
            sys.stdout.write(pdoc.dumps(record.document, spelling.value) + "\n")
            return
        count = len(st.execute(ListCheckpoints(session_id, with_session=False)))
    out.print(Text(f"session {session_id}", style="bold"))
    out.print(_header(record.document, count))
    tables: dict[str, Table] = {}
    for line in transcript(record):
        table = tables.get(line.namespace)
        if table is None:
            table = Table("#", "step", "type", "content", "tokens in/out/total")
            table.title, table.title_justify = f"namespace {line.namespace}", "left"
            tables[line.namespace] = table
        kind = str(line.entry.get("type"))
        row = plain(str(table.row_count), line.step or "-", kind, _content(line.entry))
        table.add_row(*row, _tokens(line))
    for table in tables.values():
        out.print(table)


@sessions_app.command("export")
def export_command(
    session_ids: Annotated[list[str] | None, typer.Argument(help="Sessions to export.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every session (filters apply).")] = False,
    spelling: Annotated[ExportSpelling, typer.Option(help="Date/id spelling.")] = (
        ExportSpelling.plain
    ),
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write <id>.json files here; else JSON Lines."),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    flow: FlowOption = None,
    status: StatusOption = None,
    updated_before: BeforeOption = None,
    updated_after: AfterOption = None,
) -> None:
    """Export sessions as Picoflow JSON: one 2-space file per session, or JSON Lines to stdout."""
    if not session_ids and not all_:
        raise fail("give session ids or --all")
    where = _filter(flow, status, updated_before, updated_after, None)
    err = console(stderr=True)
    wanted = set(session_ids or ())
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
    with opened(store) as (st, _):
        for summary in iter_sessions(st, where, session_ids or None):
            wanted.discard(summary.id)
            if output is None:
                sys.stdout.write(export_line(st, summary.id, spelling.value) + "\n")
                continue
            path = output / f"{_file_name(summary.id)}.json"
            path.write_text(export_text(st, summary.id, spelling.value), encoding="utf-8")
            err.print(Text(str(path)))
    sys.stdout.flush()
    for session_id in sorted(wanted):
        err.print(Text(f"{session_id}: no such session (or filtered out)", style="red"))
    if wanted:
        raise typer.Exit(code=1)


def _file_name(session_id: str) -> str:
    """A file name for any session id (path separators would make directories)."""
    return session_id.replace("/", "_").replace("\\", "_")


def _sources(files: list[str]) -> Iterator[Source]:
    for name in files:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        yield from read_sources(Path(name), text)


@sessions_app.command("import")
def import_command(
    files: Annotated[
        list[str], typer.Argument(help="Exported documents or JSON Lines; - is stdin.")
    ],
    store: StoreOption = DEFAULT_STORE,
    overwrite: Annotated[
        bool, typer.Option(help="Replace stored sessions that differ from the file.")
    ] = False,
    to_layout: Annotated[
        Layout | None, typer.Option("--to-layout", help="Convert A0/A1 documents to B.")
    ] = None,
) -> None:
    """Import exported sessions (either spelling); they resume in LangGraph and in Picoflow."""
    for name in files:
        if name != "-" and not Path(name).is_file():
            raise fail(f"{name}: no such file")
    with opened(store, create=True) as (st, _), progress_bar("importing") as listener:
        report = import_sessions(
            st,
            _sources(files),
            overwrite=overwrite,
            to_layout=to_layout.value if to_layout else None,
            listener=listener,
        )
    print_report(report, "import")
    exit_for(report)
