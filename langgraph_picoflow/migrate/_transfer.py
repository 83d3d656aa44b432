"""Export stored sessions as Picoflow JSON, and import exported files (one or JSON Lines)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.errors import SessionDocumentError
from langgraph_picoflow.migrate._copy import MigrationError
from langgraph_picoflow.migrate._layout import converter
from langgraph_picoflow.migrate._report import SILENT, Listener, Outcome, Report
from langgraph_picoflow.migrate._run import run_each
from langgraph_picoflow.saver import PicoflowSaver
from langgraph_picoflow.stores.protocol import ReadSession, Store


def export_text(store: Store, thread_id: str, spelling: pdoc.TextSpelling = "plain") -> str:
    """The stored document as Picoflow writes exports: ``JSON.stringify(doc, null, 2)``.

    The document is exported exactly as stored (layout included). Raises ``KeyError`` when
    the store has no session ``thread_id``.
    """
    record = store.execute(ReadSession(thread_id))
    if record is None:
        raise KeyError(f"no session {thread_id!r}")
    return pdoc.dumps(record.document, spelling)


def export_line(store: Store, thread_id: str, spelling: pdoc.TextSpelling = "plain") -> str:
    """The same document as one compact JSON line (for JSON Lines output)."""
    value = json.loads(export_text(store, thread_id, spelling))
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Source:
    """A document to import and where it came from (``file`` or ``file:line``)."""

    label: str
    text: str


def read_sources(path: Path, text: str) -> Iterator[Source]:
    """The documents of one file: a single JSON document, or JSON Lines (one per line)."""
    try:
        pdoc.parse(text)
    except SessionDocumentError:
        lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) > 1:
            for number, line in lines:
                yield Source(f"{path}:{number}", line)
            return
    yield Source(str(path), text)


def import_sessions(
    store: Store,
    sources: Iterable[Source],
    *,
    overwrite: bool = False,
    to_layout: Literal["B"] | None = None,
    listener: Listener = SILENT,
) -> Report:
    """Store exported documents (either spelling) as sessions.

    A layout C document is stored as B (the saver resumes only ``flows[]`` layouts); A0/A1
    become B when ``to_layout="B"``. A session that is already stored identically is left
    alone; a different one is replaced only with ``overwrite``.
    """
    saver = PicoflowSaver(store)
    convert = converter(to_layout)

    def one(source: Source) -> Outcome:
        label = source.label
        doc = convert(pdoc.load(source.text))
        pdoc.check(doc)
        session_id = str(doc["id"])
        existing = store.execute(ReadSession(session_id))
        if existing is not None and _same(existing.document, doc):
            return Outcome(label, "unchanged", session_id)
        if existing is not None and not overwrite:
            raise MigrationError(f"session {session_id!r} exists and differs; use overwrite")
        saver.import_session(doc, overwrite=True)
        return Outcome(label, "replaced" if existing else "created", session_id)

    return run_each(sources, one, label=lambda s: s.label, listener=listener)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return pdoc.dumps(a) == pdoc.dumps(b)
