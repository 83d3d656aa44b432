"""Typed errors raised by langgraph-picoflow.

Every error names what it is about (a JSON path, a session id, a store) so that a
caller can tell bad input from a concurrency conflict from a store failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class PicoflowError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is (a JSON path) and what was expected there."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SessionDocumentError(PicoflowError, ValueError):
    """A Picoflow session document (or a value headed for one) is malformed.

    ``problems`` lists every problem found, not only the first::

        >>> SessionDocumentError([Problem("flows[0].name", "expected a string")]).problems[0].path
        'flows[0].name'
    """

    def __init__(self, problems: Sequence[Problem] | str, path: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(path, problems)]
        self.problems: list[Problem] = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid session document")


class ConflictError(PicoflowError):
    """Another writer changed the session since this saver last read it; nothing was written."""

    def __init__(self, session_id: str, detail: str = "") -> None:
        self.session_id = session_id
        msg = f"session {session_id!r} was changed by another writer"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class StoreError(PicoflowError):
    """A store refused an operation or a configuration (bad URL, unsupported server, limits)."""
