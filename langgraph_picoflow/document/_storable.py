"""Values every store can hold: Unicode text, no NUL in object keys, 64-bit integers. Pure.

Python strings may hold lone surrogates, which have no UTF-8 form: SQLite, BSON and the
Cosmos SDK each fail on them in their own untyped way, after part of a write may have
happened. BSON keys are C strings and BSON integers 64-bit, so a NUL in a key or a larger
integer cannot reach MongoDB either (nor can such an integer come from Picoflow, whose
numbers are JavaScript's). Since a session must be able to move between stores, the rule
is the same for all of them::

    >>> text_problem("a\\ud800b")
    'holds a lone surrogate (U+D800) at index 1: not Unicode text'
    >>> text_problem("a\\x00b", key=True)
    'holds a NUL character, which an object key cannot hold (BSON)'
    >>> for problem in storable_problems({"ok": ["fine", "bad \\udfff", 2**64]}, "extra"):
    ...     print(problem)
    extra.ok[1]: holds a lone surrogate (U+DFFF) at index 4: not Unicode text
    extra.ok[2]: integer 18446744073709551616 is beyond 64 bits (BSON holds -2**63 .. 2**63-1)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from langgraph_picoflow.document._json import join_path
from langgraph_picoflow.errors import Problem, SessionDocumentError

_INT64 = -(2**63)


def text_problem(text: str, *, key: bool = False) -> str | None:
    """Why ``text`` (an object key when ``key``) cannot be stored, or ``None`` if it can."""
    if key and "\x00" in text:
        return "holds a NUL character, which an object key cannot hold (BSON)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"holds a lone surrogate (U+{ord(text[exc.start]):04X}) at index {exc.start}: "
            "not Unicode text"
        )
    return None


def storable_problems(value: Any, path: str = "") -> Iterator[Problem]:
    """Every value under ``value`` no store can hold: text (and keys) `text_problem`
    refuses, and integers beyond 64 bits."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:  # iterative: documents may nest deeper than Python's recursion limit
        item, at = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                yield Problem(at, problem)
        elif isinstance(item, int) and not isinstance(item, bool) and not _INT64 <= item < -_INT64:
            yield Problem(at, f"integer {item} is beyond 64 bits (BSON holds -2**63 .. 2**63-1)")
        elif isinstance(item, Mapping):
            for k, v in reversed(list(item.items())):
                child = join_path(at, str(k))
                problem = text_problem(k, key=True) if isinstance(k, str) else None
                if problem:
                    yield Problem(child, f"key {problem}")
                stack.append((v, child))
        elif isinstance(item, list | tuple):
            stack.extend((v, join_path(at, i)) for i, v in reversed(list(enumerate(item))))


def check_text(text: str, path: str) -> str:
    """Return ``text`` if every store can hold it, else raise `SessionDocumentError` at ``path``."""
    problem = text_problem(text)
    if problem:
        raise SessionDocumentError(problem, path)
    return text
