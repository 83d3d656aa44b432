"""Dates the way Picoflow's JavaScript runtime writes them: UTC, milliseconds, ``Z``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

#: Exactly what JavaScript's ``Date.prototype.toISOString()`` produces for years 0-9999.
ISO_MS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_utc_ms(dt: datetime) -> datetime:
    """Return ``dt`` as a tz-aware UTC datetime truncated to milliseconds.

    A naive datetime is taken to be UTC already (that is what pymongo returns by default)::

        >>> to_utc_ms(datetime(2025, 1, 2, 3, 4, 5, 678901)).isoformat()
        '2025-01-02T03:04:05.678000+00:00'
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=timezone.utc)
    else:
        dt = dt.astimezone(timezone.utc)
    # Truncate, not round: a JavaScript Date simply has no sub-millisecond part.
    return dt.replace(microsecond=dt.microsecond - dt.microsecond % 1000)


def iso_ms(dt: datetime) -> str:
    """Format ``dt`` as JavaScript's ``toISOString()`` does (naive means UTC).

    >>> iso_ms(datetime(2025, 11, 14, 22, 29, 30, 648000, tzinfo=timezone.utc))
    '2025-11-14T22:29:30.648Z'
    """
    d = to_utc_ms(dt)
    # f-string padding instead of strftime: %Y does not zero-pad years below 1000 on glibc.
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
        f".{d.microsecond // 1000:03d}Z"
    )


def parse_iso_ms(text: str) -> datetime | None:
    """Parse a ``toISOString()`` string into an aware UTC datetime; ``None`` if it is not one.

    >>> parse_iso_ms("2026-03-22T19:32:19.050Z").microsecond
    50000
    >>> parse_iso_ms("2026-03-22T19:32:19Z") is None
    True
    """
    m = ISO_MS_RE.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, ms = (int(g) for g in m.groups())
    try:
        return datetime(year, month, day, hour, minute, second, ms * 1000, tzinfo=timezone.utc)
    except ValueError:  # e.g. month 13 or year 0: not a date, so the string stays a string
        return None


def utc_now_ms() -> datetime:
    """The current time, aware UTC, truncated to milliseconds (like JavaScript's ``new Date()``)."""
    return to_utc_ms(datetime.now(timezone.utc))


def epoch_ms(dt: datetime) -> int:
    """Milliseconds since the Unix epoch, as a BSON date stores it.

    >>> epoch_ms(datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc))
    1000
    """
    delta = to_utc_ms(dt) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_epoch_ms(ms: int) -> datetime:
    """The aware UTC datetime ``ms`` milliseconds after the Unix epoch (inverse of `epoch_ms`).

    Raises ``OverflowError`` or ``ValueError`` outside Python's year range 1-9999.
    """
    return _EPOCH + timedelta(milliseconds=ms)
