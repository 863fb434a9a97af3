"""A scripted HTTP/1.1 server on a real loopback socket, for fault tests.

Retry, timeout and connection-handling code has to be tested against a real TCP peer:
mock transports cannot produce a read timeout, a truncated body or a refused connection
the way the network does. ``ScriptedServer`` answers each request with the next
``Reply`` from a script, and can misbehave on purpose (sleep, hang up mid-body, hang up
without answering).

    with ScriptedServer() as server:
        server.queue(Reply(503, headers={"Retry-After": "1"}), Reply(200, json={"ok": True}))
        ...  # run client code against server.url
        assert [r.method for r in server.requests] == ["GET", "GET"]

Standard library only, so the test suite needs nothing beyond what the SDK already uses.
"""

from __future__ import annotations

import contextlib
import enum
import json as jsonlib
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Headers", "Recorded", "Reply", "ScriptedServer"]

# How many bytes a ``close_mid_response`` reply promises beyond what it sends, so the
# client always sees a body cut short even when the scripted body is empty.
_TRUNCATION_SHORTFALL = 64

# How often the accept loop checks for shutdown; bounds how long ``stop()`` waits for it.
_POLL_INTERVAL = 0.05

# How long ``stop()`` waits, in total, for connection threads to finish after their
# sockets are shut down. They are daemon threads, so this only tidies up; it never hangs.
_JOIN_BUDGET = 0.5

_METHODS_WITHOUT_BODY = frozenset({"HEAD"})


class _Unset(enum.Enum):
    # ``None`` is a valid JSON document, so "no JSON body" needs its own marker.
    UNSET = "UNSET"


_UNSET = _Unset.UNSET


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    ``json`` and ``body`` are mutually exclusive. ``Content-Length`` is always computed
    by the server (a ``Content-Length`` in ``headers`` is ignored), except that
    ``close_mid_response`` deliberately announces more than it sends.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = _UNSET
    body: bytes | str | None = None
    delay: float = 0.0
    close_mid_response: bool = False
    drop_connection: bool = False

    def __post_init__(self) -> None:
        if self.json is not _UNSET and self.body is not None:
            raise ValueError("Reply takes json= or body=, not both")
        if self.delay < 0:
            raise ValueError("Reply.delay must be >= 0")
        if self.close_mid_response and self.drop_connection:
            raise ValueError("Reply takes close_mid_response or drop_connection, not both")

    def encode(self) -> tuple[bytes, str]:
        """The body bytes and the content type to use if ``headers`` names none."""
        if self.json is not _UNSET:
            return jsonlib.dumps(self.json).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body or b"", "text/plain"


