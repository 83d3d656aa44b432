"""Replay a recorded conversation offline, and compare session documents structurally.

A replay file (JSON) holds a conversation's user inputs and, per turn, the model replies
in call order (``{"content", "tool_calls", "usage"}``, or ``{"error": text}`` for a failed
call)::

    {"flow": "TutorialFlow", "session": "6917ad4ac3d31db001ec2393", "config": null,
     "turns": [{"input": "Hi", "replies": [{"content": "Hello! What's your name?\\n"}]}]}

:func:`differences` compares two documents field by field, key order included, masking
only what legitimately differs between two runs: dates, the time and random digits of
message ids, and ``_id``::

    >>> a = {"id": "x", "m": {"id": "HelloStep|2025-11-14T22:29:30.660Z|7849520331"}}
    >>> b = {"id": "x", "m": {"id": "HelloStep|2026-01-01T00:00:00.000Z|1234567890"}}
    >>> differences(a, b)
    []
    >>> differences({"a": 1, "b": 2}, {"b": 2, "a": 1})
    ["$: keys ['a', 'b'] != ['b', 'a']"]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.flow._errors import FlowRuntimeError
from langgraph_picoflow.flow._models import Script, ScriptItem, reply_from_json

_DATE = "<date>"


@dataclass(frozen=True)
class ReplayTurn:
    """One user turn: the input and the model replies it takes, in call order."""

    input: str
    replies: list[ScriptItem]


@dataclass(frozen=True)
class Replay:
    """A recorded conversation (see the module docstring for the file format)."""

    flow: str
    session: str
    turns: list[ReplayTurn]
    #: The request ``config`` a new session records as ``context.config``.
    config: Any = None

    @classmethod
    def load(cls, path: str | Path) -> Replay:
        """Read a replay file."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            str(data.get("flow", "")),
            str(data.get("session", "")),
            [
                ReplayTurn(str(t["input"]), [reply_from_json(r) for r in t.get("replies", [])])
                for t in data["turns"]
            ],
            data.get("config"),
        )

    def play(
        self,
        graph: Any,
        script: Script,
        *,
        session_id: str | None = None,
        turns: Iterable[int] | None = None,
        on_reply: Callable[[str, str | None], None] | None = None,
    ) -> list[str | None]:
        """Run ``turns`` (default: all) on ``graph``, feeding ``script`` each turn's replies.

        Raises ``FlowRuntimeError`` when a turn leaves replies unused (the flow did not make
        the calls the recording made). Returns the replies of the turns.
        """
        config = {"configurable": {"thread_id": session_id or self.session}}
        out: list[str | None] = []
        for index in turns if turns is not None else range(len(self.turns)):
            turn = self.turns[index]
            script.add(*turn.replies)
            result = graph.invoke({"message": turn.input, "config": self.config}, config)
            if script.remaining:
                raise FlowRuntimeError(
                    f"turn {index + 1} ({turn.input!r}) left {script.remaining} recorded "
                    "replies unused"
                )
            out.append(result.get("reply"))
            if on_reply is not None:
                on_reply(turn.input, result.get("reply"))
        return out


def _mask(value: Any) -> Any:
    if isinstance(value, datetime):
        return _DATE
    if isinstance(value, str):
        parsed = pdoc.parse_message_id(value)
        if parsed is not None:
            return f"{parsed[0]}|<time>|<n>"
        if pdoc.ISO_MS_RE.match(value):
            return _DATE
    return value


def differences(actual: Any, expected: Any, path: str = "$") -> list[str]:
    """Every difference between two documents, key order included (masked as above)."""
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        out: list[str] = []
        # ``_id`` is Mongo's key: present or not depending on the store, never compared.
        keys, want = [k for k in actual if k != "_id"], [k for k in expected if k != "_id"]
        if keys != want:
            out.append(f"{path}: keys {keys} != {want}")
        for key in actual:
            if key in expected and key != "_id":
                out += differences(actual[key], expected[key], f"{path}.{key}")
        return out
    if isinstance(actual, list) and isinstance(expected, list):
        out = []
        if len(actual) != len(expected):
            out.append(f"{path}: {len(actual)} items != {len(expected)}")
        for index, (a, b) in enumerate(zip(actual, expected, strict=False)):
            out += differences(a, b, f"{path}[{index}]")
        return out
    a, b = _mask(actual), _mask(expected)
    if type(a) is not type(b) or a != b:
        return [f"{path}: {_short(a)} != {_short(b)}"]
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
