"""Helpers shared by the ``test_cosmos_*`` modules (this module holds no tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow.mapping import SessionConfig
from tests.servers.cosmos import CosmosEndpoint


def conn_string(endpoint: CosmosEndpoint) -> str:
    """The account as a Cosmos connection string."""
    return f"AccountEndpoint={endpoint.url};AccountKey={endpoint.key};"


@dataclass
class Requests:
    """Counts the HTTP requests a client sends (a ``raw_request_hook``), retries included."""

    seen: list[tuple[str, str, int]] = field(default_factory=list)

    def __call__(self, request: Any) -> None:
        http = request.http_request
        body = http.body if isinstance(http.body, (bytes, str)) else b""
        size = len(body.encode() if isinstance(body, str) else body)
        self.seen.append((http.method, http.url, size))

    def client_kwargs(self, base: dict[str, Any]) -> dict[str, Any]:
        """``base`` plus the hook."""
        return {**base, "raw_request_hook": self}

    @contextmanager
    def counting(self) -> Iterator[list[tuple[str, str, int]]]:
        """Collect the requests sent inside the block."""
        start = len(self.seen)
        window: list[tuple[str, str, int]] = []
        yield window
        window.extend(self.seen[start:])


def reply(state: MessagesState) -> dict[str, Any]:
    """A scripted model: answers with usage metadata (which Picoflow keeps in sidecars)."""
    n = len(state["messages"])
    usage = {"input_tokens": n, "output_tokens": 2, "total_tokens": n + 2}
    return {"messages": [AIMessage(f"reply {n}", usage_metadata=usage)]}


def chat_graph(checkpointer: Any) -> CompiledStateGraph[Any, Any, Any, Any]:
    """START -> reply -> END over ``messages``."""
    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer)


@contextmanager
def open_saver(
    endpoint: CosmosEndpoint,
    client_kwargs: dict[str, Any],
    database: str,
    *,
    session: SessionConfig | None = None,
    **options: Any,
) -> Iterator[PicoflowSaver]:
    """A sync saver on a database of its own (``options`` configure the store)."""
    with PicoflowSaver.from_conn_string(
        conn_string(endpoint), session=session, database=database, **options, **client_kwargs
    ) as saver:
        yield saver


def config(thread_id: str) -> Any:
    """A LangGraph config for a thread."""
    return {"configurable": {"thread_id": thread_id}}
