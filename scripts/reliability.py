#!/usr/bin/env python3
"""Run the reliability suites at their long counts and report the figures.

    python scripts/reliability.py            # long: >= 200 fault runs a store, >= 10,000 cases
    python scripts/reliability.py --ci       # the CI counts (what `make test` runs)
    python scripts/reliability.py -k sqlite  # any pytest selection

It runs ``tests/faults``, ``tests/test_concurrency*.py`` and ``tests/test_hostile*.py``
with ``PICOFLOW_LONG=1`` and ``PICOFLOW_RELIABILITY_REPORT`` pointing at a scratch file
each test appends its figures to (see ``tests/faults/figures.py``), adds them up per
suite and store, prints the table and writes it into ``docs/reliability.md`` between the
``figures`` markers (``--no-write`` to skip). The exit status is pytest's.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
SUITES = [
    "tests/faults",
    *(str(p.relative_to(ROOT)) for p in sorted(ROOT.glob("tests/test_concurrency*.py"))),
    *(str(p.relative_to(ROOT)) for p in sorted(ROOT.glob("tests/test_hostile*.py"))),
]
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"
COUNTS = (
    "runs",
    "faults",
    "acknowledged",
    "lost",
    "corrupt",
    "rolled_forward",
    "conflicts",
    "cases",
)
HEADERS = (
    "runs",
    "faults injected",
    "acknowledged",
    "lost",
    "corrupt",
    "rolled forward",
    "conflicts",
    "fuzz cases",
)
#: Suites reported under one name (a mode or a case kind is a detail of the same suite).
FAMILIES = (
    ("client-kill", "client SIGKILL mid-write"),
    ("kill-then-write", "client SIGKILL, next writer at once"),
    ("server-kill", "server SIGKILL mid-write (MongoDB)"),
    ("crash-points", "crash at a write-path point (in-process)"),
    ("network", "network faults (proxy)"),
    ("race", "N writers, one step"),
    ("runs-one-session", "N writers, whole runs, one session"),
    ("runs-many-sessions", "N writers, one session each"),
    ("readers", "readers racing writers"),
    ("hostile", "fuzzing (documents, ids, filters, payloads)"),
)


def family(suite: str) -> str:
    """The report line a suite belongs to."""
    for prefix, name in FAMILIES:
        if suite.startswith(prefix):
            return name
    return suite


def aggregate(lines: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Sum the figures per (family, store); client errors are summed by type."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        key = (family(line["suite"]), line["store"])
        row = rows.setdefault(key, {c: 0 for c in COUNTS} | {"errors": collections.Counter()})
        for c in COUNTS:
            row[c] += int(line.get(c, 0))
        row["errors"].update(line.get("errors", {}))
    return rows


def table(rows: dict[tuple[str, str], dict[str, Any]]) -> str:
    """A Markdown table of the rows, in family order, with a totals line."""
    order = {name: i for i, (_, name) in enumerate(FAMILIES)}
    out = [
        "| suite | store | " + " | ".join(HEADERS) + " |",
        "|---|---|" + "---:|" * len(HEADERS),
    ]
    totals = dict.fromkeys(COUNTS, 0)
    for (name, store), row in sorted(
        rows.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])
    ):
        out.append(f"| {name} | {store} | " + " | ".join(f"{row[c]:,}" for c in COUNTS) + " |")
        for c in COUNTS:
            totals[c] += row[c]
    out.append("| **total** | | " + " | ".join(f"**{totals[c]:,}**" for c in COUNTS) + " |")
    return "\n".join(out)


def errors_seen(rows: dict[tuple[str, str], dict[str, Any]]) -> str:
    """The typed errors clients saw under faults, per store."""
    per_store: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for (_, store), row in rows.items():
        per_store[store].update(row["errors"])
    lines = [
        f"- {store}: " + ", ".join(f"`{name}` x{n:,}" for name, n in counter.most_common())
        for store, counter in sorted(per_store.items())
        if counter
    ]
    return "\n".join(lines) or "- none"


def outcome(stdout: str) -> str:
    """pytest's final summary line (``N passed, M xfailed in ...``)."""
    found = re.findall(r"^=*\s*(\d+ \w+.*in [\d.]+s.*?)\s*=*$", stdout, re.M)
    return found[-1] if found else "(no pytest summary)"


def render(
    rows: dict[tuple[str, str], dict[str, Any]], command: str, summary: str, seconds: float
) -> str:
    """The figures section of docs/reliability.md."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            BEGIN,
            f"Measured {stamp} with `{command}` ({seconds / 60:.1f} min; pytest: {summary}).",
            "",
            table(rows),
            "",
            "Typed errors the clients saw while faults were injected (all expected):",
            "",
            errors_seen(rows),
            END,
        ]
    )


def write_doc(section: str, path: Path = DOC) -> None:
    """Replace the figures section of ``path`` (append it when the markers are missing)."""
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, aggregate, print, write; returns pytest's exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ci", action="store_true", help="the CI counts instead of the long ones")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/reliability.md")
    parser.add_argument("--json", type=Path, help="also write the aggregated figures as JSON here")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (e.g. -k sqlite)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "figures.jsonl"
        env = {**os.environ, "PICOFLOW_RELIABILITY_REPORT": str(report)}
        if args.ci:
            env.pop("PICOFLOW_LONG", None)
        else:
            env["PICOFLOW_LONG"] = "1"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *SUITES,
            *args.pytest_args,
        ]
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        sys.stdout.write(done.stdout[-4000:])
        sys.stderr.write(done.stderr[-4000:])
        lines = (
            [json.loads(raw) for raw in report.read_text().splitlines()] if report.exists() else []
        )
    rows = aggregate(lines)
    command = "python scripts/reliability.py" + (" --ci" if args.ci else "")
    if args.pytest_args:
        command += " " + " ".join(args.pytest_args)
    section = render(rows, command, outcome(done.stdout), seconds)
    print(section)
    if args.json:
        args.json.write_text(
            json.dumps(
                {f"{f} / {s}": {**r, "errors": dict(r["errors"])} for (f, s), r in rows.items()},
                indent=2,
            )
        )
    if not args.no_write:
        write_doc(section)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
