"""Child-process plumbing shared by the test servers.

A server child announces readiness by printing one line ``LISTENING <port>`` on stdout after its
socket accepts connections. Reading the port from the child (instead of picking a "free" port in
the parent) avoids the race where another process grabs the port in between.

Every child is started with a pipe on its stdin and is expected to exit when that pipe reaches
EOF. The parent never writes to it; the kernel closes it when the parent dies for any reason
(even SIGKILL), so a crashed test run leaves no server behind.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

_READY_LINE = re.compile(rb"^LISTENING (\d+)\s*$")
_OUTPUT_TAIL_LINES = 200

#: Children still running, stopped at interpreter exit as a last resort (the fixtures stop them
#: earlier; this covers helpers used outside fixtures and interrupted sessions).
_LIVE: set[ServerProcess] = set()
_LIVE_LOCK = threading.Lock()


class ServerStartError(RuntimeError):
    """A server child exited or stayed silent before printing its ``LISTENING`` line."""


class ServerProcess:
    """A server child process that reports its port with a ``LISTENING <port>`` line.

    The constructor starts the child and blocks until it is ready (or raises
    :class:`ServerStartError` with the tail of its output). stdout and stderr are merged and
    drained continuously by a daemon thread, so a chatty child never blocks on a full pipe.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self._output: collections.deque[str] = collections.deque(maxlen=_OUTPUT_TAIL_LINES)
        self._ready = threading.Event()
        self._port: int | None = None
        started = time.monotonic()
        self._popen = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own session: a Ctrl-C aimed at pytest must not kill servers behind the fixtures'
            # back (teardown stops them in order); parent death is handled by the stdin EOF.
            start_new_session=True,
        )
        with _LIVE_LOCK:
            _LIVE.add(self)
        self._reader = threading.Thread(target=self._drain, name=f"{name}-output", daemon=True)
        self._reader.start()
        try:
            self._wait_ready(startup_timeout)
        except BaseException:
            self.kill()
            raise
        #: Seconds from spawning the child to its ``LISTENING`` line.
        self.startup_seconds = time.monotonic() - started

    # -- public API ----------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        """OS process id of the child."""
        return self._popen.pid

    @property
    def port(self) -> int:
        """TCP port the child listens on (as it reported)."""
        assert self._port is not None
        return self._port

    @property
    def running(self) -> bool:
        """Whether the child has not exited yet."""
        return self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """Exit status once the child has exited (negative signal number if killed)."""
        return self._popen.poll()

    def output_tail(self) -> str:
        """The last lines the child wrote (stdout and stderr merged), for diagnostics."""
        return "".join(self._output)

    def kill(self) -> None:
        """SIGKILL the child (no cleanup on its side) and reap it."""
        if self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._popen.send_signal(signal.SIGKILL)
        self._popen.wait()
        self._close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child gracefully (SIGTERM), escalating to SIGKILL after ``timeout`` s."""
        if self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._popen.send_signal(signal.SIGTERM)
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._popen.wait()
        self._close()

    # -- internals -----------------------------------------------------------------------------

    def _drain(self) -> None:
        stream = self._popen.stdout
        assert stream is not None
        for raw in iter(stream.readline, b""):
            self._output.append(raw.decode("utf-8", "replace"))
            if self._port is None:
                match = _READY_LINE.match(raw)
                if match:
                    self._port = int(match.group(1))
                    self._ready.set()
        self._ready.set()  # EOF: wake the starter, which then sees no port

    def _wait_ready(self, timeout: float) -> None:
        self._ready.wait(timeout)
        if self._port is not None:
            return
        state = "timed out" if self.running else f"exited with {self._popen.poll()}"
        raise ServerStartError(
            f"{self.name} did not report LISTENING ({state} after {timeout:.0f}s limit)\n"
            f"command: {' '.join(self.argv)}\n--- output tail ---\n{self.output_tail()}"
        )

    def _close(self) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(self)
        # The reader ends at EOF, which follows the child's exit; join before closing stdout so
        # the two threads never race on the same file object.
        if self._popen.stdin is not None:
            with contextlib.suppress(OSError):
                self._popen.stdin.close()
        self._reader.join(timeout=5)
        if self._popen.stdout is not None and not self._reader.is_alive():
            self._popen.stdout.close()


@atexit.register
def _stop_leftovers() -> None:
    with _LIVE_LOCK:
        leftovers = list(_LIVE)
    for proc in leftovers:
        with contextlib.suppress(Exception):
            proc.stop(timeout=5)


def repo_root() -> Path:
    """The repository root (``tests/servers/`` is two levels below it)."""
    return Path(__file__).resolve().parents[2]
