"""Item ids: the rules Cosmos DB puts on them, and how log item ids are built.

A session item's id *is* the Picoflow session id (the document's ``id`` field), so it
cannot be encoded: an id Cosmos would refuse is refused here, before any request, with
:class:`InvalidIdError` naming it. Log item ids are built by this module from their
parts (namespace, checkpoint id, task id...), which may hold anything; a part that is not
plainly safe is replaced by a digest (the parts are also stored as fields, so nothing is
lost), which keeps every log id free of ``/ \\ ? #`` and under 255 characters.
"""

from __future__ import annotations

import hashlib
import re

from langgraph_picoflow.errors import StoreError

#: Characters Cosmos DB refuses in an item id (they break the resource path); the SDK
#: also refuses tab, carriage return and newline, and we refuse every control character.
FORBIDDEN = frozenset("/\\?#") | frozenset(chr(c) for c in (*range(32), 127))
#: Longest item id Cosmos DB accepts.
MAX_ID_LENGTH = 255

_SAFE_PART = re.compile(r"[A-Za-z0-9_.:=+-]{0,80}")


class InvalidIdError(StoreError, ValueError):
    """A session (thread) id that Cosmos DB cannot store as an item id."""

    def __init__(self, thread_id: str, reason: str) -> None:
        self.thread_id = thread_id
        super().__init__(f"thread id {thread_id!r} cannot be a Cosmos DB item id: {reason}")


def check_thread_id(thread_id: str) -> str:
    """Return ``thread_id`` if Cosmos DB accepts it as an item id, else raise.

    >>> check_thread_id("6917ad4ac3d31db001ec2393")
    '6917ad4ac3d31db001ec2393'
    >>> try:
    ...     check_thread_id("a/b")
    ... except InvalidIdError as exc:
    ...     print(exc.thread_id)
    a/b
    """
    if not isinstance(thread_id, str) or not thread_id:
        raise InvalidIdError(str(thread_id), "it is empty")
    bad = sorted({c for c in thread_id if c in FORBIDDEN})
    if bad:
        listed = ", ".join(repr(c) for c in bad)
        raise InvalidIdError(
            thread_id, f"it contains {listed} (Cosmos DB refuses / \\ ? # and control characters)"
        )
    if thread_id in (".", ".."):
        # The id goes into the item's URL: a dot segment would address the container.
        raise InvalidIdError(thread_id, "'.' and '..' are path segments in the item's URL")
    if thread_id.endswith(" "):
        raise InvalidIdError(thread_id, "it ends with a space (the SDK refuses that)")
    if len(thread_id) > MAX_ID_LENGTH:
        raise InvalidIdError(thread_id, f"it is longer than {MAX_ID_LENGTH} characters")
    try:
        thread_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidIdError(thread_id, "it is not valid Unicode (a lone surrogate)") from None
    return thread_id


def _digest(text: str, size: int) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:size]


def _part(value: object) -> str:
    text = str(value)
    # "!" is outside the safe alphabet, so a digest never equals a plain part.
    return text if _SAFE_PART.fullmatch(text) else "!" + _digest(text, 32)


def log_id(kind: str, *parts: object) -> str:
    """A log item id: ``kind|part|part...`` with unsafe parts replaced by digests.

    >>> log_id("w", "", "1ef-a", "task/1", 0)
    'w||1ef-a|!38de28feb118d922369397b586034123|0'
    """
    text = "|".join([kind, *(_part(p) for p in parts)])
    if len(text) > MAX_ID_LENGTH - 40:  # room for a "~<pgen>~<i>" part suffix
        text = f"{kind}|!" + _digest(text, 64)
    return text


def content_digest(text: str) -> str:
    """A short, stable digest of some text (content-addressed item ids)."""
    return _digest(text, 24)
