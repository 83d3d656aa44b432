"""Limits the emulator does not enforce, enforced by the store: 2 MB items, 413, 429.

A 40 MB session round-trips (history moved out of the head, large entries stubbed, log
items split into parts); a whole conversation under tiny limits matches a reference run;
a transport that answers 413 above a size makes the store shrink its limits; one that
answers 429 shows the SDK's throttling retries (and their settings) at work.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from azure.core.pipeline.transport import RequestsTransport, RequestsTransportResponse
from azure.cosmos import CosmosClient
from azure.cosmos.exceptions import CosmosHttpResponseError
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from requests.structures import CaseInsensitiveDict

from langgraph_picoflow import AsyncPicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.stores.cosmos import CosmosLimits, CosmosStore
from langgraph_picoflow.stores.cosmos.items import strip_system
from tests.servers.cosmos import CosmosEndpoint
from tests.test_cosmos_support import chat_graph, config, conn_string, open_saver

MB = 1_000_000
SESSION = SessionConfig(mongo_id=False)


def _big_document(thread: str, sizes: list[int]) -> dict[str, Any]:
    doc = pdoc.new_session(
        thread, now=datetime.now(timezone.utc), flow_name="F", layout="B", mongo_id=False
    )
    doc["flows"] = [pdoc.new_flow("F", [], "B")]
    history = [
        {"type": "system", "content": "be brief", "id": "F|2026-01-01T00:00:00.000Z|1000000000"}
    ]
    for i, size in enumerate(sizes):
        history.append(
            {
                "type": "human" if i % 2 else "ai",
                "content": chr(65 + i % 26) * size,
                "id": f"F|2026-01-01T00:00:00.000Z|{2000000000 + i}",
            }
        )
    doc["flows"][0]["memory"] = [{"nameSpace": "default", "history": history}]
    return pdoc.dump(doc, "plain")


def _items(client: CosmosClient, database: str, container: str) -> list[dict[str, Any]]:
    c = client.get_database_client(database).get_container_client(container)
    return list(c.query_items("SELECT * FROM c", enable_cross_partition_query=True))


def test_forty_megabyte_session_round_trips(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client: CosmosClient,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    thread = str(uuid.uuid4())
    # 1 MB entries (stubbed in the head, whole in the log) and 3 MB ones (larger than any
    # Cosmos DB item: split into parts).
    document = _big_document(thread, [3 * MB if i % 6 == 0 else MB for i in range(34)])
    assert len(json.dumps(document)) > 40 * MB
    with open_saver(
        cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name, session=SESSION
    ) as saver:
        saver.import_session(document)
        assert saver.get_session(thread) == document
        graph = chat_graph(saver)
        graph.invoke({"messages": [HumanMessage("and now?")]}, config(thread))
        state = graph.get_state(config(thread))
        assert [len(m.content) for m in state.values["messages"][:3]] == [8, 3 * MB, MB]
        assert len(state.values["messages"]) == 35 + 2
    for item in _items(cosmos_client, cosmos_db_name, "sessions-checkpoints"):
        assert len(json.dumps(item)) < 2 * 1024 * 1024, item["id"]
    (head,) = _items(cosmos_client, cosmos_db_name, "sessions")
    assert len(json.dumps(head)) < 2 * 1024 * 1024
    pdoc.check(pdoc.load(strip_system(head)))  # Picoflow can still load the head

    # The async store reads the same session back whole.
    async def read_async() -> Any:
        async with AsyncPicoflowSaver.from_conn_string(
            conn_string(cosmos_endpoint),
            session=SESSION,
            database=cosmos_db_name,
            **cosmos_client_kwargs,
        ) as asaver:
            return await asaver.aget_tuple(config(thread))

    import asyncio

    found = asyncio.run(read_async())
    assert found is not None
    assert [len(m.content) for m in found.checkpoint["channel_values"]["messages"][:2]] == [
        8,
        3 * MB,
    ]


def _chatty(checkpointer: Any) -> Any:
    """Replies of varying size, some large, with usage metadata (kept in sidecars)."""

    def answer(state: MessagesState) -> dict[str, Any]:
        n = len(state["messages"])
        size = 2_500 if n % 7 == 0 else 40 + 30 * (n % 5)
        usage = {"input_tokens": n, "output_tokens": size, "total_tokens": n + size}
        return {"messages": [AIMessage("r" * size, id=f"a{n}", usage_metadata=usage)]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=checkpointer)


TINY = CosmosLimits(
    item_bytes=3_000,
    part_bytes=1_000,
    batch_bytes=20_000,
    head_bytes=7_000,
    head_target=4_000,
    entry_bytes=2_000,
    sidecar_block=3,
)


def test_tiny_limits_conversation_matches_reference(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client: CosmosClient,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    thread = str(uuid.uuid4())
    reference = _chatty(InMemorySaver())
    with open_saver(
        cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name, session=SESSION, limits=TINY
    ) as saver:
        graph = _chatty(saver)
        for turn in range(30):
            message = HumanMessage("q" * (3_000 if turn == 11 else 120), id=f"h{turn}")
            for g in (graph, reference):
                g.invoke({"messages": [message]}, config(thread))
            if turn % 10 == 9:
                mine = graph.get_state(config(thread)).values["messages"]
                theirs = reference.get_state(config(thread)).values["messages"]
                assert [m.model_dump() for m in mine] == [m.model_dump() for m in theirs]
        history = list(graph.get_state_history(config(thread)))
        assert len(history) == len(list(reference.get_state_history(config(thread))))
    kinds = {i["kind"] for i in _items(cosmos_client, cosmos_db_name, "sessions-checkpoints")}
    assert {"spill", "big", "block", "part"} <= kinds
    (head,) = _items(cosmos_client, cosmos_db_name, "sessions")
    assert len(json.dumps(strip_system(head))) <= TINY.head_bytes
    pdoc.check(pdoc.load(strip_system(head)))


# --- injected service answers ------------------------------------------------------------


def _answer(request: Any, status: int, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = requests.Response()
    response.status_code = status
    response.reason = {413: "Request Entity Too Large", 429: "Too Many Requests"}[status]
    response.headers = CaseInsensitiveDict(
        {"Content-Type": "application/json", "x-ms-activity-id": str(uuid.uuid4()), **headers}
    )
    response._content = json.dumps(body).encode()
    response.url = request.url
    return RequestsTransportResponse(request, response)


class TooLargeAbove(RequestsTransport):  # type: ignore[misc]
    """A service whose item limit is ``limit`` bytes of request body."""

    def __init__(self, limit: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit = limit
        self.refused = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        body = request.body if isinstance(request.body, (bytes, str)) else b""
        if len(body) > self.limit:
            self.refused += 1
            return _answer(
                request,
                413,
                {},
                {"code": "RequestEntityTooLarge", "message": "Request size is too large"},
            )
        return super().send(request, **kwargs)


class Throttling(RequestsTransport):  # type: ignore[misc]
    """A service that throttles transactional batches: ``times`` 429s in a row each."""

    def __init__(self, times: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.times = times
        self.streak = 0
        self.throttled = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        if request.headers.get("x-ms-cosmos-is-batch-request") and self.streak < self.times:
            self.streak += 1
            self.throttled += 1
            return _answer(
                request,
                429,
                {"x-ms-retry-after-ms": "5", "x-ms-substatus": "3200"},
                {"code": "TooManyRequests", "message": "Request rate is large"},
            )
        self.streak = 0
        return super().send(request, **kwargs)


def test_413_shrinks_the_limits_and_the_write_succeeds(
    cosmos_endpoint: CosmosEndpoint, cosmos_client_kwargs: dict[str, Any], cosmos_db_name: str
) -> None:
    thread = str(uuid.uuid4())
    document = _big_document(thread, [150_000] * 20)  # 3 MB in all
    transport = TooLargeAbove(400_000, connection_verify=False)
    with open_saver(
        cosmos_endpoint,
        {**cosmos_client_kwargs, "transport": transport},
        cosmos_db_name,
        session=SESSION,
    ) as saver:
        saver.import_session(document)
        store = saver.store
        assert isinstance(store, CosmosStore)
        assert transport.refused > 0
        assert store.state.limits.head_bytes < CosmosLimits().head_bytes
        assert saver.get_session(thread) == document
        graph = chat_graph(saver)
        graph.invoke({"messages": [HumanMessage("still there?")]}, config(thread))
        assert len(graph.get_state(config(thread)).values["messages"]) == 23


def test_throttled_requests_are_retried_by_the_sdk(
    cosmos_endpoint: CosmosEndpoint, cosmos_client_kwargs: dict[str, Any], cosmos_db_name: str
) -> None:
    thread = str(uuid.uuid4())
    transport = Throttling(2, connection_verify=False)
    with open_saver(
        cosmos_endpoint, {**cosmos_client_kwargs, "transport": transport}, cosmos_db_name
    ) as saver:
        graph = chat_graph(saver)
        graph.invoke({"messages": [HumanMessage("hi")]}, config(thread))
        assert transport.throttled >= 2 * 3  # every batch was throttled twice, then passed
        assert len(graph.get_state(config(thread)).values["messages"]) == 2


def test_throttling_beyond_the_sdk_retry_budget_fails_cleanly(
    cosmos_endpoint: CosmosEndpoint, cosmos_client_kwargs: dict[str, Any], cosmos_db_name: str
) -> None:
    thread = str(uuid.uuid4())
    with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as saver:
        graph = chat_graph(saver)
        graph.invoke({"messages": [HumanMessage("hi")]}, config(thread))
        before = saver.get_session(thread)
    transport = Throttling(10**9, connection_verify=False)
    with open_saver(
        cosmos_endpoint,
        {**cosmos_client_kwargs, "transport": transport, "retry_throttle_total": 2},
        cosmos_db_name,
    ) as saver:
        graph = chat_graph(saver)
        with pytest.raises(CosmosHttpResponseError) as caught:
            graph.invoke({"messages": [HumanMessage("again")]}, config(thread))
        assert caught.value.status_code == 429
        # Each request: the first attempt and the SDK's two retries (LangGraph may have sent
        # a step's pending writes too before the failed checkpoint stopped the run).
        assert transport.throttled > 0 and transport.throttled % 3 == 0
        assert saver.get_session(thread) == before  # nothing of the write was applied
