"""Session ids and Picoflow message ids."""

from __future__ import annotations

import itertools
import os
import random
import re
import threading
import time
import uuid
from datetime import datetime
from typing import Literal

from ._dates import iso_ms, parse_iso_ms

#: ``<StepName>|<UTC YYYY-MM-DDTHH:mm:ss.SSSZ>|<integer in [1000000000, 9999999999]>``.
MESSAGE_ID_RE = re.compile(
    r"^(?P<step>[^|]+)\|(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|(?P<n>[1-9]\d{9})$"
)

_MESSAGE_RANDOM_MIN = 1_000_000_000
_MESSAGE_RANDOM_MAX = 9_999_999_999
_system_random = random.SystemRandom()


def new_message_id(step: str, now: datetime, rng: random.Random | None = None) -> str:
    """A Picoflow message id for a message made by (or forwarded into) ``step`` at ``now``.

    Pass a seeded ``rng`` for reproducible ids::

        >>> from datetime import timezone
        >>> new_message_id("HelloStep", datetime(2025, 11, 14, tzinfo=timezone.utc),
        ...                random.Random(1))[:35]
        'HelloStep|2025-11-14T00:00:00.000Z|'
    """
    if not step or "|" in step:
        raise ValueError(f"step name {step!r} must be non-empty and contain no '|'")
    n = (rng or _system_random).randint(_MESSAGE_RANDOM_MIN, _MESSAGE_RANDOM_MAX)
    return f"{step}|{iso_ms(now)}|{n}"


def parse_message_id(message_id: str) -> tuple[str, datetime, int] | None:
    """Split a Picoflow message id into ``(step, time, random number)``; ``None`` if malformed.

    >>> parse_message_id("EndStep|2025-11-14T22:29:44.816Z|8871362917")[0]
    'EndStep'
    >>> parse_message_id("3f1c0d7e-uuid") is None
    True
    """
    m = MESSAGE_ID_RE.match(message_id)
    if m is None:
        return None
    ts = parse_iso_ms(m.group("ts"))
    if ts is None:
        return None
    return m.group("step"), ts, int(m.group("n"))


def message_id_step(message_id: str) -> str | None:
    """The step prefix of a message id (the text before the first ``|``), or ``None``.

    Picoflow compares this prefix with the active step to notice a step change, so it is the
    one part of the id that must always be there::

        >>> message_id_step("NameStep|anything"), message_id_step("no-prefix")
        ('NameStep', None)
    """
    step, sep, _ = message_id.partition("|")
    return step if sep and step else None


class _ObjectIdSource:
    """ObjectId layout: 4-byte seconds, 5 random bytes per process, 3-byte counter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()
        # A forked child must not repeat its parent's ids.
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._process = os.urandom(5)
        self._counter = itertools.count(int.from_bytes(os.urandom(3), "big"))

    def next(self) -> str:
        with self._lock:
            count = next(self._counter) & 0xFFFFFF
        seconds = int(time.time()) & 0xFFFFFFFF
        return (seconds.to_bytes(4, "big") + self._process + count.to_bytes(3, "big")).hex()


_object_ids = _ObjectIdSource()


def new_session_id(kind: Literal["objectid", "uuid"] = "objectid") -> str:
    """A new session id: a 24-hex ObjectId string (Mongo) or a uuid v4 (Cosmos, files).

    >>> len(new_session_id()), len(new_session_id("uuid"))
    (24, 36)
    """
    if kind == "objectid":
        return _object_ids.next()
    if kind == "uuid":
        return str(uuid.uuid4())
    raise ValueError(f"unknown session id kind {kind!r}")
