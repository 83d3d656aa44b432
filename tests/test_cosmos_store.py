"""The Cosmos store against a real server (the emulator, or $COSMOS_ENDPOINT/$COSMOS_KEY)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from azure.cosmos import CosmosClient, PartitionKey
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint

from langgraph_picoflow import AsyncPicoflowSaver, PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.errors import StoreError
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.stores.cosmos import (
    CosmosConfig,
    CosmosStore,
    InvalidIdError,
    open_cosmos,
)
from langgraph_picoflow.stores.cosmos.items import strip_system
from tests.samples import sample
from tests.servers.cosmos import CosmosEndpoint, endpoint_from_env
from tests.test_cosmos_support import (
    Requests,
    chat_graph,
    config,
    conn_string,
    open_saver,
)


def _turns(graph: Any, thread_id: str, count: int) -> None:
    for i in range(count):
        graph.invoke({"messages": [HumanMessage(f"hello {i}")]}, config(thread_id))


def test_setup_creates_both_containers_and_is_idempotent(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client: CosmosClient,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as saver:
        saver.setup()  # again: nothing to do
    db = cosmos_client.get_database_client(cosmos_db_name)
    sessions = db.get_container_client("sessions").read()
    log = db.get_container_client("sessions-checkpoints").read()
    assert sessions["partitionKey"]["paths"] == ["/id"]
    assert log["partitionKey"]["paths"] == ["/thread_id"]
    # Payloads are not indexed; what the queries filter on is.
    assert {"path": "/*"} in log["indexingPolicy"]["excludedPaths"]
    included = {p["path"] for p in log["indexingPolicy"]["includedPaths"]}
    assert {"/kind/?", "/cid/?", "/thread_id/?", "/metadata/*"} <= included
    assert {"path": "/*"} in sessions["indexingPolicy"]["excludedPaths"]


def test_setup_refuses_a_sessions_container_partitioned_otherwise(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client: CosmosClient,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    # What the Picoflow runtime creates when nobody made the container first.
    db = cosmos_client.create_database(cosmos_db_name)
    db.create_container("sessions", PartitionKey("/_partitionKey"))
    refused = pytest.raises(StoreError, match=r"partitioned by \['/_partitionKey'\]")
    with refused, open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name):
        pass


def test_request_counts(
    cosmos_endpoint: CosmosEndpoint, cosmos_client_kwargs: dict[str, Any], cosmos_db_name: str
) -> None:
    requests = Requests()
    kwargs = requests.client_kwargs(cosmos_client_kwargs)
    thread = str(uuid.uuid4())
    with open_saver(cosmos_endpoint, kwargs, cosmos_db_name) as saver:
        graph = chat_graph(saver)
        _turns(graph, thread, 3)
        with requests.counting() as turn:
            _turns(graph, thread, 1)
        # get_tuple: 2; three puts: 2 each (log batch + head patch); two writes: 1 each.
        assert len(turn) == 10, turn
    with open_saver(cosmos_endpoint, kwargs, cosmos_db_name) as cold:
        cold.get_tuple(config(str(uuid.uuid4())))  # warm the new client (account, ranges)
        with requests.counting() as read:
            found = cold.get_tuple(config(thread))
        assert found is not None and len(found.checkpoint["channel_values"]["messages"]) == 8
        assert [m for m, _, _ in read] == ["GET", "POST"], read  # point read + one query


async def test_async_read_head_is_two_requests(
    cosmos_endpoint: CosmosEndpoint, cosmos_client_kwargs: dict[str, Any], cosmos_db_name: str
) -> None:
    requests = Requests()
    kwargs = requests.client_kwargs(cosmos_client_kwargs)
    thread = str(uuid.uuid4())
    async with AsyncPicoflowSaver.from_conn_string(
        conn_string(cosmos_endpoint), database=cosmos_db_name, **kwargs
    ) as saver:
        graph = chat_graph(saver)
        for i in range(3):
            await graph.ainvoke({"messages": [HumanMessage(f"hi {i}")]}, config(thread))
        with requests.counting() as read:
            state = await graph.aget_state(config(thread))
        assert len(state.values["messages"]) == 6
        assert len(read) == 2, read


def test_saved_session_is_a_plain_picoflow_document(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client: CosmosClient,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    thread = str(uuid.uuid4())
    with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as saver:
        _turns(chat_graph(saver), thread, 3)
        expected = saver.get_session(thread)
    sessions = cosmos_client.get_database_client(cosmos_db_name).get_container_client("sessions")
    item = sessions.read_item(thread, partition_key=thread)
    assert {"_etag", "_ts", "_rid"} <= set(item)  # what the service adds ...
    plain = strip_system(item)  # ... and what must be stripped before use
    assert plain["id"] == thread and "_id" not in plain
    assert isinstance(plain["saveOn"], str) and plain["saveOn"].endswith("Z")
    doc = pdoc.load(plain)
    pdoc.check(doc)
    assert pdoc.dump(doc, "plain") == expected
    assert [m["type"] for m in doc["flows"][0]["memory"][0]["history"]] == ["human", "ai"] * 3


def _picoflow_document(name_part: str) -> dict[str, Any]:
    """A sample as Picoflow on Cosmos stores it: plain JSON, a uuid id, no ``_id``."""
    doc = pdoc.load(sample(name_part).read_text(encoding="utf-8"))
    doc.pop("_id", None)
    doc["id"] = str(uuid.uuid4())
    doc["runStatus"] = "running"
    return pdoc.dump(doc, "plain")


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_document_written_by_plain_sdk_is_resumed(
    use_async: bool,
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client: CosmosClient,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    original = _picoflow_document("69c04a40")  # TravelFlow, namespace "travelPlan"
    thread = original["id"]
    session = SessionConfig(namespaces={"messages": "travelPlan"}, mongo_id=False)
    db = cosmos_client.create_database_if_not_exists(cosmos_db_name)
    sessions = db.create_container_if_not_exists("sessions", PartitionKey("/id"))
    sessions.upsert_item(original)  # as Picoflow's runtime does: items.upsert
    before = original["flows"][0]["memory"][0]["history"]
    conn = conn_string(cosmos_endpoint)
    if use_async:
        async with AsyncPicoflowSaver.from_conn_string(
            conn, session=session, database=cosmos_db_name, **cosmos_client_kwargs
        ) as asaver:
            graph = chat_graph(asaver)
            state = await graph.aget_state(config(thread))
            assert len(state.values["messages"]) == len(before)
            await graph.ainvoke({"messages": [HumanMessage("And a hotel?")]}, config(thread))
    else:
        with PicoflowSaver.from_conn_string(
            conn, session=session, database=cosmos_db_name, **cosmos_client_kwargs
        ) as saver:
            graph = chat_graph(saver)
            assert len(graph.get_state(config(thread)).values["messages"]) == len(before)
            graph.invoke({"messages": [HumanMessage("And a hotel?")]}, config(thread))
    stored = strip_system(sessions.read_item(thread, partition_key=thread))
    pdoc.check(pdoc.load(stored))
    after = stored["flows"][0]["memory"][0]["history"]
    assert after[: len(before)] == before  # earlier history untouched, byte for byte
    assert [(m["type"], m["content"]) for m in after[len(before) :]] == [
        ("human", "And a hotel?"),
        ("ai", f"reply {len(before) + 1}"),
    ]
    untouched = {k: v for k, v in original.items() if k not in ("saveOn", "flows", "tokens")}
    assert {k: stored[k] for k in untouched} == untouched
    assert stored["flows"][0]["memory"][1:] == original["flows"][0]["memory"][1:]


@pytest.mark.parametrize("bad", ["a/b", "what?", "x#1", "back\\slash"])
def test_thread_ids_cosmos_refuses_fail_fast_and_name_the_id(
    bad: str,
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as saver:
        graph = chat_graph(saver)
        with pytest.raises(InvalidIdError) as caught:
            graph.invoke({"messages": [HumanMessage("hi")]}, config(bad))
        assert caught.value.thread_id == bad and repr(bad) in str(caught.value)
        with pytest.raises(InvalidIdError):
            saver.get_tuple(config(bad))


def _log_items(client: CosmosClient, database: str) -> list[dict[str, Any]]:
    log = client.get_database_client(database).get_container_client("sessions-checkpoints")
    return list(log.query_items("SELECT * FROM c", enable_cross_partition_query=True))


def test_log_ids_stay_cosmos_safe_with_any_namespace_or_task(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client: CosmosClient,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    thread = "thread with spaces|pipes:colons"
    with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as saver:
        cfg: RunnableConfig = {
            "configurable": {"thread_id": thread, "checkpoint_ns": "parent:1/2?x#y"}
        }
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"a/b?c": "v", "big": b"\x00" * 10}
        checkpoint["channel_versions"] = {"a/b?c": "1", "big": "2"}
        stored = saver.put(
            cfg, checkpoint, {"source": "loop", "step": 1}, {"a/b?c": "1", "big": "2"}
        )
        saver.put_writes(stored, [("chan/with#odd?chars", 1)], "task\\id/1")
        found = saver.get_tuple(stored)
        assert found is not None and found.checkpoint["channel_values"]["big"] == b"\x00" * 10
        assert found.pending_writes == [("task\\id/1", "chan/with#odd?chars", 1)]
    ids = [i["id"] for i in _log_items(cosmos_client, cosmos_db_name)]
    assert ids and all(not set(i) & set("/\\?#") and len(i) <= 255 for i in ids)


def test_delete_thread_without_delete_by_partition_key(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client: CosmosClient,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    keep, drop = str(uuid.uuid4()), str(uuid.uuid4())
    with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as saver:
        graph = chat_graph(saver)
        _turns(graph, keep, 2)
        _turns(graph, drop, 12)
        saver.delete_thread(drop)
        store = saver.store
        assert isinstance(store, CosmosStore)
        if store.state.partition_delete is False:  # the emulator has no such route
            assert graph.get_state(config(drop)).values == {}
        assert len(graph.get_state(config(keep)).values["messages"]) == 4
    threads = {i["thread_id"] for i in _log_items(cosmos_client, cosmos_db_name)}
    assert drop not in threads and keep in threads


def test_expiry_is_off_by_default_and_sweeps_whole_sessions_when_on(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client: CosmosClient,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    old, young = str(uuid.uuid4()), str(uuid.uuid4())
    with open_saver(cosmos_endpoint, cosmos_client_kwargs, cosmos_db_name) as saver:
        _turns(chat_graph(saver), old, 2)
        store = saver.store
        assert isinstance(store, CosmosStore)
        assert store.expire(store.state.clock() + 10**9) == 0  # off: nothing ever expires
    ttl_db = f"{cosmos_db_name}-ttl"
    try:
        with open_saver(cosmos_endpoint, cosmos_client_kwargs, ttl_db, expire_after=60) as saver:
            store = saver.store
            assert isinstance(store, CosmosStore)
            sessions = cosmos_client.get_database_client(ttl_db).get_container_client("sessions")
            assert sessions.read()["defaultTtl"] == 60  # where the service has TTL, it applies
            graph = chat_graph(saver)
            _turns(graph, old, 2)
            _turns(graph, young, 1)
            assert store.expire() == 0
            # Sweep at a time `old` is past its limit and `young` is not.
            saved = pdoc.parse_iso_ms(json.loads(json.dumps(saver.get_session(old)))["saveOn"])
            assert saved is not None
            assert store.expire(saved.timestamp() + 61) == 1
            assert graph.get_state(config(old)).values == {}
            assert len(graph.get_state(config(young)).values["messages"]) == 2
            assert old not in {i["thread_id"] for i in _log_items(cosmos_client, ttl_db)}
            # Reading an expired session removes it too (the emulator never applies TTL).
            now = store.state.clock()
            store.state.clock = lambda: now + 3600
            assert saver.get_tuple(config(young)) is None
            assert not [i for i in _log_items(cosmos_client, ttl_db) if i["thread_id"] == young]
    finally:
        cosmos_client.delete_database(ttl_db)


def test_store_on_an_existing_client(cosmos_client: CosmosClient, cosmos_db_name: str) -> None:
    store = CosmosStore(cosmos_client, CosmosConfig(database=cosmos_db_name, container="chats"))
    saver = PicoflowSaver(store, session=SessionConfig(mongo_id=False))
    saver.setup()
    thread = str(uuid.uuid4())
    _turns(chat_graph(saver), thread, 2)
    assert len(chat_graph(saver).get_state(config(thread)).values["messages"]) == 4
    names = {c["id"] for c in cosmos_client.get_database_client(cosmos_db_name).list_containers()}
    assert names == {"chats", "chats-checkpoints"}


def test_entra_id_credential_when_the_connection_string_has_no_key(
    monkeypatch: pytest.MonkeyPatch,
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    if endpoint_from_env() is not None:
        pytest.skip("needs the local emulator (it accepts any token)")
    import azure.identity
    from azure.core.credentials import AccessToken, AccessTokenInfo

    tokens: list[tuple[str, ...]] = []

    class Credential:  # what DefaultAzureCredential gives when Entra ID is configured
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            tokens.append(scopes)
            return AccessToken("header.payload.signature", 2**40)

        def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
            tokens.append(scopes)
            return AccessTokenInfo("header.payload.signature", 2**40)

        def close(self) -> None:
            pass

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", Credential)
    conn = f"AccountEndpoint={cosmos_endpoint.url};"
    with open_cosmos(conn, database=cosmos_db_name, **cosmos_client_kwargs) as (store, session):
        assert session.mongo_id is False  # Picoflow on Cosmos has no _id
        store.setup()
        saver = PicoflowSaver(store, session=session)
        _turns(chat_graph(saver), str(uuid.uuid4()), 1)
    assert tokens and all(s[0].endswith("/.default") for s in tokens)
