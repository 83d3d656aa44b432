"""Sessions of a store: summaries and filters (``list``), transcripts (``show``).

Everything streams one thread at a time. A C layout document (Picoflow 1.1) is summarised
through its B view; the stored document itself is never changed by these reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.errors import SessionDocumentError
from langgraph_picoflow.records import CheckpointRecord, SessionRecord
from langgraph_picoflow.stores.protocol import ListCheckpoints, ListThreads, ReadSession, Store


def as_datetime(value: Any) -> datetime | None:
    """A document date (BSON date, ISO string or epoch milliseconds) as aware UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return as_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    return None


def b_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The document in a ``flows[]`` layout (C converted to B; others as they are)."""
    if pdoc.detect_layout(doc) != "C":
        return doc
    try:
        return pdoc.to_layout_b(doc)
    except SessionDocumentError:
        return {**doc, "flows": []}


@dataclass(frozen=True)
class SessionSummary:
    """One line of ``sessions list``."""

    id: str
    flow: str | None
    run_status: str | None
    layout: str
    created_on: datetime | None
    save_on: datetime | None
    active_step: str | None
    messages: int
    tokens: int | None
    #: Metadata of the newest root checkpoint of the LangGraph log (``None``: no log).
    checkpoint: Mapping[str, Any] | None


def summarize(
    thread_id: str, doc: dict[str, Any], latest: CheckpointRecord | None
) -> SessionSummary:
    """The summary of a stored document and its newest log entry."""
    view = b_view(doc)
    flows = [f for f in view.get("flows") or [] if isinstance(f, dict)]
    flow = flows[0] if flows else {}
    active = [s.get("name") for s in flow.get("steps") or [] if s.get("isActive") is True]
    tokens = (view.get("tokens") or {}).get("totalTokens")
    return SessionSummary(
        id=thread_id,
        flow=flow.get("name"),
        run_status=doc.get("runStatus"),
        layout=pdoc.detect_layout(doc),
        created_on=as_datetime(doc.get("createdOn")),
        save_on=as_datetime(doc.get("saveOn")),
        active_step=str(active[0]) if active else None,
        messages=sum(len(m.get("history") or []) for f in flows for m in f.get("memory") or []),
        tokens=tokens if isinstance(tokens, int) else None,
        checkpoint=latest.metadata if latest is not None else None,
    )


@dataclass(frozen=True)
class SessionFilter:
    """Which sessions ``sessions list`` (and friends) keep; ``None`` fields match anything."""

    flow: str | None = None
    status: str | None = None
    updated_before: datetime | None = None
    updated_after: datetime | None = None
    #: Keys of the newest checkpoint's metadata, each equal (as JSON) to the value.
    metadata: Mapping[str, Any] | None = None

    def matches(self, s: SessionSummary) -> bool:
        """Whether the session passes every given condition."""
        if self.flow is not None and s.flow != self.flow:
            return False
        if self.status is not None and s.run_status != self.status:
            return False
        if self.updated_before is not None and not (s.save_on and s.save_on < self.updated_before):
            return False
        if self.updated_after is not None and not (s.save_on and s.save_on > self.updated_after):
            return False
        if self.metadata:
            meta = s.checkpoint or {}
            return all(
                k in meta and json.dumps(meta[k]) == json.dumps(v) for k, v in self.metadata.items()
            )
        return True


def thread_ids(store: Store, ids: Sequence[str] | None = None) -> list[str]:
    """``ids`` (deduplicated, sorted), or every thread of the store, sorted.

    The store's list is sorted in place, without a copy: it is the one per-session cost
    of a bulk run, and a resumed migration relies on the order (see ``Journal``).
    """
    if ids:
        return sorted(set(ids))
    found: list[str] = store.execute(ListThreads())
    found.sort()
    return found


def latest_entry(store: Store, thread_id: str) -> CheckpointRecord | None:
    """The newest root log entry of a thread, without its (possibly large) patch."""
    found = store.execute(ListCheckpoints(thread_id, "", limit=1, with_session=False))
    return found[0] if found else None


def iter_sessions(
    store: Store, where: SessionFilter = SessionFilter(), ids: Sequence[str] | None = None
) -> Iterator[SessionSummary]:
    """Summaries of the sessions that pass ``where``, in id order, one read at a time."""
    for thread_id in thread_ids(store, ids):
        record: SessionRecord | None = store.execute(ReadSession(thread_id))
        if record is None:
            continue  # a log without a head: nothing Picoflow would list
        summary = summarize(thread_id, record.document, latest_entry(store, thread_id))
        if where.matches(summary):
            yield summary


@dataclass(frozen=True)
class Line:
    """One message of a transcript, with where it sits and what it cost."""

    namespace: str
    step: str | None
    entry: Mapping[str, Any]
    #: ``usage_metadata`` LangGraph recorded for this message (kept in its sidecar).
    usage: Mapping[str, Any] | None


def transcript(record: SessionRecord) -> Iterator[Line]:
    """Every history entry of the session's flows, namespace by namespace, in order."""
    view = b_view(record.document)
    for f, flow in enumerate(view.get("flows") or []):
        for n, space in enumerate(flow.get("memory") or []):
            sidecars = _at(record.sidecars, f, n)
            for i, entry in enumerate(space.get("history") or []):
                side = sidecars[i] if i < len(sidecars) else {}
                usage = side.get("usage_metadata") if isinstance(side, dict) else None
                yield Line(
                    str(space.get("nameSpace")),
                    pdoc.message_id_step(str(entry.get("id", ""))),
                    entry,
                    usage if isinstance(usage, Mapping) else None,
                )


def _at(sidecars: Any, f: int, n: int) -> list[Any]:
    try:
        found = sidecars[f][n]
    except (IndexError, TypeError, KeyError):
        return []
    return found if isinstance(found, list) else []