class Headers(dict[str, str]):
    """Request headers: a dict keyed by lower-cased names whose lookups ignore case.

    Repeated headers are joined with ", " (RFC 9110 section 5.3), which is what
    assertions in tests want to see.
    """

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        for name, value in items:
            key = name.lower()
            existing = super().get(key)
            super().__setitem__(key, value if existing is None else f"{existing}, {value}")

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(name.lower(), value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str  # as sent, query string included
    headers: Headers
    body: bytes
    received_at: float  # time.monotonic() once the whole request was read
    connection_id: int  # 1, 2, ... per accepted TCP connection: shows keep-alive reuse

    @property
    def route(self) -> str:
        """The path without its query string: what ``queue_for`` matches on."""
        return urlsplit(self.path).path

    @property
    def query(self) -> str:
        return urlsplit(self.path).query

    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 makes BaseHTTPRequestHandler keep the connection open between requests,
    # which is what httpx's connection pool expects.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
    # client's delayed ACK can add ~40 ms per response and blur timing assertions.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # One line per request on stderr would drown test output.
        pass

    def _serve(self) -> None:
        owner = self.server.owner
        recorded = Recorded(
            method=self.command,
            path=self.path,
            headers=Headers(self.headers.items()),
            body=self._read_body(),
            received_at=time.monotonic(),
            connection_id=self.server.connection_id(self.request),
        )
        self._send(owner._take(recorded))

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def _read_body(self) -> bytes:
        # The body must be consumed even if no test looks at it, or its bytes would be
        # parsed as the next request on this keep-alive connection.
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        # httpx sends chunked bodies for streaming/iterator content.
        chunks: list[bytes] = []
        while True:
            size_line = self.rfile.readline(65537)
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Skip optional trailers up to the blank line (or EOF).
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # CRLF after each chunk

    def _send(self, reply: Reply) -> None:
        # Event.wait instead of time.sleep, so stop() cuts the delay short.
        if reply.delay > 0 and self.server.owner._stopping.wait(reply.delay):
            self._hang_up()
            return
        if reply.drop_connection:
            self._hang_up()
            return

        payload, default_type = reply.encode()
        self.send_response(reply.status)
        has_type = False
        for name, value in reply.headers.items():
            if name.lower() == "content-length":
                continue  # framing is ours to get right (or deliberately wrong)
            has_type = has_type or name.lower() == "content-type"
            self.send_header(name, value)
        if payload and not has_type:
            self.send_header("Content-Type", default_type)
        # RFC 9110 forbids Content-Length on 1xx/204 and h11 rejects a body there.
        bodyless = reply.status < 200 or reply.status in (204, 304)
        if not bodyless:
            shortfall = _TRUNCATION_SHORTFALL if reply.close_mid_response else 0
            self.send_header("Content-Length", str(len(payload) + shortfall))
        self.end_headers()

        if reply.close_mid_response:
            if not bodyless and self.command not in _METHODS_WITHOUT_BODY:
                self.wfile.write(payload[: len(payload) // 2])
            self._hang_up()
        elif not bodyless and self.command not in _METHODS_WITHOUT_BODY:
            self.wfile.write(payload)

    def _hang_up(self) -> None:
        # Shut the socket down in both directions now, rather than let the keep-alive
        # loop wait for another request: the client sees EOF where it expects bytes.
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may already be gone
            self.connection.shutdown(socket.SHUT_RDWR)


@dataclass
class _Connection:
    ident: int
    thread: threading.Thread


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 makes a burst of concurrent connects overflow it, and
    # the kernel's SYN retry then costs a full second.
    request_queue_size = 128
    daemon_threads = True

    def __init__(self, owner: ScriptedServer) -> None:
        self.owner = owner
        self._connections_lock = threading.Lock()
        self._connections: dict[Any, _Connection] = {}
        self._accepted = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can
        # stall for seconds in sandboxes; the name is only used in log lines.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        # Like ThreadingMixIn.process_request, but remembering each connection so
        # close_connections() can unblock its thread when the server stops.
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            daemon=True,
        )
        with self._connections_lock:
            self._accepted += 1
            self._connections[request] = _Connection(self._accepted, thread)
            thread.name = f"scripted-server-conn-{self._accepted}"
        thread.start()

    def connection_id(self, request: Any) -> int:
        with self._connections_lock:
            connection = self._connections.get(request)
        return connection.ident if connection else 0

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock and reap every connection thread, within ``_JOIN_BUDGET``."""
        with self._connections_lock:
            open_connections = list(self._connections.items())
        for request, _ in open_connections:
            # A keep-alive thread idles in a blocking read; shutting the socket down
            # (not just closing it) is what makes that read return.
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _JOIN_BUDGET
        for _, connection in open_connections:
            connection.thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Fault tests hang up on purpose (client timeouts, dropped connections), and
        # the resulting OSErrors are expected; anything else is a bug worth printing.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class ScriptedServer:
    """HTTP/1.1 server on 127.0.0.1 that answers from a script of ``Reply`` objects.

    A request takes, in order of preference: the next reply queued with ``queue_for``
    for its (method, path without query); else the next reply from ``queue``; else
    ``default``; else a 500 saying the script ran out. All methods are thread-safe.
    """

    def __init__(self) -> None:
        # None means "500, script ran out"; tests that poll may prefer e.g. a 404.
        self.default: Reply | None = None
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._routes: dict[tuple[str, str], deque[Reply]] = {}
        self._requests: list[Recorded] = []
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> ScriptedServer:
        if self._httpd is not None:
            raise RuntimeError("ScriptedServer already started")
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"scripted-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop promptly: abort delayed replies, drop connections, close the socket."""
        httpd = self._httpd
        if httpd is None or self._stopping.is_set():
            return
        # First, so sleeping delayed replies hang up instead of answering late.
        self._stopping.set()
        httpd.shutdown()  # returns once the accept loop has exited
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(_JOIN_BUDGET)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ScriptedServer not started; use it as a context manager")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def dead_url() -> str:
        """A URL on 127.0.0.1 where nothing listens, for connection-refused tests.

        The port was free a moment ago; another process could grab it in between,
        but the kernel hands out ephemeral ports round-robin, so that is rare.
        """
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    # -- script ------------------------------------------------------------------

    def queue(self, *replies: Reply) -> None:
        """Append replies for any request, answered first-in first-out."""
        with self._lock:
            self._queue.extend(replies)

    def queue_for(self, method: str, path: str, *replies: Reply) -> None:
        """Append replies for requests with this method and path (query ignored)."""
        key = (method.upper(), urlsplit(path).path)
        with self._lock:
            self._routes.setdefault(key, deque()).extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not yet used (general and routed): 0 once all were sent."""
        with self._lock:
            return len(self._queue) + sum(len(q) for q in self._routes.values())

    @property
    def requests(self) -> list[Recorded]:
        """A snapshot of the requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def _take(self, recorded: Recorded) -> Reply:
        # Recording and choosing a reply under one lock keeps ``requests`` in the same
        # order as the replies were handed out.
        with self._lock:
            self._requests.append(recorded)
            routed = self._routes.get((recorded.method, recorded.route))
            if routed:
                return routed.popleft()
            if self._queue:
                return self._queue.popleft()
            if self.default is not None:
                return self.default
        return Reply(
            500,
            json={
                "detail": "ScriptedServer: script ran out, "
                f"no reply queued for {recorded.method} {recorded.path}"
            },
        )
