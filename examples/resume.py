"""Stop a conversation half way and resume it, by session id, in another process.

The session lives in the store (here a SQLite file): nothing else is shared between the
two processes::

    python examples/resume.py start --db sqlite:///sessions.db
    # -> session 6b0f...: 2 of 4 turns done (active step BookingStep)
    python examples/resume.py continue --db sqlite:///sessions.db --session 6b0f...
    # -> session 6b0f...: 4 of 4 turns done, runStatus completed

``--flow`` picks the recorded conversation (``medical``, ``tutorial``, ``travel``); the
first half of its turns runs in ``start``, the rest in ``continue``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any

import _support

FLOWS = ("medical", "tutorial", "travel")


def option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` as a store option; VALUE is JSON when it parses (``false``, ``3``)."""
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def main(argv: Sequence[str] | None = None) -> int:
    """``start`` a session (first half of the turns) or ``continue`` one (the rest)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "continue"))
    parser.add_argument("--db", required=True, help="store URL, e.g. sqlite:///sessions.db")
    parser.add_argument("--session", help="session id (start: default a new one)")
    parser.add_argument("--flow", choices=FLOWS, default="medical")
    parser.add_argument(
        "--db-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="store option (VALUE read as JSON when it parses), e.g. db_name=sessions",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.action == "continue" and not args.session:
        parser.error("continue needs --session")
    example = importlib.import_module(args.flow)
    replay = _support.replay(example.REPLAY)
    half = len(replay.turns) // 2
    todo = range(half) if args.action == "start" else range(half, len(replay.turns))
    document = _support.run(
        example.make_flow,
        example.MODEL_NAMES,
        example.REPLAY,
        conn=args.db,
        session_id=args.session,
        turns=todo,
        echo=None if args.quiet else _support.echo,
        store_options=dict(option(text) for text in args.db_option),
    )
    flow = document["flows"][0]
    active = next((s["name"] for s in flow["steps"] if s["isActive"]), None)
    summary = {
        "session": document["id"],
        "turns": f"{todo.stop} of {len(replay.turns)}",
        "active": active,
        "runStatus": document["runStatus"],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
