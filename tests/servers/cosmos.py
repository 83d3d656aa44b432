"""Cosmos DB (NoSQL API) test server: ``@vercel/cosmosdb-server`` behind ``launch.js``.

The launcher lives in ``tests/cosmos_emulator/`` (see the comments there for the keep-alive and
the two bug fixes it applies). It serves HTTPS on ``127.0.0.1`` with a self-signed certificate,
keeps all state in memory and accepts any account key.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from tests.servers._process import ServerProcess, repo_root

#: The publicly documented key of the Azure Cosmos DB emulator. The test server ignores it, but
#: the SDK needs a well-formed base64 key to sign requests.
EMULATOR_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class CosmosEndpoint(NamedTuple):
    """Where a Cosmos DB account answers: unpacks as ``(url, key)``."""

    url: str
    key: str


def emulator_dir() -> Path:
    """``tests/cosmos_emulator``: package.json, package-lock.json and launch.js."""
    return repo_root() / "tests" / "cosmos_emulator"


def _installed(directory: Path) -> bool:
    # npm writes node_modules/.package-lock.json last, so it tells a finished install from an
    # interrupted one.
    modules = directory / "node_modules"
    return (modules / ".package-lock.json").is_file() and (
        modules / "@vercel" / "cosmosdb-server" / "package.json"
    ).is_file()


@contextmanager
def _install_lock(directory: Path) -> Iterator[None]:
    """Serialise ``npm ci`` between concurrent test processes (e.g. pytest-xdist workers)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no concurrent-install protection
        yield
        return
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"picoflow-cosmos-npm-{digest}.lock"
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def ensure_node_modules(directory: Path | None = None, *, timeout: float = 600.0) -> None:
    """Install the emulator's pinned npm dependencies from the lock file if they are missing."""
    directory = directory or emulator_dir()
    if _installed(directory):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is needed to install the Cosmos test server (tests/cosmos_emulator); "
            "install Node.js >= 20, or set COSMOS_ENDPOINT and COSMOS_KEY"
        )
    with _install_lock(directory):
        if _installed(directory):  # another process finished it while we waited
            return
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"`npm ci` in {directory} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )


class CosmosEmulator:
    """The launcher running as a child ``node`` process (no npx: killing npx orphans node)."""

    def __init__(self, *, port: int = 0, startup_timeout: float = 60.0) -> None:
        directory = emulator_dir()
        ensure_node_modules(directory)
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is needed to run the Cosmos test server (Node.js >= 20)")
        self._proc = ServerProcess(
            [node, "launch.js", "--port", str(port), "--exit-on-stdin-close"],
            name="cosmos-emulator",
            cwd=directory,
            startup_timeout=startup_timeout,
        )

    @property
    def url(self) -> str:
        """Account endpoint, e.g. ``https://127.0.0.1:43121/``."""
        return f"https://127.0.0.1:{self._proc.port}/"

    @property
    def endpoint(self) -> CosmosEndpoint:
        """``(url, key)`` for ``CosmosClient(url, credential=key, ...)``."""
        return CosmosEndpoint(self.url, EMULATOR_KEY)

    @property
    def pid(self) -> int:
        """OS process id of the node process."""
        return self._proc.pid

    @property
    def running(self) -> bool:
        """Whether the node process is still alive."""
        return self._proc.running

    @property
    def startup_seconds(self) -> float:
        """Seconds from spawning node to its ``LISTENING`` line."""
        return self._proc.startup_seconds

    def output_tail(self) -> str:
        """Recent server output (it logs a stack trace for every 500 it answers)."""
        return self._proc.output_tail()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it hangs)."""
        self._proc.stop()


def endpoint_from_env() -> CosmosEndpoint | None:
    """``COSMOS_ENDPOINT`` + ``COSMOS_KEY`` when both are set (an external account/emulator)."""
    url = os.environ.get("COSMOS_ENDPOINT")
    key = os.environ.get("COSMOS_KEY")
    if url and key:
        return CosmosEndpoint(url, key)
    return None


def is_emulator(url: str) -> bool:
    """Whether ``url`` is a local test server rather than a real Azure account.

    ``COSMOS_EMULATOR=1``/``0`` overrides the guess, which is "the host is loopback".
    """
    forced = os.environ.get("COSMOS_EMULATOR")
    if forced is not None and forced.strip() != "":
        return forced.strip().lower() in {"1", "true", "yes", "on"}
    return (urlsplit(url).hostname or "") in _LOCAL_HOSTS


def client_kwargs(url: str) -> dict[str, Any]:
    """Extra ``CosmosClient`` keyword arguments suited to the account at ``url``.

    For a local server: no TLS verification (its certificate is self-signed, and the bundled
    one expired in 2021) and no endpoint discovery (the SDK would otherwise switch to the
    region endpoints the account advertises instead of the URL we gave it). A real account
    needs neither, so it gets none.
    """
    if is_emulator(url):
        return {"connection_verify": False, "enable_endpoint_discovery": False}
    return {}
