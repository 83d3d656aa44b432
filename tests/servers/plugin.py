"""pytest plugin: real MongoDB-compatible and Cosmos DB servers as fixtures.

Load it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.servers.plugin"]``.

Servers start lazily, once per test process (so once per pytest-xdist worker), the first time a
test asks for them, and stop at the end of the session. Point the suite at external servers
instead with ``MONGODB_URI`` and ``COSMOS_ENDPOINT`` + ``COSMOS_KEY``.

Fixtures:

* ``mongo_uri`` (session) -> ``str``
* ``mongo_client`` (session) -> ``pymongo.MongoClient``
* ``mongo_db_name`` (function) -> ``str``: fresh database name, dropped after the test
* ``secantus_process`` (function) -> factory ``(storage_path=None, port=0, **kw)`` ->
  :class:`~tests.servers.mongo.SecantusProcess`; every process it started is stopped after the
  test
* ``cosmos_emulator`` (session) -> :class:`~tests.servers.cosmos.CosmosEmulator` or ``None``
  when an external endpoint is configured
* ``cosmos_endpoint`` (session) -> :class:`~tests.servers.cosmos.CosmosEndpoint` ``(url, key)``
* ``cosmos_client_kwargs`` (function) -> ``dict`` of extra ``CosmosClient`` keyword arguments
* ``cosmos_client`` (session) -> ``azure.cosmos.CosmosClient``
* ``cosmos_db_name`` (function) -> ``str``: fresh database id, deleted after the test
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from tests.servers.cosmos import (
    CosmosEmulator,
    CosmosEndpoint,
    client_kwargs,
    endpoint_from_env,
)
from tests.servers.mongo import (
    SecantusProcess,
    secantus_in_process,
    start_secantus_process,
    unique_db_name,
)

if TYPE_CHECKING:
    from azure.cosmos import CosmosClient
    from pymongo import MongoClient

log = logging.getLogger(__name__)


def pytest_configure(config: pytest.Config) -> None:
    """Silence urllib3's per-request warning about the emulator's unverified certificate."""
    # Verification is off only for loopback test servers (see cosmos.client_kwargs).
    config.addinivalue_line("filterwarnings", "ignore::urllib3.exceptions.InsecureRequestWarning")


# -- MongoDB ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URI of a MongoDB-compatible server: ``$MONGODB_URI``, else an in-process SecantusDB."""
    external = os.environ.get("MONGODB_URI")
    if external:
        yield external
        return
    with secantus_in_process(tmp_path_factory.mktemp("secantus")) as server:
        yield server.uri


@pytest.fixture(scope="session")
def mongo_client(mongo_uri: str) -> Iterator[MongoClient[dict[str, Any]]]:
    """A shared synchronous ``MongoClient`` on ``mongo_uri``."""
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def mongo_db_name(
    request: pytest.FixtureRequest, mongo_client: MongoClient[dict[str, Any]]
) -> Iterator[str]:
    """A database name unique to this test; the database is dropped afterwards."""
    from pymongo.errors import PyMongoError

    name = unique_db_name(request.node.name)
    yield name
    try:
        mongo_client.drop_database(name)
    except PyMongoError as exc:  # cleanup only: never mask the test's own outcome
        log.warning("could not drop test database %s: %s", name, exc)


class SecantusProcessFactory(Protocol):
    """Signature of the ``secantus_process`` fixture."""

    def __call__(
        self,
        storage_path: str | os.PathLike[str] | None = None,
        port: int = 0,
        *,
        ttl_sweep_seconds: float = 1.0,
        startup_timeout: float = 60.0,
    ) -> SecantusProcess: ...


@pytest.fixture
def secantus_process(tmp_path: Path) -> Iterator[SecantusProcessFactory]:
    """Start SecantusDB child processes (default storage: a fresh dir under ``tmp_path``).

    Each returned :class:`SecantusProcess` can be ``kill()``-ed and ``restart()``-ed on its
    storage path; whatever is still running after the test is stopped.
    """
    started: list[SecantusProcess] = []

    def start(
        storage_path: str | os.PathLike[str] | None = None,
        port: int = 0,
        *,
        ttl_sweep_seconds: float = 1.0,
        startup_timeout: float = 60.0,
    ) -> SecantusProcess:
        path = storage_path if storage_path is not None else tmp_path / f"secantus{len(started)}"
        proc = start_secantus_process(
            path, port, ttl_sweep_seconds=ttl_sweep_seconds, startup_timeout=startup_timeout
        )
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()


# -- Cosmos DB --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cosmos_emulator() -> Iterator[CosmosEmulator | None]:
    """The local Cosmos test server, or ``None`` when ``COSMOS_ENDPOINT``/``COSMOS_KEY`` are set."""
    if endpoint_from_env() is not None:
        yield None
        return
    emulator = CosmosEmulator()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def cosmos_endpoint(cosmos_emulator: CosmosEmulator | None) -> CosmosEndpoint:
    """``(url, key)`` of the Cosmos account under test (external or the local emulator)."""
    if cosmos_emulator is not None:
        return cosmos_emulator.endpoint
    external = endpoint_from_env()
    assert external is not None
    return external


@pytest.fixture
def cosmos_client_kwargs(cosmos_endpoint: CosmosEndpoint) -> dict[str, Any]:
    """Extra keyword arguments for sync and async ``CosmosClient`` (a fresh dict per test)."""
    return client_kwargs(cosmos_endpoint.url)


@pytest.fixture(scope="session")
def cosmos_client(cosmos_endpoint: CosmosEndpoint) -> Iterator[CosmosClient]:
    """A shared synchronous ``CosmosClient`` on the account under test."""
    from azure.cosmos import CosmosClient

    with CosmosClient(
        cosmos_endpoint.url, credential=cosmos_endpoint.key, **client_kwargs(cosmos_endpoint.url)
    ) as client:
        yield client


@pytest.fixture
def cosmos_db_name(request: pytest.FixtureRequest, cosmos_client: CosmosClient) -> Iterator[str]:
    """A database id unique to this test; the database is deleted afterwards if it exists."""
    from azure.cosmos.exceptions import CosmosHttpResponseError, CosmosResourceNotFoundError

    name = unique_db_name(request.node.name)
    yield name
    try:
        cosmos_client.delete_database(name)
    except CosmosResourceNotFoundError:
        pass  # the test never created it
    except CosmosHttpResponseError as exc:  # cleanup only: never mask the test's own outcome
        log.warning("could not delete test database %s: %s", name, exc)
