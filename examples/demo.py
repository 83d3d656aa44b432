"""The main job, offline: Picoflow's Lesson 3 conversation as a LangGraph app, on SQLite.

The tutorial flow (``HelloStep`` asks the name, refuses "John Doe", then ``EndStep``)
runs with a scripted model replaying the tutorial's recorded Gemini replies. Process 1
plays the first turns and stops; process 2 (a new Python process) resumes the same
session by its id and finishes it. Then the transcript and the stored Picoflow document
(valid, in Extended JSON as Picoflow exports it) are printed.

Run: ``make demo`` (or ``python examples/demo.py [--db PATH]``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _support
import tutorial

from langgraph_picoflow import document as pdoc

FIRST_TURNS = 2  # "Hi", "John Doe": then the process stops


def say(user: str, bot: str | None) -> None:
    print(f"  user: {user}\n  bot:  {bot}")


def transcript(document: dict[str, Any]) -> None:
    """Namespace, step (the message id's prefix), role and text of every history entry."""
    for flow in document["flows"]:
        for space in flow["memory"]:
            for entry in space["history"]:
                step = str(entry["id"]).split("|")[0]
                text = entry["content"] or ", ".join(
                    f"{c['name']}({c['args']})" for c in entry.get("tool_calls", [])
                )
                print(f"  {space['nameSpace']:<8} {step:<10} {entry['type']:<6} {text!r:.90}")


def first_process(db: Path) -> None:
    session_id = pdoc.new_session_id()
    print(f"== process 1: new session {session_id} in {db}")
    tutorial.run(conn=f"sqlite:///{db}", session_id=session_id, turns=range(FIRST_TURNS), echo=say)
    print("== process 1 stops")
    subprocess.run([sys.executable, __file__, "--db", str(db), "--resume", session_id], check=True)


def second_process(db: Path, session_id: str) -> None:
    print(f"== process 2 (a new process): resuming session {session_id} by its id")
    turns = range(FIRST_TURNS, len(_support.replay(tutorial.REPLAY).turns))
    stored = tutorial.run(conn=f"sqlite:///{db}", session_id=session_id, turns=turns, echo=say)
    document = pdoc.load(stored)
    pdoc.check(document)
    print("\n== transcript (namespace, step, role, text)")
    transcript(stored)
    print(f"\n== session {session_id}: runStatus {stored['runStatus']}, tokens {stored['tokens']}")
    print("== stored Picoflow document (valid; Extended JSON, as Picoflow exports it)")
    print(pdoc.dumps(document, "extended"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    parser.add_argument("--resume", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.resume:
        second_process(args.db, args.resume)
    elif args.db:
        first_process(args.db)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            first_process(Path(tmp) / "sessions.db")


if __name__ == "__main__":
    main()
