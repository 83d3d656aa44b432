"""MongoDB-compatible test server: SecantusDB (MongoDB wire protocol over WiredTiger).

Two ways to run it:

* :func:`secantus_in_process` runs the server on threads of the test process. It is the cheapest
  option and the default behind the ``mongo_uri`` fixture.
* :func:`start_secantus_process` runs it in a separate Python process on a given storage path,
  so a test can SIGKILL it and start it again on the same files (crash-durability tests).

This file doubles as the child's entry point: ``python mongo.py --storage-path DIR [--port N]``
prints ``LISTENING <port>`` when it accepts connections and runs until SIGTERM or stdin EOF.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from secantus import SecantusDBServer

    from tests.servers._process import ServerProcess

#: Database-name budget: MongoDB allows 63 bytes; keep room for suffixes a test might add.
_DB_NAME_MAX = 48


@contextmanager
def secantus_in_process(
    storage_path: str | os.PathLike[str], *, ttl_sweep_seconds: float = 1.0
) -> Iterator[SecantusDBServer]:
    """Run SecantusDB on threads of this process, bound to ``127.0.0.1`` on a free port.

    ``ttl_sweep_seconds=1`` makes TTL indexes expire documents within about a second (mongod
    sweeps every 60 s). Connect with the yielded server's ``.uri``.
    """
    from secantus import SecantusDBServer

    server = SecantusDBServer(
        host="127.0.0.1",
        port=0,
        storage_path=os.fspath(storage_path),
        ttl_sweep_seconds=ttl_sweep_seconds,
    )
    try:
        server.start()
        yield server
    finally:
        stop_promptly(server)  # also closes WiredTiger if start() failed


def stop_promptly(server: SecantusDBServer) -> None:
    """``server.stop()`` without its 2 s wait for the accept thread.

    ``stop()`` closes the listening socket, but on Linux that does not wake a thread blocked in
    ``accept()``, so it waits out a 2 s join timeout. Shutting the socket down first makes
    ``accept()`` fail at once and the accept thread exit.
    """
    sock = getattr(server, "_socket", None)  # private, hence the defensive access
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    server.stop()


class SecantusProcess:
    """A SecantusDB server running in a child process on a fixed storage path.

    The storage path outlives the process: :meth:`kill` it (SIGKILL, no shutdown checkpoint)
    and :meth:`restart` it to test what survives a crash. Usable as a context manager, which
    stops the server on exit.
    """

    def __init__(
        self,
        storage_path: str | os.PathLike[str],
        *,
        port: int = 0,
        ttl_sweep_seconds: float = 1.0,
        startup_timeout: float = 60.0,
    ) -> None:
        self.storage_path = Path(storage_path)
        self.ttl_sweep_seconds = ttl_sweep_seconds
        self.startup_timeout = startup_timeout
        self._proc = self._spawn(port)

    def _spawn(self, port: int) -> ServerProcess:
        from tests.servers._process import ServerProcess

        self.storage_path.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--storage-path",
            str(self.storage_path),
            "--port",
            str(port),
            "--ttl-sweep-seconds",
            str(self.ttl_sweep_seconds),
        ]
        return ServerProcess(argv, name="secantusdb", startup_timeout=self.startup_timeout)

    @property
    def port(self) -> int:
        """TCP port of the current child."""
        return self._proc.port

    @property
    def uri(self) -> str:
        """Connection string of the current child (same format as ``SecantusDBServer.uri``)."""
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        """OS process id of the current child."""
        return self._proc.pid

    @property
    def running(self) -> bool:
        """Whether the current child is still alive."""
        return self._proc.running

    @property
    def startup_seconds(self) -> float:
        """Seconds the current child took from spawn to accepting connections."""
        return self._proc.startup_seconds

    def output_tail(self) -> str:
        """Recent output of the current child, for assertion messages."""
        return self._proc.output_tail()

    def kill(self) -> None:
        """SIGKILL the server: no checkpoint, no clean close; only journaled data must survive."""
        self._proc.kill()

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM: checkpoint and close WiredTiger)."""
        self._proc.stop()

    def restart(self, *, same_port: bool = True) -> None:
        """Start a new child on the same storage path after :meth:`kill` or :meth:`stop`.

        With ``same_port`` the new child binds the previous port, so existing clients and URIs
        keep working; pass ``False`` to take any free port instead.
        """
        if self._proc.running:
            raise RuntimeError("SecantusDB child is still running; kill() or stop() it first")
        self._proc = self._spawn(self._proc.port if same_port else 0)

    def __enter__(self) -> SecantusProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_secantus_process(
    storage_path: str | os.PathLike[str],
    port: int = 0,
    *,
    ttl_sweep_seconds: float = 1.0,
    startup_timeout: float = 60.0,
) -> SecantusProcess:
    """Start SecantusDB in a child process on ``storage_path`` and wait until it is ready.

    ``port=0`` lets the child pick a free port; the child reports the one it bound. The caller
    owns the result and must :meth:`~SecantusProcess.stop` it (or use it as a context manager,
    or the ``secantus_process`` fixture, which does that for you).
    """
    return SecantusProcess(
        storage_path,
        port=port,
        ttl_sweep_seconds=ttl_sweep_seconds,
        startup_timeout=startup_timeout,
    )


def unique_db_name(hint: str = "") -> str:
    """A fresh database name, readable in server logs: ``t_<hint>_<random>``."""
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", hint).strip("_")
    suffix = uuid.uuid4().hex[:10]
    head = f"t_{cleaned}"[: _DB_NAME_MAX - len(suffix) - 1]
    return f"{head}_{suffix}"


# -- child entry point ------------------------------------------------------------------------


def _child_main(argv: Sequence[str]) -> int:
    """Serve until SIGTERM or until the parent closes (or loses) our stdin."""
    parser = argparse.ArgumentParser(description="SecantusDB test-server child")
    parser.add_argument("--storage-path", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttl-sweep-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)

    from secantus import SecantusDBServer

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    server = SecantusDBServer(
        host="127.0.0.1",
        port=args.port,
        storage_path=args.storage_path,
        ttl_sweep_seconds=args.ttl_sweep_seconds,
        # Explicit, so SECANTUS_TEST_FAST_STORAGE=1 in the environment cannot turn off the
        # journal sync + checkpoints that the crash tests are about.
        durable=True,
    )
    try:
        server.start()
        print(f"LISTENING {server.port}", flush=True)
        sys.stdin.buffer.read()  # returns at EOF; SIGTERM interrupts it via SystemExit
    finally:
        stop_promptly(server)
    return 0


if __name__ == "__main__":
    # Run as a script, Python put this directory first on sys.path; drop it so sibling modules
    # (cosmos.py, plugin.py) can never shadow a top-level import of the server.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]
    raise SystemExit(_child_main(sys.argv[1:]))
