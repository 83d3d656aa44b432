"""The loop every bulk operation shares: one item at a time, journaled, failures reported.

An item's step raises to fail; the loop records the reason and goes on with the next
item. ``KeyboardInterrupt`` (and other ``BaseException``) is not caught: it stops the run
with the journal saying which thread was being written, and the next run resumes there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from typing import TypeVar

from langgraph_picoflow.migrate._journal import Journal
from langgraph_picoflow.migrate._report import SILENT, Listener, Outcome, Report, describe

T = TypeVar("T")


def run_each(
    items: Iterable[T],
    step: Callable[[T], Outcome],
    *,
    label: Callable[[T], str],
    journal: Journal | None = None,
    listener: Listener = SILENT,
    dry_run: bool = False,
) -> Report:
    """Apply ``step`` to each item (threads in sorted id order: the journal's cursor needs it).

    ``listener.on_total`` is told the count first when ``items`` has a length.
    """
    journal = journal or Journal(None, {})
    report = Report()
    if isinstance(items, Sized):
        listener.on_total(len(items))
    for item in items:
        name = label(item)
        if not dry_run and journal.finished_earlier(name):
            outcome = Outcome(name, "resumed")
        else:
            try:
                outcome = step(item)
            except Exception as exc:
                outcome = Outcome(name, "failed", reason=describe(exc), dry_run=dry_run)
            if not dry_run:
                if outcome.action == "failed":
                    journal.failed_thread(name, outcome.reason)
                else:
                    journal.done(name, outcome.target_id or name, outcome.action)
        report.add(outcome)
        listener.on_outcome(outcome)
    if not dry_run:
        journal.complete(dict(report.counts))
    return report


def run_threads(
    thread_ids: list[str],
    step: Callable[[str], Outcome],
    *,
    journal: Journal | None = None,
    listener: Listener = SILENT,
    dry_run: bool = False,
) -> Report:
    """:func:`run_each` over thread ids."""
    return run_each(
        thread_ids, step, label=str, journal=journal, listener=listener, dry_run=dry_run
    )
