"""What a bulk operation did to each session, and the totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

#: ``created``/``replaced``: written to the target; ``unchanged``: the target already had
#: it; ``resumed``: finished by an earlier, interrupted run; ``deleted``/``pruned``: removed
#: (``expire``, ``prune``); ``kept``: nothing to do; ``failed``: see ``reason``.
Action = Literal[
    "created", "replaced", "unchanged", "resumed", "deleted", "pruned", "kept", "failed"
]


@dataclass(frozen=True)
class Outcome:
    """What happened to one session (``dry_run``: what would have happened)."""

    thread_id: str
    action: Action
    target_id: str | None = None
    reason: str = ""
    #: ``--move``: the source session was deleted after the copy was verified.
    moved: bool = False
    dry_run: bool = False


@dataclass
class Report:
    """Totals per action, and every failure with its reason (nothing else is kept)."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: list[Outcome] = field(default_factory=list)
    moved: int = 0

    def add(self, outcome: Outcome) -> None:
        """Count one outcome."""
        self.counts[outcome.action] += 1
        self.moved += outcome.moved
        if outcome.action == "failed":
            self.failures.append(outcome)

    @property
    def ok(self) -> bool:
        """Whether every session went through."""
        return not self.failures


#: Called with each outcome as it happens (progress bars, logs).
OnOutcome = Callable[[Outcome], None]
#: Called once with the number of sessions about to be processed.
OnTotal = Callable[[int], None]


def _ignore(_: object) -> None:
    """The default listener."""


@dataclass(frozen=True)
class Listener:
    """Progress callbacks of a bulk operation."""

    on_total: OnTotal = _ignore
    on_outcome: OnOutcome = _ignore


#: The listener that hears nothing.
SILENT = Listener()


def describe(exc: BaseException) -> str:
    """A one-line reason for a failure."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
