"""Bytes written per turn and ``put`` latency: our SQLite store vs ``SqliteSaver``.

For chat sessions preloaded (through ``update_state``) to 10, 100 and 1,000 messages, runs
20 timed turns of a one-node chat graph on each saver, in one process, on the same kind of
SQLite file, and reports:

* logical bytes written per turn: the size of every value bound to INSERT/UPDATE/REPLACE
  statements (what the saver asks SQLite to store);
* physical bytes per turn: growth of the WAL file (checkpointing off during the turn);
* ``put`` p50/p95 latency in milliseconds.

Usage: ``python benchmarks/embedded.py [--turns 20] [--sizes 10,100,1000]``. Writes the
table to ``benchmarks/results/embedded.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow.stores.sqlite import PRAGMAS, SqliteStore

RESULTS = Path(__file__).parent / "results"
WRITE_VERBS = ("INSERT", "UPDATE", "REPLACE")


class Counter:
    """Bytes bound to write statements, summed across connections."""

    def __init__(self) -> None:
        self.bytes = 0

    def add(self, sql: str, params: Any) -> None:
        if not sql.lstrip().upper().startswith(WRITE_VERBS):
            return
        rows = params if params and isinstance(params, list) else [params]
        for row in rows:
            for value in row or ():
                if isinstance(value, str):
                    self.bytes += len(value.encode())
                elif isinstance(value, (bytes, bytearray, memoryview)):
                    self.bytes += len(value)
                elif value is not None:
                    self.bytes += 8


def counting_connection(path: str, counter: Counter) -> sqlite3.Connection:
    """A ``sqlite3`` connection whose statements report their bound values to ``counter``."""

    class Cursor(sqlite3.Cursor):
        def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:  # type: ignore[override]
            counter.add(sql, params)
            return super().execute(sql, params)

        def executemany(self, sql: str, seq: Any) -> sqlite3.Cursor:  # type: ignore[override]
            seq = list(seq)
            counter.add(sql, seq)
            return super().executemany(sql, seq)

    class Connection(sqlite3.Connection):
        def cursor(self, factory: Any = Cursor) -> sqlite3.Cursor:  # type: ignore[override]
            return super().cursor(factory)

        def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:  # type: ignore[override]
            return self.cursor().execute(sql, params)

        def executemany(self, sql: str, seq: Any) -> sqlite3.Cursor:  # type: ignore[override]
            return self.cursor().executemany(sql, seq)

    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, factory=Connection)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


class State(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]


def chat_graph(saver: BaseCheckpointSaver[Any]) -> Any:
    """One node answering every message, with usage metadata like a real model."""

    def reply(state: State) -> dict[str, Any]:
        n = len(state["messages"])
        return {
            "messages": [
                AIMessage(
                    f"Reply number {n}: " + "lorem ipsum dolor sit amet " * 8,
                    usage_metadata={"input_tokens": n, "output_tokens": 40, "total_tokens": n + 40},
                    response_metadata={"model_name": "scripted"},
                )
            ]
        }

    builder = StateGraph(State)
    builder.add_node("chat", reply)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=saver)


def preload(size: int) -> list[BaseMessage]:
    """A conversation of ``size`` messages, alternating user and assistant."""
    text = "some earlier conversation text " * 6
    return [
        HumanMessage(f"{i}: {text}") if i % 2 == 0 else AIMessage(f"{i}: {text}")
        for i in range(size)
    ]


@contextmanager
def timed_puts(saver: BaseCheckpointSaver[Any], sink: list[float]) -> Iterator[None]:
    """Record the duration of every ``put`` call made on ``saver``."""
    original: Callable[..., Any] = saver.put

    def put(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            sink.append((time.perf_counter() - start) * 1000)

    saver.put = put  # type: ignore[method-assign]
    try:
        yield
    finally:
        saver.put = original  # type: ignore[method-assign]


def run_one(name: str, size: int, turns: int, workdir: Path) -> dict[str, Any]:
    """Preload one session to ``size`` messages, then measure ``turns`` turns."""
    path = str(workdir / f"{name}-{size}.db")
    counter = Counter()
    conn = counting_connection(path, counter)
    saver: BaseCheckpointSaver[Any]
    if name == "picoflow":
        store = SqliteStore(conn)
        saver = PicoflowSaver(store)
        saver.setup()
    else:
        saver = SqliteSaver(conn)
        saver.setup()
    graph = chat_graph(saver)
    config = {"configurable": {"thread_id": "69c043c3bbbd4f8f919333c2"}}
    graph.update_state(config, {"messages": preload(size)})
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = Path(path + "-wal")
    per_turn_bytes, per_turn_wal, puts = [], [], []
    for turn in range(turns):
        before, wal_before = counter.bytes, wal.stat().st_size if wal.exists() else 0
        with timed_puts(saver, puts):
            graph.invoke({"messages": [HumanMessage(f"turn {turn}: how is it going?")]}, config)
        per_turn_bytes.append(counter.bytes - before)
        per_turn_wal.append((wal.stat().st_size if wal.exists() else 0) - wal_before)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {
        "saver": name,
        "messages": size,
        "bytes_per_turn": statistics.mean(per_turn_bytes),
        "wal_bytes_per_turn": statistics.mean(per_turn_wal),
        "put_p50_ms": statistics.median(puts),
        "put_p95_ms": statistics.quantiles(puts, n=20)[18],
        "db_bytes": os.path.getsize(path),
    }


def main() -> None:
    """Run the comparison and write the results table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            for name in ("picoflow", "SqliteSaver"):
                rows.append(run_one(name, size, args.turns, Path(tmp)))
    lines = [
        "| messages | saver | bytes/turn | WAL bytes/turn | put p50 ms | put p95 ms | ratio |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for ours, theirs in zip(rows[::2], rows[1::2], strict=True):
        ratio = theirs["bytes_per_turn"] / max(ours["bytes_per_turn"], 1)
        for row in (ours, theirs):
            lines.append(
                f"| {row['messages']} | {row['saver']} | {row['bytes_per_turn']:,.0f} | "
                f"{row['wal_bytes_per_turn']:,.0f} | {row['put_p50_ms']:.2f} | "
                f"{row['put_p95_ms']:.2f} | "
                + (f"{ratio:.1f}x fewer bytes" if row is ours else "")
                + " |"
            )
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "embedded.md").write_text(
        f"# Embedded store: bytes per turn and put latency ({args.turns} turns)\n\n"
        "Command: `python benchmarks/embedded.py`\n\n" + table + "\n"
    )
    (RESULTS / "embedded.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
