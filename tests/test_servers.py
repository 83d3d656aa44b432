"""Smoke tests: the test-server fixtures work with the real pymongo and azure-cosmos clients."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.cosmos import CosmosClient, PartitionKey
from azure.cosmos.aio import CosmosClient as AsyncCosmosClient
from azure.cosmos.exceptions import CosmosResourceNotFoundError
from pymongo import AsyncMongoClient, MongoClient, WriteConcern

from tests.servers._process import ServerStartError
from tests.servers.cosmos import CosmosEmulator, CosmosEndpoint
from tests.servers.plugin import SecantusProcessFactory

Doc = dict[str, Any]


def _report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """Print a measurement even when pytest captures output."""
    with capsys.disabled():
        print(f"\n[servers] {line}")


# -- MongoDB (SecantusDB) ---------------------------------------------------------------------


def test_mongo_sync_insert_find(mongo_client: MongoClient[Doc], mongo_db_name: str) -> None:
    coll = mongo_client[mongo_db_name]["items"]
    coll.insert_many([{"_id": i, "v": i * i} for i in range(5)])
    assert coll.find_one({"_id": 3}) == {"_id": 3, "v": 9}
    assert [d["_id"] for d in coll.find({"v": {"$gte": 4}}).sort("_id", -1)] == [4, 3, 2]


async def test_mongo_async_insert_find(mongo_uri: str, mongo_db_name: str) -> None:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_uri)
    try:
        coll = client[mongo_db_name]["items"]
        await coll.insert_one({"_id": "a", "payload": b"\x00\x01"})
        doc = await coll.find_one({"_id": "a"})
        assert doc == {"_id": "a", "payload": b"\x00\x01"}
        assert [d async for d in coll.find({}, {"_id": 1})] == [{"_id": "a"}]
    finally:
        await client.close()


def test_mongo_transaction_commit_and_abort(
    mongo_client: MongoClient[Doc], mongo_db_name: str
) -> None:
    coll = mongo_client[mongo_db_name]["txn"]
    coll.insert_one({"_id": "seed"})  # create the collection outside the transaction
    with mongo_client.start_session() as session:
        with session.start_transaction():
            coll.insert_one({"_id": "committed"}, session=session)
            assert coll.find_one({"_id": "committed"}) is None  # invisible outside the txn
        assert coll.find_one({"_id": "committed"}) == {"_id": "committed"}
        with session.start_transaction():
            coll.insert_one({"_id": "aborted"}, session=session)
            session.abort_transaction()
    assert coll.find_one({"_id": "aborted"}) is None


def test_mongo_ttl_sweeps_within_seconds(
    mongo_client: MongoClient[Doc], mongo_db_name: str
) -> None:
    """The in-process server sweeps TTL indexes every second (mongod: every 60 s)."""
    if os.environ.get("MONGODB_URI"):
        pytest.skip("external MONGODB_URI: its TTL monitor interval is unknown")
    coll = mongo_client[mongo_db_name]["ttl"]
    coll.create_index("at", expireAfterSeconds=0)
    coll.insert_one({"_id": 1, "at": datetime.now(timezone.utc)})
    deadline = time.monotonic() + 15
    while coll.count_documents({}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert coll.count_documents({}) == 0


def test_secantus_process_kill_and_restart_keeps_journaled_writes(
    secantus_process: SecantusProcessFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = secantus_process()
    first_start = proc.startup_seconds
    with MongoClient[Doc](proc.uri, serverSelectionTimeoutMS=10_000) as client:
        coll = client["durable"].get_collection("docs", write_concern=WriteConcern(j=True))
        coll.insert_many([{"_id": i, "v": "x" * 100} for i in range(50)])
        coll.update_one({"_id": 7}, {"$set": {"v": "updated"}})
        coll.delete_one({"_id": 8})
    old_pid, port = proc.pid, proc.port

    proc.kill()  # SIGKILL: no checkpoint, no clean WiredTiger close
    assert not proc.running
    proc.restart()
    assert proc.pid != old_pid
    assert proc.port == port

    with MongoClient[Doc](proc.uri, serverSelectionTimeoutMS=10_000) as client:
        coll = client["durable"]["docs"]
        assert coll.count_documents({}) == 49
        assert coll.find_one({"_id": 7}) == {"_id": 7, "v": "updated"}
        assert coll.find_one({"_id": 8}) is None
    _report(
        capsys,
        f"SecantusDB child process: start {first_start:.2f}s, "
        f"restart after SIGKILL (WiredTiger recovery) {proc.startup_seconds:.2f}s",
    )


def test_secantus_process_reports_failed_start(
    secantus_process: SecantusProcessFactory, tmp_path: Path
) -> None:
    """A second server on a locked storage path fails fast with the child's output."""
    secantus_process(tmp_path / "shared")
    with pytest.raises(ServerStartError, match="did not report LISTENING"):
        secantus_process(tmp_path / "shared", startup_timeout=30)


