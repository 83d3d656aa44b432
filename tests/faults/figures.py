"""How many runs a fault suite makes, and the figures it reports.

CI runs small counts that still inject real faults; ``PICOFLOW_LONG=1`` (set by
``scripts/reliability.py``) selects the long counts. When ``PICOFLOW_RELIABILITY_REPORT``
names a file, every suite appends one JSON line of figures to it per test, which the
script adds up into the table of ``docs/reliability.md``.
"""

from __future__ import annotations

import collections
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

LONG_ENV = "PICOFLOW_LONG"
REPORT_ENV = "PICOFLOW_RELIABILITY_REPORT"


def is_long() -> bool:
    """Whether the long counts are asked for (``PICOFLOW_LONG=1``)."""
    return os.environ.get(LONG_ENV, "").strip() not in ("", "0", "false", "no")


def count(ci: int, long: int) -> int:
    """``long`` in the long run, else ``ci``; ``PICOFLOW_LONG=<n>`` (n > 1) scales ``ci``."""
    raw = os.environ.get(LONG_ENV, "").strip()
    if raw.isdigit() and int(raw) > 1:
        return ci * int(raw)
    return long if is_long() else ci


@dataclass
class Tally:
    """What one fault or concurrency test did and found; every "lost"/"corrupt" must be 0."""

    suite: str
    store: str
    runs: int = 0
    faults: int = 0
    acknowledged: int = 0
    lost: int = 0
    corrupt: int = 0
    rolled_forward: int = 0
    conflicts: int = 0
    cases: int = 0
    failures: int = 0
    #: Exceptions the clients saw, by qualified type name (all of them typed).
    errors: collections.Counter[str] = field(default_factory=collections.Counter)

    def error(self, exc: BaseException | str) -> None:
        """Count an exception a client saw, by its qualified type name."""
        name = exc if isinstance(exc, str) else qualified_name(type(exc))
        self.errors[name] += 1

    def as_json(self) -> dict[str, Any]:
        """The figures as one JSON object."""
        data = asdict(self)
        data["errors"] = dict(self.errors)
        return data


def qualified_name(cls: type) -> str:
    """``module.Class`` of an exception type, as the report lists it."""
    return f"{cls.__module__}.{cls.__qualname__}"


def record(tally: Tally) -> None:
    """Append ``tally`` to the report file, when one is configured."""
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(tally.as_json(), sort_keys=True) + "\n")
