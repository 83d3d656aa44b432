"""Benchmark: the Picoflow Cosmos saver vs langchain-azure-cosmosdb's savers, same server.

Sessions are preloaded (with ``update_state``) to 10, 100 and 1,000 messages, then run 20
chat turns (a human message, a scripted model reply). Per turn: HTTP requests and request
bytes sent by the saver's client; per call: ``put`` and ``get_tuple`` latency (p50/p95);
and the requests one cold ``get_tuple`` of the thread costs.

Runs against the local emulator (started here through ``tests/servers/cosmos.py``), or an
account given in ``COSMOS_ENDPOINT`` and ``COSMOS_KEY``. Writes a table to stdout and to
``benchmarks/results/cosmos.md`` (+ ``cosmos.json``)::

    python benchmarks/cosmos.py [--sizes 10,100,1000] [--turns 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402

from langgraph_picoflow import AsyncPicoflowSaver, PicoflowSaver  # noqa: E402
from langgraph_picoflow.stores.cosmos import AsyncCosmosStore, CosmosStore  # noqa: E402
from tests.servers.cosmos import CosmosEmulator, client_kwargs, endpoint_from_env  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
QUESTION = (
    "I'd like to plan a three-day trip to Lisbon in May with my partner. We like food, "
    "walking and some history, but not museums all day. What should we book in advance?"
)
ANSWER = (
    "Book the Belem tower and Jeronimos monastery early in the morning on day one, then walk "
    "along the river to LX Factory for lunch. Reserve a fado dinner in Alfama for day two and "
    "a table at a tasca in Principe Real for day three; trams 28 and 12 fill up by ten, so "
    "ride them before breakfast. Sintra is a good half-day trip by train from Rossio if the "
    "weather is clear; buy the Pena palace tickets online with a time slot."
)


def reply(state: MessagesState) -> dict[str, Any]:
    """A scripted model: a realistic answer with the metadata real models return."""
    n = len(state["messages"])
    usage = {"input_tokens": 40 * n, "output_tokens": 120, "total_tokens": 40 * n + 120}
    meta = {"model_name": "gemini-2.5-flash", "finish_reason": "STOP", "safety_ratings": []}
    message = AIMessage(ANSWER, usage_metadata=usage, response_metadata=meta)
    return {"messages": [message]}


def graph(checkpointer: Any) -> Any:
    """START -> reply -> END over ``messages``."""
    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer)


@dataclass
class Wire:
    """Requests and request bytes a client sent (a ``raw_request_hook``)."""

    requests: int = 0
    sent: int = 0

    def __call__(self, request: Any) -> None:
        body = request.http_request.body
        self.requests += 1
        if isinstance(body, (bytes, str)):
            self.sent += len(body.encode() if isinstance(body, str) else body)

    def snapshot(self) -> tuple[int, int]:
        """``(requests, bytes sent)`` so far."""
        return self.requests, self.sent


@dataclass
class Row:
    """One saver at one history size: means per turn, latency percentiles per call."""

    saver: str
    messages: int
    turns: int
    requests_per_turn: float
    bytes_per_turn: float
    bytes_per_turn_last: float
    put_p50_ms: float
    put_p95_ms: float
    get_tuple_p50_ms: float
    get_tuple_p95_ms: float
    get_tuple_requests: float
    samples: dict[str, list[float]] = field(default_factory=dict, repr=False)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Timed:
    """Wraps a saver's ``put``/``get_tuple`` (and async twins) to time each call."""

    def __init__(self, saver: Any) -> None:
        self.put: list[float] = []
        self.get: list[float] = []
        for name, bucket in (("put", self.put), ("get_tuple", self.get)):
            self._wrap(saver, name, bucket)
            self._awrap(saver, "a" + name, bucket)

    @staticmethod
    def _wrap(saver: Any, name: str, bucket: list[float]) -> None:
        inner = getattr(saver, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                bucket.append((time.perf_counter() - start) * 1000)

        setattr(saver, name, timed)

    @staticmethod
    def _awrap(saver: Any, name: str, bucket: list[float]) -> None:
        inner = getattr(saver, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await inner(*args, **kwargs)
            finally:
                bucket.append((time.perf_counter() - start) * 1000)

        setattr(saver, name, timed)


def _history(size: int) -> list[Any]:
    """``size`` messages of earlier conversation (questions and answers alternating)."""
    out: list[Any] = []
    while len(out) < size:
        out.append(HumanMessage(QUESTION))
        out.extend(reply({"messages": out})["messages"])
    return out[:size]


# --- savers under test ----------------------------------------------------------------------


@contextmanager
def picoflow_sync(url: str, key: str, extra: dict[str, Any], wire: Wire) -> Iterator[Any]:
    """This project's sync saver on a database of its own (dropped afterwards)."""
    conn = f"AccountEndpoint={url};AccountKey={key};"
    with PicoflowSaver.from_conn_string(
        conn, database=f"bench-{uuid.uuid4().hex[:8]}", raw_request_hook=wire, **extra
    ) as saver:
        yield saver
        store = saver.store
        assert isinstance(store, CosmosStore)
        store.client.delete_database(store.config.database)


@asynccontextmanager
async def picoflow_async(url: str, key: str, extra: dict[str, Any], wire: Wire) -> Any:
    """This project's async saver on a database of its own (dropped afterwards)."""
    conn = f"AccountEndpoint={url};AccountKey={key};"
    async with AsyncPicoflowSaver.from_conn_string(
        conn, database=f"bench-{uuid.uuid4().hex[:8]}", raw_request_hook=wire, **extra
    ) as saver:
        yield saver
        astore = saver.store
        assert isinstance(astore, AsyncCosmosStore)
        await astore.client.delete_database(astore.config.database)


@contextmanager
def langchain_sync(url: str, key: str, extra: dict[str, Any], wire: Wire) -> Iterator[Any]:
    """``langchain_azure_cosmosdb.CosmosDBSaverSync`` on a database of its own."""
    from langchain_azure_cosmosdb import CosmosDBSaverSync

    name = f"bench-{uuid.uuid4().hex[:8]}"
    saver = CosmosDBSaverSync(
        name,
        "checkpoints",
        endpoint=url,
        key=key,
        cosmos_client_kwargs={**extra, "raw_request_hook": wire},
    )
    try:
        yield saver
    finally:
        saver.client.delete_database(name)
        saver.close()


@asynccontextmanager
async def langchain_async(url: str, key: str, extra: dict[str, Any], wire: Wire) -> Any:
    """``langchain_azure_cosmosdb.aio.CosmosDBSaver`` on a database of its own."""
    from azure.cosmos.aio import CosmosClient
    from langchain_azure_cosmosdb.aio import CosmosDBSaver

    name = f"bench-{uuid.uuid4().hex[:8]}"
    kwargs = {**extra, "raw_request_hook": wire}
    async with CosmosDBSaver.from_conn_info(
        endpoint=url,
        key=key,
        database_name=name,
        container_name="checkpoints",
        cosmos_client_kwargs=kwargs,
    ) as saver:
        yield saver
    async with CosmosClient(url, key, **extra) as client:
        await client.delete_database(name)


# --- the run -------------------------------------------------------------------------------


def run_sync(
    make: Callable[..., Any],
    label: str,
    size: int,
    turns: int,
    url: str,
    key: str,
    extra: dict[str, Any],
) -> Row:
    """Preload a session, play the turns, measure (sync saver)."""
    wire = Wire()
    with make(url, key, extra, wire) as saver:
        app = graph(saver)
        cfg = {"configurable": {"thread_id": str(uuid.uuid4())}}
        history = _history(size)
        for i in range(0, len(history), 10):
            app.update_state(cfg, {"messages": history[i : i + 10]})
        timed = Timed(saver)
        per_turn: list[tuple[int, int]] = []
        reads: list[int] = []
        for t in range(turns):
            before = wire.snapshot()
            app.invoke({"messages": [HumanMessage(f"{QUESTION} ({t})")]}, cfg)
            after = wire.snapshot()
            per_turn.append((after[0] - before[0], after[1] - before[1]))
            before = wire.snapshot()
            saver.get_tuple(cfg)
            reads.append(wire.snapshot()[0] - before[0])
        assert len(app.get_state(cfg).values["messages"]) == size + 2 * turns
        return _row(label, size, turns, per_turn, reads, timed)


async def run_async(
    make: Callable[..., Any],
    label: str,
    size: int,
    turns: int,
    url: str,
    key: str,
    extra: dict[str, Any],
) -> Row:
    """Preload a session, play the turns, measure (async saver)."""
    wire = Wire()
    async with make(url, key, extra, wire) as saver:
        app = graph(saver)
        cfg = {"configurable": {"thread_id": str(uuid.uuid4())}}
        history = _history(size)
        for i in range(0, len(history), 10):
            await app.aupdate_state(cfg, {"messages": history[i : i + 10]})
        timed = Timed(saver)
        per_turn: list[tuple[int, int]] = []
        reads: list[int] = []
        for t in range(turns):
            before = wire.snapshot()
            await app.ainvoke({"messages": [HumanMessage(f"{QUESTION} ({t})")]}, cfg)
            after = wire.snapshot()
            per_turn.append((after[0] - before[0], after[1] - before[1]))
            before = wire.snapshot()
            await saver.aget_tuple(cfg)
            reads.append(wire.snapshot()[0] - before[0])
        state = await app.aget_state(cfg)
        assert len(state.values["messages"]) == size + 2 * turns
        return _row(label, size, turns, per_turn, reads, timed)


def _row(
    label: str,
    size: int,
    turns: int,
    per_turn: list[tuple[int, int]],
    reads: list[int],
    timed: Timed,
) -> Row:
    """Summarise one run."""
    return Row(
        saver=label,
        messages=size,
        turns=turns,
        requests_per_turn=statistics.mean(r for r, _ in per_turn),
        bytes_per_turn=statistics.mean(b for _, b in per_turn),
        bytes_per_turn_last=float(per_turn[-1][1]),
        put_p50_ms=_pct(timed.put, 0.5),
        put_p95_ms=_pct(timed.put, 0.95),
        get_tuple_p50_ms=_pct(timed.get, 0.5),
        get_tuple_p95_ms=_pct(timed.get, 0.95),
        get_tuple_requests=statistics.mean(reads),
        samples={
            "put_ms": timed.put,
            "get_tuple_ms": timed.get,
            "bytes_per_turn": [float(b) for _, b in per_turn],
        },
    )


SYNC = {"picoflow (sync)": picoflow_sync, "CosmosDBSaverSync": langchain_sync}
ASYNC = {"picoflow (async)": picoflow_async, "CosmosDBSaver (aio)": langchain_async}


def _table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    head = (
        "| saver | messages | req/turn | KB sent/turn | put p50 / p95 ms | "
        "get_tuple p50 / p95 ms | requests per cold get_tuple |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r.saver} | {r.messages:,} | {r.requests_per_turn:.1f} "
        f"| {r.bytes_per_turn / 1000:,.1f} | {r.put_p50_ms:.1f} / {r.put_p95_ms:.1f} "
        f"| {r.get_tuple_p50_ms:.1f} / {r.get_tuple_p95_ms:.1f} | {r.get_tuple_requests:.1f} |\n"
        for r in rows
    )
    return head + body


def _verdict(rows: list[Row]) -> list[str]:
    """How the numbers compare with the targets."""
    ours = {r.messages: r for r in rows if r.saver == "picoflow (sync)"}
    theirs = {r.messages: r for r in rows if r.saver == "CosmosDBSaverSync"}
    lines = []
    if ours:
        sizes = sorted(ours)
        sent = [ours[s].bytes_per_turn for s in sizes]
        spread = max(sent) / min(sent)
        lines.append(
            "- bytes per turn, picoflow: "
            + ", ".join(f"{b / 1000:.1f} KB at {s:,}" for s, b in zip(sizes, sent, strict=True))
            + f" (max/min {spread:.2f}; target flat: {'met' if spread < 1.25 else 'NOT met'})"
        )
        reads = [ours[s].get_tuple_requests for s in sizes]
        lines.append(
            "- requests per cold get_tuple, picoflow: "
            + ", ".join(f"{r:.1f} at {s:,}" for s, r in zip(sizes, reads, strict=True))
            + f" (target <= 2: {'met' if max(reads) <= 2 else 'NOT met'})"
        )
    for s in sorted(set(ours) & set(theirs)):
        ratio = theirs[s].bytes_per_turn / ours[s].bytes_per_turn
        goal = f" (target >= 20x: {'met' if ratio >= 20 else 'NOT met'})" if s >= 1000 else ""
        lines.append(
            f"- at {s:,} messages CosmosDBSaverSync sends {ratio:.1f}x the bytes per turn{goal}"
        )
    return lines


def main() -> int:
    """Run the benchmark; print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--no-async", action="store_true", help="skip the async savers")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    external = endpoint_from_env()
    emulator = None if external else CosmosEmulator()
    try:
        url, key = external or emulator.endpoint  # type: ignore[union-attr]
        extra = client_kwargs(url)
        rows: list[Row] = []
        for size in sizes:
            for label, make in SYNC.items():
                rows.append(run_sync(make, label, size, args.turns, url, key, extra))
                print(_table(rows[-1:]).splitlines()[-1], flush=True)
            if not args.no_async:
                for label, amake in ASYNC.items():
                    rows.append(
                        asyncio.run(run_async(amake, label, size, args.turns, url, key, extra))
                    )
                    print(_table(rows[-1:]).splitlines()[-1], flush=True)
    finally:
        if emulator is not None:
            emulator.stop()
    server = (
        "Azure Cosmos DB account"
        if external
        else "local emulator (@vercel/cosmosdb-server 1.0.1 via tests/cosmos_emulator/launch.js)"
    )
    text = (
        "# Cosmos DB benchmark\n\n"
        f"Server: {server}. {args.turns} turns per session after preloading it with "
        "`update_state`; a turn is one human message and one scripted model reply "
        f"(~{len(QUESTION)} and ~{len(ANSWER)} characters, with usage and response metadata). "
        "Requests and bytes are counted at the saver's Cosmos client (request bodies); a "
        "turn includes LangGraph's own reads. Latencies are per saver call.\n\n"
        + _table(rows)
        + "\n"
        + "\n".join(_verdict(rows))
        + f"\n\nPython {platform.python_version()}, {platform.machine()}, "
        + time.strftime("%Y-%m-%d")
        + ".\n"
    )
    print()
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cosmos.md").write_text(text, encoding="utf-8")
    (RESULTS / "cosmos.json").write_text(
        json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
