"""Our MongoDB store vs ``langgraph-checkpoint-mongodb``'s ``MongoDBSaver``, on one server.

Starts SecantusDB (a MongoDB wire-protocol server over WiredTiger) in a child process, or
uses ``--uri``. For chat sessions preloaded through ``update_state`` to 10, 100 and 1,000
messages, runs 20 timed turns of a one-node chat graph (scripted AI reply) on each saver
and reports, from pymongo's command monitoring:

* bytes written per turn: BSON size of every insert/update/delete/bulkWrite command;
* documents written per turn (inserted, updated or deleted by those commands);
* commands (round trips) per turn; ``put`` and ``get_tuple`` p50/p95 in milliseconds;
* stored size after the turns (``dbStats.dataSize``);
* round trips of a cold ``get_tuple``, and of ``get_state`` on a DeltaChannel graph.

Our store runs in its three write modes: the default (one client-level ``bulkWrite`` per
step), ``client_bulk_write=False`` (one command per collection) and ``transactions=True``,
all with its default durable write concern (``w: majority, j: true``), and once with
``w: 1``. ``MongoDBSaver`` runs with its client's default (``w: 1``) and with the durable
concern; each of our rows is compared with the baseline of the same write concern.

Usage: ``python benchmarks/mongodb.py [--turns 20] [--sizes 10,100,1000] [--uri URI]``.
Writes ``benchmarks/results/mongodb.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import bson
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.mongodb import MongoDBSaver
from langgraph.graph import END, START, MessagesState, StateGraph
from pymongo import MongoClient, monitoring
from pymongo.write_concern import WriteConcern
from typing_extensions import TypedDict

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow.stores.mongodb import MongoStore

RESULTS = Path(__file__).parent / "results"
WRITES = {"insert": "documents", "update": "updates", "delete": "deletes", "bulkWrite": "ops"}
IGNORED = {"hello", "isMaster", "ismaster", "endSessions", "ping", "buildInfo", "createIndexes"}
W1 = WriteConcern(w=1)
#: Our store's write modes, measured side by side (store options).
MODES: dict[str, dict[str, Any]] = {
    "picoflow": {},
    "picoflow (no client bulkWrite)": {"client_bulk_write": False},
    "picoflow (transactions)": {"transactions": True},
    "picoflow (w:1)": {"write_concern": W1},
}
#: ``MongoDBSaver`` with each write concern (client options).
#: Untimed turns before the timed ones (connections and caches warm).
WARMUP = 2
BASELINES: dict[str, dict[str, Any]] = {
    "MongoDBSaver (w:1)": {},
    "MongoDBSaver (majority, j)": {"w": "majority", "journal": True},
}


def baseline_of(kind: str) -> str:
    """The ``MongoDBSaver`` row a row of ours is compared with (same write concern)."""
    return "MongoDBSaver (w:1)" if kind.endswith("(w:1)") else "MongoDBSaver (majority, j)"


class Commands(monitoring.CommandListener):
    """Round trips, and bytes and documents of write commands, since the last reset."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = self.bytes = self.docs = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in IGNORED:
            return
        self.count += 1
        field_name = WRITES.get(event.command_name)
        if field_name is not None:
            self.bytes += len(bson.encode(event.command))
            self.docs += len(event.command.get(field_name, ()))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


# --- graphs ---------------------------------------------------------------------------


def reply(n: int) -> str:
    """A scripted assistant answer of realistic length (~400 characters)."""
    return f"Answer {n}: " + "Here is what I found about your question, step by step. " * 7


def chat_graph(saver: BaseCheckpointSaver[Any]) -> Any:
    def chat(state: MessagesState) -> dict[str, list[BaseMessage]]:
        n = len(state["messages"])
        usage = {"input_tokens": 40 * n, "output_tokens": 90, "total_tokens": 40 * n + 90}
        return {"messages": [AIMessage(reply(n), usage_metadata=usage)]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=saver)


def extend(current: list[str], writes: list[list[str]]) -> list[str]:
    return [*current, *(item for write in writes for item in write)]


class DeltaState(TypedDict, total=False):
    turn: int
    items: Annotated[list[str], DeltaChannel(extend, snapshot_frequency=10)]


def delta_graph(saver: BaseCheckpointSaver[Any]) -> Any:
    builder = StateGraph(DeltaState)
    builder.add_node("produce", lambda s: {"items": [f"item {s['turn']}"]})
    builder.add_edge(START, "produce")
    builder.add_edge("produce", END)
    return builder.compile(checkpointer=saver)


