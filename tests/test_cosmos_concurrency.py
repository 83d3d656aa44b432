"""Eight writers on one session: every step is applied once or refused, never mixed.

Either the session exists before the writers start, or they race to create it too.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langgraph_picoflow import AsyncPicoflowSaver
from langgraph_picoflow.errors import ConflictError
from tests.servers.cosmos import CosmosEndpoint
from tests.test_cosmos_support import chat_graph, config, conn_string, open_saver

WRITERS = 8
STEPS = 5


def _step(writer: int, step: int) -> list[Any]:
    tag = f"w{writer}s{step}"
    return [
        HumanMessage(f"{tag} question", id=f"{tag}-q"),
        AIMessage(f"{tag} answer", id=f"{tag}-a"),
    ]


def _seed(graph: Any, thread: str) -> None:
    """Create the session with one step before the writers start."""
    graph.update_state(config(thread), {"messages": [HumanMessage("seed", id="seed")]})


def _read(graph: Any, thread: str) -> None:
    """Read the state; a read that rolls a lost head update forward may itself conflict."""
    for _ in range(20):
        try:
            graph.get_state(config(thread))
            return
        except ConflictError:
            continue


async def _aread(graph: Any, thread: str) -> None:
    for _ in range(20):
        try:
            await graph.aget_state(config(thread))
            return
        except ConflictError:
            continue


def _check(
    history: list[dict[str, Any]], applied: set[str], refused: set[str], seeded: bool = True
) -> None:
    """Each applied step's two messages appear once, adjacent, in order; refused ones never."""
    if seeded:
        assert history[0]["content"] == "seed"
        history = history[1:]
    tags = [m["content"].split(" ")[0] for m in history]
    counts = Counter(tags)
    for tag in applied:
        assert counts[tag] == 2, (tag, tags)
        i = tags.index(tag)
        assert [m["type"] for m in history[i : i + 2]] == ["human", "ai"], (tag, tags)
        assert tags[i + 1] == tag
    assert not (set(tags) & refused), (set(tags) & refused, tags)
    assert set(tags) == applied and len(tags) == 2 * len(applied)


@pytest.mark.parametrize("seeded", [True, False], ids=["existing", "new"])
def test_eight_sync_writers(
    seeded: bool,
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    thread = str(uuid.uuid4())
    applied: set[str] = set()
    refused: set[str] = set()
    lock = threading.Lock()
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        try:
            with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as saver:
                graph = chat_graph(saver)
                barrier.wait(timeout=60)
                for s in range(STEPS):
                    _read(graph, thread)
                    try:
                        graph.update_state(config(thread), {"messages": _step(n, s)})
                    except ConflictError:
                        with lock:
                            refused.add(f"w{n}s{s}")
                    else:
                        with lock:
                            applied.add(f"w{n}s{s}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            barrier.abort()

    if seeded:
        with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as seeder:
            _seed(chat_graph(seeder), thread)
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert applied and len(applied) + len(refused) == WRITERS * STEPS
    with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as reader:
        document = reader.get_session(thread)
        assert document is not None
        _check(document["flows"][0]["memory"][0]["history"], applied, refused, seeded)
        state = chat_graph(reader).get_state(config(thread))
        # The LangGraph view (sidecars: the message ids) matches the document entry by entry.
        ids = [m.id for m in state.values["messages"]][1 if seeded else 0 :]
        assert Counter(ids) == Counter(f"{t}-{k}" for t in applied for k in "qa")
        log = reader.list(config(thread))
        steps = [s for s in log if s.metadata and s.metadata.get("source") == "update"]
        assert len(steps) == len(applied) + seeded


async def test_eight_async_writers(
    cosmos_endpoint: CosmosEndpoint, cosmos_client_kwargs: dict[str, Any], cosmos_db_name: str
) -> None:
    thread = str(uuid.uuid4())
    applied: set[str] = set()
    refused: set[str] = set()
    conn = conn_string(cosmos_endpoint)

    async def writer(n: int, start: asyncio.Event) -> None:
        async with AsyncPicoflowSaver.from_conn_string(
            conn, database=cosmos_db_name, **cosmos_client_kwargs
        ) as saver:
            graph = chat_graph(saver)
            await start.wait()
            for s in range(STEPS):
                await _aread(graph, thread)
                try:
                    await graph.aupdate_state(config(thread), {"messages": _step(n, s)})
                except ConflictError:
                    refused.add(f"w{n}s{s}")
                else:
                    applied.add(f"w{n}s{s}")

    async with AsyncPicoflowSaver.from_conn_string(
        conn, database=cosmos_db_name, **cosmos_client_kwargs
    ) as seeder:
        await chat_graph(seeder).aupdate_state(
            config(thread), {"messages": [HumanMessage("seed", id="seed")]}
        )
    start = asyncio.Event()
    tasks = [asyncio.create_task(writer(n, start)) for n in range(WRITERS)]
    await asyncio.sleep(0.5)  # let every writer open its client
    start.set()
    await asyncio.gather(*tasks)
    assert applied and len(applied) + len(refused) == WRITERS * STEPS
    async with AsyncPicoflowSaver.from_conn_string(
        conn, database=cosmos_db_name, **cosmos_client_kwargs
    ) as reader:
        document = await reader.aget_session(thread) if hasattr(reader, "aget_session") else None
        state = await chat_graph(reader).aget_state(config(thread))
    ids = [m.id for m in state.values["messages"]][1:]
    assert Counter(ids) == Counter(f"{t}-{k}" for t in applied for k in "qa")
    if document is not None:
        _check(document["flows"][0]["memory"][0]["history"], applied, refused)