# -- Cosmos DB (@vercel/cosmosdb-server via launch.js) ----------------------------------------


def _sync_client(endpoint: CosmosEndpoint, kwargs: dict[str, Any]) -> CosmosClient:
    return CosmosClient(endpoint.url, credential=endpoint.key, **kwargs)


def test_cosmos_sync_crud_404_batch_patch(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    with _sync_client(cosmos_endpoint, cosmos_client_kwargs) as client:
        db = client.create_database(cosmos_db_name)
        container = db.create_container(id="items", partition_key=PartitionKey(path="/id"))

        created = container.create_item({"id": "a", "n": 1})
        assert created["_etag"]
        assert container.read_item("a", partition_key="a")["n"] == 1

        # launch.js fix 1: a missing item is a 404, not a 500.
        with pytest.raises(CosmosResourceNotFoundError):
            container.read_item("missing", partition_key="missing")

        # launch.js fix 2: the Python SDK sends the batch partition key only as a header.
        results = container.execute_item_batch(
            [
                ("create", ({"id": "b", "n": 1},)),
                ("replace", ("b", {"id": "b", "n": 2})),
                ("read", ("b",)),
                ("upsert", ({"id": "b", "n": 3},)),
            ],
            partition_key="b",
        )
        assert [r["statusCode"] for r in results] == [201, 200, 200, 200]
        assert results[2]["resourceBody"]["n"] == 2
        assert container.read_item("b", partition_key="b")["n"] == 3
        deleted = container.execute_item_batch([("delete", ("b",))], partition_key="b")
        assert [r["statusCode"] for r in deleted] == [204]
        with pytest.raises(CosmosResourceNotFoundError):
            container.read_item("b", partition_key="b")

        patched = container.patch_item(
            "a",
            partition_key="a",
            patch_operations=[
                {"op": "incr", "path": "/n", "value": 41},
                {"op": "add", "path": "/tags", "value": ["x"]},
                {"op": "add", "path": "/tags/-", "value": "y"},
            ],
        )
        assert patched["n"] == 42
        assert patched["tags"] == ["x", "y"]


async def test_cosmos_async_crud(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
) -> None:
    async with AsyncCosmosClient(
        cosmos_endpoint.url, credential=cosmos_endpoint.key, **cosmos_client_kwargs
    ) as client:
        db = await client.create_database(cosmos_db_name)
        container = await db.create_container(id="items", partition_key=PartitionKey(path="/id"))
        await container.create_item({"id": "x", "payload": {"k": [1, 2]}})
        item = await container.read_item("x", partition_key="x")
        assert item["payload"] == {"k": [1, 2]}
        with pytest.raises(CosmosResourceNotFoundError):
            await container.read_item("missing", partition_key="missing")
        await container.upsert_item({"id": "x", "payload": None})
        assert (await container.read_item("x", partition_key="x"))["payload"] is None


def test_cosmos_keep_alive_point_reads(
    cosmos_endpoint: CosmosEndpoint,
    cosmos_client_kwargs: dict[str, Any],
    cosmos_db_name: str,
    cosmos_emulator: CosmosEmulator | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """200 point reads over reused connections (the stock CLI manages ~40/s with close)."""
    reads = 200
    with _sync_client(cosmos_endpoint, cosmos_client_kwargs) as client:
        container = client.create_database(cosmos_db_name).create_container(
            id="items", partition_key=PartitionKey(path="/id")
        )
        container.create_item({"id": "hot", "blob": uuid.uuid4().hex * 16})
        started = time.perf_counter()
        for _ in range(reads):
            container.read_item("hot", partition_key="hot")
        elapsed = time.perf_counter() - started
        headers = container.client_connection.last_response_headers
    if cosmos_emulator is not None:
        assert headers.get("connection", "").lower() == "keep-alive"
    startup = f"emulator start {cosmos_emulator.startup_seconds:.2f}s, " if cosmos_emulator else ""
    _report(
        capsys,
        f"Cosmos: {startup}{reads} point reads in {elapsed:.2f}s = {reads / elapsed:.0f} reads/s",
    )
    assert elapsed < 10


def test_cosmos_emulator_stops_cleanly() -> None:
    """An extra emulator instance starts, serves and leaves no process behind."""
    emulator = CosmosEmulator()
    try:
        assert emulator.running
        with CosmosClient(
            emulator.url,
            credential=emulator.endpoint.key,
            connection_verify=False,
            enable_endpoint_discovery=False,
        ) as client:
            assert list(client.list_databases()) == []
    finally:
        emulator.stop()
    assert not emulator.running