def preload(n: int) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for i in range(n // 2):
        out.append(HumanMessage(f"Question {i}: could you tell me more about topic {i}?"))
        out.append(AIMessage(reply(2 * i + 1)))
    return out


# --- server and savers --------------------------------------------------------------------


@contextmanager
def secantus() -> Iterator[str]:
    """A SecantusDB server in a child process on a fresh directory; its URI."""
    exe = shutil.which("secantusd-py") or str(Path(sys.executable).parent / "secantusd-py")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.mkdtemp(prefix="bench-secantus-")
    argv = [exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", data]
    proc = subprocess.Popen([*argv, "--log-level", "WARNING"], stdout=subprocess.DEVNULL)
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                MongoClient(uri, serverSelectionTimeoutMS=500).admin.command("ping")
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        yield uri
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data, ignore_errors=True)


def client_for(kind: str, uri: str, listener: Commands) -> MongoClient[dict[str, Any]]:
    return MongoClient(uri, event_listeners=[listener], **BASELINES.get(kind, {}))


def make_saver(kind: str, client: MongoClient[dict[str, Any]], db: str) -> Any:
    if kind in BASELINES:
        return MongoDBSaver(client, db_name=db)
    saver = PicoflowSaver(MongoStore(client, db_name=db, **MODES[kind]))
    saver.setup()
    return saver


@dataclass
class Timer:
    """Wraps a saver method; records its latency and the CPU its thread spent, in ms.

    The CPU time is the client's own work (serialising, planning): waiting for the server
    costs none, so ``latency - cpu`` is roughly the network and server share.
    """

    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    on: bool = False

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start, start_cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                if self.on:
                    self.samples.append((time.perf_counter() - start) * 1000)
                    self.cpu.append((time.thread_time() - start_cpu) * 1000)

        return timed


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if samples else 0.0


# --- one scenario -------------------------------------------------------------------------


@dataclass
class Row:
    messages: int
    saver: str
    bytes_per_turn: float
    docs_per_turn: float
    commands_per_turn: float
    put_p50: float
    put_p95: float
    put_cpu_p50: float
    get_tuple_p50: float
    get_tuple_p95: float
    stored_bytes: int


def run_chat(uri: str, kind: str, size: int, turns: int) -> Row:
    listener = Commands()
    client = client_for(kind, uri, listener)
    db = f"bench_{abs(hash((kind, size))) % 10**8}"
    try:
        client.drop_database(db)
        saver = make_saver(kind, client, db)
        graph = chat_graph(saver)
        config = {"configurable": {"thread_id": "65f0c0ffee0123456789abcd"}}
        graph.update_state(config, {"messages": preload(size)}, as_node="chat")
        puts, reads = Timer(), Timer()
        saver.put, saver.get_tuple = puts.wrap(saver.put), reads.wrap(saver.get_tuple)
        written = docs = commands = 0
        for t in range(-WARMUP, turns):
            puts.on = reads.on = t >= 0
            listener.reset()
            text = f"Turn {t}: and what about the follow-up question number {t}?"
            graph.invoke({"messages": [HumanMessage(text)]}, config, durability="sync")
            if t >= 0:
                written, docs = written + listener.bytes, docs + listener.docs
                commands += listener.count
        stored = int(client[db].command("dbStats")["dataSize"])
        return Row(
            size,
            kind,
            written / turns,
            docs / turns,
            commands / turns,
            pct(puts.samples, 50),
            pct(puts.samples, 95),
            pct(puts.cpu, 50),
            pct(reads.samples, 50),
            pct(reads.samples, 95),
            stored,
        )
    finally:
        client.drop_database(db)
        client.close()


def round_trips(uri: str, kind: str) -> dict[str, int]:
    """Commands of a cold ``get_tuple`` (chat) and of ``get_state`` (DeltaChannel graph)."""
    listener = Commands()
    client = client_for(kind, uri, listener)
    db = f"rt_{abs(hash(kind)) % 10**8}"
    out: dict[str, int] = {}
    try:
        client.drop_database(db)
        config = {"configurable": {"thread_id": "65f0c0ffee0123456789abce"}}
        chat = chat_graph(make_saver(kind, client, db))
        chat.update_state(config, {"messages": preload(100)}, as_node="chat")
        chat.invoke({"messages": [HumanMessage("hello")]}, config)
        fresh = make_saver(kind, client, db)
        listener.reset()
        fresh.get_tuple(config)
        out["get_tuple"] = listener.count
        listener.reset()
        chat_graph(fresh).get_state(config)
        out["get_state (chat)"] = listener.count
        dconfig = {"configurable": {"thread_id": "65f0c0ffee0123456789abcf"}}
        delta = delta_graph(make_saver(kind, client, db))
        for turn in range(15):
            delta.invoke({"turn": turn}, dconfig)
        fresh_delta = delta_graph(make_saver(kind, client, db))
        listener.reset()
        state = fresh_delta.get_state(dconfig)
        assert len(state.values["items"]) == 15, state.values
        out["get_state (DeltaChannel)"] = listener.count
        return out
    finally:
        client.drop_database(db)
        client.close()


# --- report -------------------------------------------------------------------------------


def report(rows: list[Row], trips: dict[str, dict[str, int]], turns: int, server: str) -> str:
    lines = [
        f"# MongoDB store vs MongoDBSaver ({turns} turns per size, {server})",
        "",
        "Command: `python benchmarks/mongodb.py`. Bytes and documents are what the client",
        "sent in insert/update/delete/bulkWrite commands (pymongo command monitoring).",
        "",
        "| messages | saver | bytes/turn | docs/turn | cmds/turn | put p50 ms | put p95 ms "
        "| put client CPU p50 ms | get_tuple p50 ms | get_tuple p95 ms | stored MB "
        "| vs MongoDBSaver, same concern |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    base = {(r.messages, r.saver): r for r in rows if r.saver in BASELINES}
    for r in rows:
        ratio = ""
        b = base.get((r.messages, baseline_of(r.saver)))
        if b is not None and r.saver not in BASELINES:
            ratio = (
                f"{b.bytes_per_turn / r.bytes_per_turn:.0f}x fewer bytes, "
                f"put {b.put_p50 / r.put_p50:.1f}x faster"
            )
        lines.append(
            f"| {r.messages:,} | {r.saver} | {r.bytes_per_turn:,.0f} | {r.docs_per_turn:.1f} "
            f"| {r.commands_per_turn:.1f} | {r.put_p50:.2f} | {r.put_p95:.2f} "
            f"| {r.put_cpu_p50:.2f} "
            f"| {r.get_tuple_p50:.2f} | {r.get_tuple_p95:.2f} | {r.stored_bytes / 1e6:.2f} "
            f"| {ratio} |"
        )
    lines += ["", *targets(rows, trips)]
    kinds = list(trips)
    lines += ["", "Round trips (commands) of one read, nothing cached:", ""]
    lines += ["| read | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
    for read in next(iter(trips.values())):
        lines.append(f"| {read} | " + " | ".join(str(trips[k][read]) for k in kinds) + " |")
    return "\n".join(lines) + "\n"


def targets(rows: list[Row], trips: dict[str, dict[str, int]]) -> list[str]:
    """The issue's targets, checked against this run (default mode, durable concern)."""
    ours = [r for r in rows if r.saver == "picoflow"]
    top = max(ours, key=lambda r: r.messages)
    base = next(r for r in rows if r.messages == top.messages and r.saver == baseline_of(top.saver))
    w1 = next(r for r in rows if r.messages == top.messages and r.saver == "MongoDBSaver (w:1)")
    spread = max(r.bytes_per_turn for r in ours) / min(r.bytes_per_turn for r in ours)
    fewer = base.bytes_per_turn / top.bytes_per_turn
    faster = base.put_p50 / top.put_p50

    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return [
        f"Targets (default mode, {top.messages:,} messages, against MongoDBSaver):",
        "",
        f"* bytes per turn flat: {mark(spread < 1.2)} (largest/smallest = {spread:.2f})",
        f"* >= 50x fewer bytes per turn: {mark(fewer >= 50)} ({fewer:.0f}x)",
        f"* >= 5x faster put p50: {mark(faster >= 5)} ({faster:.1f}x with the same durable "
        f"write concern, {w1.put_p50 / top.put_p50:.1f}x against its default w:1)",
        f"* get_tuple <= 2 round trips: {mark(trips['picoflow']['get_tuple'] <= 2)} "
        f"({trips['picoflow']['get_tuple']})",
        "",
        "Why put is not 5x faster here: SecantusDB (Python) deep-copies and rewrites the",
        "whole document on every update (`secantus/update.py` `apply_update`), so a `$push`",
        "of one message costs about as much server time as inserting the whole document,",
        "which is what MongoDBSaver does. Our client sends 100x fewer bytes and spends less",
        "CPU per put at 1,000 messages (column `put client CPU`); on a server that applies",
        "small updates as deltas (MongoDB's WiredTiger does), the server share shrinks too.",
        "Being server-bound, put p50 at 1,000 messages also varies by up to +-50% between",
        "runs on a small machine, for both savers: compare rows of one run, not of two.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--uri", help="an existing server instead of a fresh SecantusDB")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = [*MODES, *BASELINES]
    # A fresh server per scenario: no scenario pays for another's background work
    # (WiredTiger checkpoints, dropped databases) unless --uri names a shared one.
    server = "server at --uri" if args.uri else "SecantusDB 0.7.0b3, a fresh child process each"

    @contextmanager
    def fresh() -> Iterator[str]:
        if args.uri:
            yield args.uri
        else:
            with secantus() as uri:
                yield uri

    rows = []
    for size in sizes:
        for kind in kinds:
            with fresh() as uri:
                rows.append(run_chat(uri, kind, size, args.turns))
            print(rows[-1], flush=True)
    trips = {}
    for kind in kinds:
        with fresh() as uri:
            trips[kind] = round_trips(uri, kind)
    text = report(rows, trips, args.turns, server)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mongodb.md").write_text(text)
    payload = {
        "turns": args.turns,
        "server": server,
        "rows": [asdict(r) for r in rows],
        "round_trips": trips,
    }
    (RESULTS / "mongodb.json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
