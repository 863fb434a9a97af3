"""A fault-injecting HTTP/1.1 proxy on loopback, in front of a real Prefect server.

    with FaultProxy(api_url, schedule=EveryKth(4, KINDS)) as proxy:
        client = SyncPrefectClient(proxy.api_url, ...)
        ...
    proxy.events       # every request it received: what it did, and when (all of them once
                       # it stopped: stopping waits for those still being handled)
    proxy.counts()     # faults sent, per kind

Each request is either forwarded to the server and its answer relayed, or, when the schedule
says so, met with a fault instead:

| kind | reaches the server? | the client sees |
| --- | --- | --- |
| ``429-retry-after-0`` | no | 429, ``Retry-After: 0`` |
| ``503-retry-after-1`` | no | 503, ``Retry-After: 1`` |
| ``503-retry-after-date`` | no | 503, ``Retry-After:`` an HTTP date 1-2 s ahead |
| ``502-no-retry-after`` | no | 502 with an HTML page and no ``Retry-After`` |
| ``drop-before-forward`` | no | the connection closed without an answer |
| ``close-mid-response`` | yes | half of the server's answer, then the connection closed |
| ``delay-past-timeout`` | yes | nothing until ``delay`` seconds (past its read timeout) |

The proxy also counts the client's TCP connections (open now, most open at once, accepted in
all), which is how the load tests see the client's connection pool from outside.

Standard library for the serving side; httpx (already a dependency) for the forwarding side.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import math
import socket
import socketserver
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from prefect_sdk._policy import RETRY_STATUSES

__all__ = [
    "FORWARDED_KINDS",
    "KINDS",
    "Always",
    "Event",
    "EveryKth",
    "FaultProxy",
    "without_server_retries",
]

KINDS: tuple[str, ...] = (
    "429-retry-after-0",
    "close-mid-response",
    "503-retry-after-1",
    "drop-before-forward",
    "502-no-retry-after",
    "delay-past-timeout",
    "503-retry-after-date",
)
# Faults sent after the server has handled the request: the work is done, the answer is lost.
FORWARDED_KINDS = frozenset({"close-mid-response", "delay-past-timeout"})

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
        "content-encoding",
    }
)
# Bytes a truncated answer promises beyond what it sends, so even an empty body is cut short.
_SHORTFALL = 64
_JOIN_BUDGET = 1.0
# How long `stop()` waits for the requests still being handled to be recorded: a request being
# forwarded has the server's answer to wait for (a busy machine can take seconds).
_RECORD_BUDGET = 30.0
_BAD_GATEWAY_PAGE = (
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n"
    + "<!-- padding to make the page long -->\n" * 40
    + "</body>\n</html>\n"
)


@dataclass(frozen=True)
class Event:
    """One request as the proxy received it, and what it did with it."""

    index: int  # 1, 2, ... in arrival order
    method: str
    path: str  # as sent, query included
    key: str  # method, path and a digest of the body: the same request sent again
    kind: str | None  # the fault sent, or None when the server's answer was relayed
    status: int | None  # the status the client was sent (None: no answer)
    received: float  # time.monotonic() once the whole request was read
    received_wall: float  # time.time() at the same moment
    answered: float  # time.monotonic() once the answer (or the hang-up) went out
    answered_wall: float  # time.time() at the same moment
    retry_after: str | None  # the Retry-After header sent, if any
    # For an HTTP-date Retry-After: the time.time() it names, before which a retry is early.
    retry_not_before: float | None
    connection_id: int
    upstream_failed: bool = False  # the server could not be reached: the proxy answered 502
    body: bytes = b""  # the request's body

    @property
    def route(self) -> str:
        return urlsplit(self.path).path


Schedule = Callable[[int, str, str, int], "str | None"]


def without_server_retries(events: list[Event], read_timeout: float) -> list[Event]:
    """`events` less the attempts the server itself had the client send again: relayed (no
    fault) and followed by the same request again, because the answer was one a client
    retries (SQLite's 503 "database is locked", the proxy's 502 when the server could not be
    reached), or so slow (over half `read_timeout`) that the client may have timed out first.

    What is left is the attempts a test's faults made: `[fault, None]` for a fault and the
    retry that got through, however often the server made the client try that retry again.
    """
    kept = []
    for i, event in enumerate(events):
        again = any(later.key == event.key for later in events[i + 1 :])
        retried = event.status in RETRY_STATUSES or event.upstream_failed
        slow = event.answered - event.received > read_timeout / 2
        if event.kind is None and again and (retried or slow):
            continue
        kept.append(event)
    return kept


class EveryKth:
    """Every `k`-th request gets the next fault of `kinds`, in turn.

    Deterministic in arrival order. A request already faulted `max_per_key` times is let
    through (its slot is spent), so no request can be faulted forever; a request whose path
    contains one of `exclude` is never faulted.
    """

    def __init__(
        self,
        k: int,
        kinds: Sequence[str] = KINDS,
        *,
        max_per_key: int = 2,
        exclude: Sequence[str] = ("/csrf-token",),
    ) -> None:
        if k < 1 or not kinds or any(kind not in KINDS for kind in kinds):
            raise ValueError(f"bad schedule: k={k}, kinds={kinds}")
        self.k = k
        self.kinds = tuple(kinds)
        self.max_per_key = max_per_key
        self.exclude = tuple(exclude)
        self._slots = 0

    def __call__(self, index: int, method: str, path: str, faulted_before: int) -> str | None:
        if any(part in path for part in self.exclude) or index % self.k:
            return None
        kind = self.kinds[self._slots % len(self.kinds)]
        self._slots += 1
        return kind if faulted_before < self.max_per_key else None


class Always:
    """The same fault for every request to a route (method and path prefix); others pass.

    With `times`, one request (same method, path and body) is faulted at most that often:
    `times=1` faults the first attempt and lets its retry through.
    """

    def __init__(self, kind: str, method: str, path_prefix: str, times: int | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self.kind = kind
        self.method = method.upper()
        self.path_prefix = path_prefix
        self.times = times

    def __call__(self, index: int, method: str, path: str, faulted_before: int) -> str | None:
        if self.times is not None and faulted_before >= self.times:
            return None
        if method == self.method and urlsplit(path).path.startswith(self.path_prefix):
            return self.kind
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server
    upstream_failed = False

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        proxy = self.server.proxy
        body = self._read_body()
        received, received_wall = time.monotonic(), time.time()
        digest = hashlib.sha1(body).hexdigest()[:16]
        key = f"{self.command} {self.path} {digest}"
        index, kind = proxy._decide(self.command, self.path, key)
        status: int | None = None
        self.upstream_failed = False
        retry_after: str | None = None
        not_before: float | None = None

        # Recorded whatever happens (an error in here included): the proxy's `stop()` waits
        # until every request it decided on is, so its events are complete once it stopped.
        try:
            if kind is None:
                status = self._forward(body)
            elif kind == "drop-before-forward":
                self._hang_up()
            elif kind == "close-mid-response":
                status = self._forward(body, truncate=True)
            elif kind == "delay-past-timeout":
                # The server does the work; the answer comes too late for the client to read it.
                upstream = self._upstream(body)
                if not proxy._stopping.wait(proxy.delay) and upstream is not None:
                    with contextlib.suppress(OSError):
                        self._relay(upstream)
                status = upstream.status_code if upstream is not None else None
                self._hang_up()
            else:
                status, retry_after, not_before = self._refuse(kind)
        finally:
            proxy._record(
                Event(
                    index=index,
                    method=self.command,
                    path=self.path,
                    key=key,
                    kind=kind,
                    status=status,
                    received=received,
                    received_wall=received_wall,
                    answered=time.monotonic(),
                    answered_wall=time.time(),
                    retry_after=retry_after,
                    retry_not_before=not_before,
                    connection_id=self.server.connection_id(self.request),
                    upstream_failed=self.upstream_failed,
                    body=body,
                )
            )

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            for _ in range(1_000_000):
                size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _upstream(self, body: bytes) -> httpx.Response | None:
        proxy = self.server.proxy
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        try:
            return proxy._upstream.request(
                self.command, proxy.upstream_origin + self.path, headers=headers, content=body
            )
        except httpx.HTTPError as error:
            self.upstream_failed = True
            proxy._upstream_errors.append(f"{self.command} {self.path}: {error!r}")
            return None

    def _forward(self, body: bytes, truncate: bool = False) -> int | None:
        upstream = self._upstream(body)
        if upstream is None:
            self._send_plain(502, "upstream failed", {})
            return 502
        with contextlib.suppress(OSError):
            self._relay(upstream, truncate=truncate)
        if truncate:
            self._hang_up()
        return upstream.status_code

    def _relay(self, upstream: httpx.Response, truncate: bool = False) -> None:
        payload = upstream.content
        self.send_response(upstream.status_code)
        for name, value in upstream.headers.multi_items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        bodyless = upstream.status_code < 200 or upstream.status_code in (204, 304)
        if not bodyless:
            extra = _SHORTFALL if truncate else 0
            self.send_header("Content-Length", str(len(payload) + extra))
        self.end_headers()
        if bodyless or self.command == "HEAD":
            return
        self.wfile.write(payload[: len(payload) // 2] if truncate else payload)

    def _refuse(self, kind: str) -> tuple[int, str | None, float | None]:
        if kind == "429-retry-after-0":
            status, after, not_before = 429, "0", None
        elif kind == "503-retry-after-1":
            status, after, not_before = 503, "1", None
        elif kind == "503-retry-after-date":
            # A whole second 2 s ahead, rounded down: the client must wait 1-2 s.
            target = math.floor(time.time()) + 2
            status, after, not_before = 503, email.utils.formatdate(target, usegmt=True), target
        else:  # 502-no-retry-after
            status, after, not_before = 502, None, None
        headers = {} if after is None else {"Retry-After": after}
        if kind == "502-no-retry-after":
            self._send_plain(status, _BAD_GATEWAY_PAGE, headers, "text/html")
        else:
            self._send_plain(status, f'{{"detail": "fault proxy: {kind}"}}', headers)
        return status, after, not_before

    def _send_plain(
        self,
        status: int,
        text: str,
        headers: dict[str, str],
        content_type: str = "application/json",
    ) -> None:
        payload = text.encode()
        with contextlib.suppress(OSError):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self._lock = threading.Lock()
        self._open: dict[Any, tuple[int, threading.Thread]] = {}
        self.accepted = 0
        self.peak_open = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # No reverse DNS lookup of 127.0.0.1 (HTTPServer.server_bind calls getfqdn()).
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        with self._lock:
            self.accepted += 1
            self._open[request] = (self.accepted, thread)
            self.peak_open = max(self.peak_open, len(self._open))
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def connection_id(self, request: Any) -> int:
        with self._lock:
            entry = self._open.get(request)
        return entry[0] if entry else 0

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    def close_connections(self) -> None:
        with self._lock:
            entries = list(self._open.items())
        for request, _ in entries:
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _JOIN_BUDGET
        for _, (_, thread) in entries:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients time out and hang up on purpose here; only other errors are worth printing.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class FaultProxy:
    """A loopback proxy to `api_url`'s server that injects faults on `schedule`."""

    def __init__(
        self, api_url: str, schedule: Schedule | None = None, *, delay: float = 1.6
    ) -> None:
        parts = urlsplit(api_url)
        self.upstream_origin = f"{parts.scheme}://{parts.netloc}"
        self.api_path = parts.path.rstrip("/")
        self.schedule = schedule
        self.delay = delay
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._unrecorded = 0  # requests decided on whose event is not recorded yet
        self._events: list[Event] = []
        self._faults_per_key: Counter[str] = Counter()
        self._arrivals = 0
        self._upstream_errors: list[str] = []
        self._stopping = threading.Event()
        self._upstream = httpx.Client(
            timeout=httpx.Timeout(60.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            trust_env=False,
        )
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.unrecorded_at_stop = 0

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fault-proxy-{self._httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd = self._httpd
        if httpd is None or self._stopping.is_set():
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        self.unrecorded_at_stop = self._wait_recorded(_RECORD_BUDGET)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(_JOIN_BUDGET)
        self._upstream.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is None:
            assert not self.unrecorded_at_stop, (
                f"fault proxy: {self.unrecorded_at_stop} requests still not recorded "
                f"{_RECORD_BUDGET:.0f}s after it stopped: its events are incomplete"
            )

    # -- what clients use ----------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._httpd is not None, "FaultProxy not started"
        return int(self._httpd.server_address[1])

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.api_path}"

    # -- what tests look at --------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        """Every request received so far, in arrival order. While the proxy runs, a request
        still being handled is missing; once it stopped, none is."""
        with self._lock:
            return sorted(self._events, key=lambda event: event.index)

    def counts(self) -> Counter[str]:
        """Faults sent, per kind."""
        return Counter(event.kind for event in self.events if event.kind is not None)

    @property
    def upstream_errors(self) -> list[str]:
        return list(self._upstream_errors)

    @property
    def open_connections(self) -> int:
        assert self._httpd is not None
        return self._httpd.open_count

    @property
    def peak_connections(self) -> int:
        assert self._httpd is not None
        return self._httpd.peak_open

    @property
    def accepted_connections(self) -> int:
        assert self._httpd is not None
        return self._httpd.accepted

    def wait_until_closed(self, timeout: float) -> bool:
        """True once no client connection is open; False if some still are after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_connections == 0:
                return True
            time.sleep(0.02)
        return self.open_connections == 0

    # -- internals -----------------------------------------------------------------

    def _decide(self, method: str, path: str, key: str) -> tuple[int, str | None]:
        with self._lock:
            self._arrivals += 1
            index = self._arrivals
            kind = None
            if self.schedule is not None:
                kind = self.schedule(index, method, path, self._faults_per_key[key])
            if kind is not None:
                self._faults_per_key[key] += 1
            self._unrecorded += 1
            return index, kind

    def _record(self, event: Event) -> None:
        with self._recorded:
            self._events.append(event)
            self._unrecorded -= 1
            self._recorded.notify_all()

    def _wait_recorded(self, timeout: float) -> int:
        """Wait until every request decided on is recorded, at most `timeout` seconds; how many
        still are not."""
        with self._recorded:
            self._recorded.wait_for(lambda: self._unrecorded == 0, timeout)
            return self._unrecorded
