"""A TCP proxy on 127.0.0.1 that breaks connections mid-request, on purpose.

Clients connect to the proxy instead of the server; bytes are forwarded unchanged (TLS
included), so the driver sees exactly what a flaky network would show it. A fault is
*armed* to fire on the n-th client-to-server chunk from now (a chunk is one ``recv``;
drivers send a request in one write, so it is close to "the n-th request"):

* ``DROP_REQUEST``: the request never reaches the server; both sides get a reset.
* ``DROP_RESPONSE``: the server gets the request and executes it; its answer never
  arrives (the client cannot tell whether the write happened).
* ``CUT_RESPONSE``: half of the first answer chunk arrives, then a reset.
* ``DELAY``: the request waits ``delay`` seconds, then goes through.
* ``STALL``: the request goes through and the answer is held back until the client
  gives up (its socket timeout) and closes the connection.

A ``hook`` (e.g. SIGKILL the server) can run right after the n-th request is forwarded,
which puts a server crash at a chosen point of a client's write path.
"""

from __future__ import annotations

import contextlib
import enum
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

_CHUNK = 65536


class Fault(enum.Enum):
    """What happens to the connection when an armed fault fires."""

    DROP_REQUEST = "drop-request"
    DROP_RESPONSE = "drop-response"
    CUT_RESPONSE = "cut-response"
    DELAY = "delay"
    STALL = "stall"


#: Faults that let the request through and break the answer.
_RESPONSE_FAULTS = (Fault.DROP_RESPONSE, Fault.CUT_RESPONSE, Fault.STALL)


@dataclass
class _Armed:
    fault: Fault | None
    countdown: int
    delay: float
    hook: Callable[[], None] | None


class _Link:
    """One proxied connection: a client socket, a server socket, two pump threads."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.response_fault: Fault | None = None
        self.closed = threading.Event()
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Abort both sides with a TCP reset (linger 0), waking any blocked ``recv``."""
        with self._lock:
            if self.closed.is_set():
                return
            self.closed.set()
            for sock in (self.client, self.server):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


class FaultProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream`` and inject armed faults."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._armed: _Armed | None = None
        self._links: set[_Link] = set()
        self._fired = threading.Event()
        #: Faults that fired so far.
        self.fired = 0
        #: Client-to-server chunks forwarded so far.
        self.requests = 0
        self._closing = False
        self._acceptor = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._acceptor.start()

    @property
    def port(self) -> int:
        """The port clients connect to."""
        return int(self._listener.getsockname()[1])

    def arm(
        self,
        fault: Fault | None,
        *,
        after: int = 0,
        delay: float = 0.0,
        hook: Callable[[], None] | None = None,
    ) -> None:
        """Fire ``fault`` (and/or ``hook``) on the ``after + 1``-th request from now."""
        with self._lock:
            self._armed = _Armed(fault, after, delay, hook)
            self._fired.clear()

    def disarm(self) -> None:
        """Forget an armed fault that has not fired."""
        with self._lock:
            self._armed = None

    def wait_fired(self, timeout: float) -> bool:
        """Wait until the armed fault has fired; ``False`` on timeout."""
        return self._fired.wait(timeout)

    def reset_all(self) -> None:
        """Reset every open connection (a network partition of one instant)."""
        with self._lock:
            links = list(self._links)
        for link in links:
            link.reset()

    def close(self) -> None:
        """Stop accepting and reset every connection."""
        self._closing = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self.reset_all()
        self._acceptor.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                # The server is down (killed): the client sees a reset, as it would.
                _Link(client, socket.socket()).reset()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, server)
            with self._lock:
                self._links.add(link)
            for pump in (self._requests, self._responses):
                threading.Thread(target=pump, args=(link,), daemon=True).start()

    def _next(self) -> _Armed | None:
        """Count one request; return the armed fault if this request fires it."""
        with self._lock:
            self.requests += 1
            armed = self._armed
            if armed is None:
                return None
            if armed.countdown > 0:
                armed.countdown -= 1
                return None
            self._armed = None
            self.fired += 1
            return armed

    def _requests(self, link: _Link) -> None:
        try:
            while True:
                data = link.client.recv(_CHUNK)
                if not data:
                    break
                armed = self._next()
                fault = armed.fault if armed else None
                if armed is not None and fault is Fault.DROP_REQUEST:
                    self._fire(armed)
                    break
                if armed is not None and fault is Fault.DELAY:
                    time.sleep(armed.delay)
                if fault in _RESPONSE_FAULTS:
                    link.response_fault = fault
                link.server.sendall(data)
                if armed is not None:
                    self._fire(armed)
        except OSError:
            pass
        finally:
            self._drop(link)

    def _responses(self, link: _Link) -> None:
        try:
            while True:
                data = link.server.recv(_CHUNK)
                if not data:
                    break
                fault = link.response_fault
                if fault is Fault.DROP_RESPONSE:
                    break
                if fault is Fault.CUT_RESPONSE:
                    link.client.sendall(data[: max(1, len(data) // 2)])
                    break
                if fault is Fault.STALL:
                    link.closed.wait()  # until the client gives up and closes
                    break
                link.client.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(link)

    def _fire(self, armed: _Armed) -> None:
        if armed.hook is not None:
            if armed.delay and armed.fault is None:
                time.sleep(armed.delay)
            armed.hook()
        self._fired.set()

    def _drop(self, link: _Link) -> None:
        link.reset()
        with self._lock:
            self._links.discard(link)
