"""The graph every fault and concurrency test runs, and the client that runs it.

A turn is ``invoke({"messages": [human]})`` on a two-node graph: ``plan`` records what it
saw in a non-projected channel (``notes``, stored as a blob in the log), ``reply``
appends ``re: <text>``. Three checkpoints and two tasks' writes per turn, so a turn
crosses the write path (log entry, then head compare-and-swap) several times.

``reply`` answers only a human message that has no answer yet, so a turn that follows a
crashed one (whose pending ``reply`` LangGraph may still run) never answers twice: the
checks in :mod:`tests.faults.verify` can then be exact.

A turn is *acknowledged* when ``invoke`` returned; the client then appends it to its
side file and fsyncs before the next turn (:func:`acknowledge`). Nothing else counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from tests.faults.errors import is_typed
from tests.faults.figures import Tally, qualified_name
from tests.faults.targets import Target

REPLY = "re: "


class State(TypedDict, total=False):
    """Messages (projected into the Picoflow history) and two blob channels."""

    messages: Annotated[list[BaseMessage], add_messages]
    notes: dict[str, Any]
    #: Whatever the input puts there (hostile payloads); no node touches it.
    extra: Any


def _last_human(messages: list[BaseMessage]) -> str | None:
    humans = [m for m in messages if m.type == "human"]
    return str(humans[-1].content) if humans else None


def plan(state: State) -> dict[str, Any]:
    """Note how many messages the turn saw and the human it answers (checked later)."""
    messages = state.get("messages", [])
    return {"notes": {"seen": len(messages), "last": _last_human(messages)}}


def planning_with(hook: Callable[[], None]) -> Callable[[State], dict[str, Any]]:
    """:func:`plan` that first runs ``hook`` (another writer's turn, mid-run)."""

    def planning(state: State) -> dict[str, Any]:
        hook()
        return plan(state)

    return planning


def reply(state: State) -> dict[str, Any]:
    """Answer the last message if it is a human one not answered yet."""
    messages = state.get("messages", [])
    if not messages or messages[-1].type != "human":
        return {}
    text = str(messages[-1].content)
    return {
        "messages": [
            AIMessage(
                REPLY + text,
                usage_metadata={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
            )
        ]
    }


def build(checkpointer: Any, *, planner: Callable[[State], dict[str, Any]] = plan) -> Any:
    """The compiled two-node graph on ``checkpointer``."""
    builder = StateGraph(State)
    builder.add_node("plan", planner)
    builder.add_node("reply", reply)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer)


def config(thread_id: str) -> dict[str, Any]:
    """The run config of a thread."""
    return {"configurable": {"thread_id": thread_id}}


def turn_input(text: str) -> dict[str, Any]:
    """The input of one turn."""
    return {"messages": [HumanMessage(text)]}


# --- the side file --------------------------------------------------------------------


def acknowledge(path: Path, thread_id: str, text: str) -> None:
    """Record an acknowledged turn durably (append + fsync) before the next one starts."""
    line = json.dumps({"thread": thread_id, "text": text, "at": time.time()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of a side file (a line cut by a kill is not a record)."""
    if not path.exists():
        return []
    out = []
    for raw in path.read_bytes().split(b"\n"):
        try:
            out.append(json.loads(raw))
        except ValueError:
            continue
    return out


# --- the client -----------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """What a client process does: turns round-robin over ``threads`` until stopped."""

    target: Target
    threads: tuple[str, ...]
    tag: str
    acks: Path
    errors: Path
    turns: int = 1_000_000
    mode: Literal["sync", "async"] = "sync"
    #: File whose existence tells the client to stop after its current turn.
    stop: Path | None = None
    #: Seconds to wait after a failed turn (a server being restarted).
    backoff: float = 0.05
    seed: int = 0

    def texts(self) -> Iterator[tuple[str, str]]:
        """``(thread, text)`` of each turn, with texts unique across every run."""
        for n in range(self.turns):
            yield self.threads[n % len(self.threads)], f"{self.tag}-{n}"

    def collect(self, tally: Tally, acked: dict[str, list[str]]) -> None:
        """Add this (ended) client's errors and acknowledged turns to ``tally`` and ``acked``.

        Fails the test if an untyped exception escaped the saver in the client.
        """
        errors = read_lines(self.errors)
        for line in errors:
            tally.error(line["type"])
        untyped = [e for e in errors if not e["typed"]]
        assert not untyped, f"untyped exceptions escaped the saver: {untyped[:3]}"
        lines = read_lines(self.acks)
        tally.acknowledged += len(lines)
        for line in lines:
            acked[line["thread"]].append(line["text"])

    def stopped(self) -> bool:
        """Whether the parent asked this client to stop."""
        return self.stop is not None and self.stop.exists()


def _record_error(client: Client, thread_id: str, text: str, exc: BaseException) -> None:
    line = {
        "thread": thread_id,
        "text": text,
        "type": qualified_name(type(exc)),
        "typed": is_typed(exc),
        "msg": str(exc)[:500],
    }
    with open(client.errors, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def run_client(client: Client) -> None:
    """The client process's entry point (also callable in a thread)."""
    rng = random.Random(client.seed)
    durabilities = ("sync", "async", "exit")
    if client.mode == "async":
        asyncio.run(run_client_async(client, rng))
        return
    with client.target.saver() as saver:
        graph = build(saver)
        for thread_id, text in client.texts():
            if client.stopped():
                return
            try:
                graph.invoke(
                    turn_input(text), config(thread_id), durability=rng.choice(durabilities)
                )
            except Exception as exc:
                _record_error(client, thread_id, text, exc)
                time.sleep(client.backoff)
                continue
            acknowledge(client.acks, thread_id, text)


async def run_client_async(client: Client, rng: random.Random) -> None:
    """:func:`run_client` for an async client, as a coroutine (to run many in one loop)."""
    async with client.target.async_saver() as saver:
        graph = build(saver)
        for thread_id, text in client.texts():
            if client.stopped():
                return
            try:
                await graph.ainvoke(
                    turn_input(text),
                    config(thread_id),
                    durability=rng.choice(("sync", "async", "exit")),
                )
            except Exception as exc:
                _record_error(client, thread_id, text, exc)
                await asyncio.sleep(client.backoff)
                continue
            acknowledge(client.acks, thread_id, text)
