"""What "the session is intact" means, checked from a fresh saver after every fault.

For each session: the stored document validates (``document.check``); ``get_state``
works and shows exactly the document's history; no human text appears twice (every
attempt has a unique text, so a duplicate is a step applied twice); every ``re: X`` comes
right after ``X`` (history never interleaved); the blob channel agrees with the head
(``notes`` names the last human of a finished turn); and every acknowledged text is there
with its answer right after it (no acknowledged turn lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.records import CheckpointRecord
from langgraph_picoflow.stores.protocol import HeadRead, ListCheckpoints, ReadHead
from tests.faults.workload import REPLY, build, config


@dataclass
class Verdict:
    """Problems found in the sessions checked; both lists must stay empty."""

    lost: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return not self.lost and not self.corrupt

    def extend(self, other: Verdict) -> None:
        """Add another verdict's problems."""
        self.lost += other.lost
        self.corrupt += other.corrupt

    def summary(self) -> str:
        """The problems, one a line, for an assertion message."""
        return "\n".join(
            [*(f"LOST {p}" for p in self.lost), *(f"CORRUPT {p}" for p in self.corrupt)]
        )


def needs_roll_forward(saver: PicoflowSaver, thread_id: str) -> bool:
    """Whether the log holds a step the head does not show yet (a crash between the two).

    Read through the store protocol, not the saver, because the saver's read would roll
    the head forward (which is what is being counted).
    """
    read: HeadRead = saver.store.execute(ReadHead(thread_id))
    if read.session is None:
        return False
    entries: list[CheckpointRecord] = saver.store.execute(ListCheckpoints(thread_id, ""))
    revision = read.session.revision
    return any(e.session is not None and e.session.get("base") == revision for e in entries)


def history_of(doc: Mapping[str, Any], space: str = "default") -> list[dict[str, Any]]:
    """The history of memory namespace ``space`` of the first flow (empty when absent)."""
    for flow in doc.get("flows") or []:
        for memory in flow.get("memory") or []:
            if memory.get("nameSpace") == space:
                return list(memory.get("history") or [])
        break
    return []


def texts_of(history: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(type, content)`` of each history entry."""
    return [(str(e.get("type")), str(e.get("content"))) for e in history]


def check_history(
    thread_id: str, entries: Sequence[tuple[str, str]], acked: Iterable[str]
) -> Verdict:
    """The history rules, on ``(type, content)`` pairs (pure, so it is unit-testable)."""
    verdict = Verdict()
    humans = [c for t, c in entries if t == "human"]
    for text in sorted({h for h in humans if humans.count(h) > 1}):
        verdict.corrupt.append(f"{thread_id}: {text!r} applied {humans.count(text)} times")
    for i, (kind, content) in enumerate(entries):
        if kind == "ai" and content.startswith(REPLY):
            asked = content[len(REPLY) :]
            if i == 0 or entries[i - 1] != ("human", asked):
                verdict.corrupt.append(f"{thread_id}: {content!r} at {i} does not follow {asked!r}")
    for text in acked:
        if ("human", text) not in entries:
            verdict.lost.append(f"{thread_id}: acknowledged turn {text!r} is missing")
            continue
        i = entries.index(("human", text))
        if i + 1 >= len(entries) or entries[i + 1] != ("ai", REPLY + text):
            verdict.lost.append(f"{thread_id}: the answer to acknowledged {text!r} is missing")
    return verdict


def stored_history(saver: PicoflowSaver, thread_id: str) -> tuple[list[tuple[str, str]], Verdict]:
    """The session's history, checked for what every stored session must satisfy.

    The document validates; ``get_tuple`` shows exactly the head's messages; ``get_state``
    works and shows at least them (LangGraph adds the pending writes of tasks that
    finished before a crash). Returns ``(type, content)`` pairs and the problems found.
    """
    verdict = Verdict()
    try:
        doc = saver.get_session(thread_id)
        stored = saver.get_tuple(config(thread_id))
        state = build(saver).get_state(config(thread_id))
    except Exception as exc:
        verdict.corrupt.append(f"{thread_id}: reading it raised {exc!r}")
        return [], verdict
    if doc is None:
        if stored is not None:
            verdict.corrupt.append(f"{thread_id}: a checkpoint but no document")
        return [], verdict
    try:
        pdoc.check(pdoc.load(doc))
    except Exception as exc:
        verdict.corrupt.append(f"{thread_id}: document invalid: {exc}")
    entries = texts_of(history_of(doc))
    if stored is None:
        verdict.corrupt.append(f"{thread_id}: a document but no checkpoint")
        return entries, verdict
    values = stored.checkpoint["channel_values"]
    shown = [(m.type, str(m.content)) for m in values.get("messages", [])]
    if shown != entries:
        verdict.corrupt.append(f"{thread_id}: checkpoint shows {shown[-4:]}, head {entries[-4:]}")
    snapshot = [(m.type, str(m.content)) for m in state.values.get("messages", [])]
    if snapshot[: len(entries)] != entries:
        verdict.corrupt.append(f"{thread_id}: get_state shows {snapshot[-4:]}, head {entries[-4:]}")
    notes = values.get("notes")
    humans = [c for t, c in shown if t == "human"]
    at_rest = not state.next and not stored.pending_writes  # a finished turn, nothing pending
    if at_rest and humans and notes is not None and notes.get("last") != humans[-1]:
        verdict.corrupt.append(
            f"{thread_id}: log and head disagree: notes answer {notes.get('last')!r}, "
            f"last human is {humans[-1]!r}"
        )
    return entries, verdict


def check_session(saver: PicoflowSaver, thread_id: str, acked: Sequence[str]) -> Verdict:
    """Every rule of this module on one stored session."""
    entries, verdict = stored_history(saver, thread_id)
    if not entries and acked and not verdict.corrupt:
        verdict.lost.append(f"{thread_id}: session missing, {len(acked)} turns acknowledged")
        return verdict
    verdict.extend(check_history(thread_id, entries, acked))
    return verdict


def check_all(saver: PicoflowSaver, acked: Mapping[str, Sequence[str]]) -> Verdict:
    """:func:`check_session` on every thread of ``acked``."""
    verdict = Verdict()
    for thread_id, texts in acked.items():
        verdict.extend(check_session(saver, thread_id, texts))
    return verdict
