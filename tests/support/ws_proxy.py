"""A loopback TCP proxy in front of a Prefect server, for websocket fault tests.

It forwards each TCP connection byte for byte, after reading the connection's first request
head to tell a websocket upgrade from plain HTTP. With ``refuse_upgrades=True`` it answers
upgrades 403 (REST works, websockets cannot open); otherwise ``drop_sockets()`` cuts every open
websocket mid-stream, to test reconnects.

    with SocketProxy(api_url) as proxy:
        client = get_client(api_url=proxy.api_url)
        ...
        proxy.drop_sockets()
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

# Every wait on the proxy's thread is bounded by this: a broken proxy fails a test, never hangs it.
_BUDGET = 1.0
_FORBIDDEN = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

T = TypeVar("T")
_Pair = tuple[asyncio.StreamWriter, asyncio.StreamWriter]


def is_upgrade(head: bytes) -> bool:
    """Whether a request head asks for a websocket (``Upgrade: websocket``, any case)."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade" and b"websocket" in value.lower():
            return True
    return False


class SocketProxy:
    """Forwards 127.0.0.1:<port> to ``upstream_url``'s host and port, on a background thread.

    ``upgrades`` counts the websocket upgrades forwarded, ``refused`` those answered 403.
    All public methods are thread-safe.
    """

    def __init__(self, upstream_url: str, *, refuse_upgrades: bool = False) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected an http:// URL, not {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port or 80)
        self._path = parts.path.rstrip("/")
        self.refuse_upgrades = refuse_upgrades
        self.port = 0
        self._lock = threading.Lock()
        self._upgrades = 0
        self._refused = 0
        # Touched only on the loop's thread:
        self._upgraded: set[_Pair] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ws-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def api_url(self) -> str:
        """The upstream URL with the proxy's address: ``http://127.0.0.1:<port>/api``."""
        return f"http://127.0.0.1:{self.port}{self._path}"

    @property
    def upgrades(self) -> int:
        with self._lock:
            return self._upgrades

    @property
    def refused(self) -> int:
        with self._lock:
            return self._refused

    def start(self) -> SocketProxy:
        self._thread.start()
        self._server = self._run(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def drop_sockets(self) -> int:
        """Abruptly close both ends of every open websocket connection; how many there were."""
        return self._run(self._drop())

    def stop(self) -> None:
        """Close the listener and every connection, then end the thread (within ~1 s)."""
        if not self._thread.is_alive():
            return
        try:
            self._run(self._shutdown(), timeout=_BUDGET)
        except FutureTimeout:
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(_BUDGET)
            if not self._thread.is_alive():
                self._loop.close()

    def __enter__(self) -> SocketProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 5.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _drop(self) -> int:
        pairs = list(self._upgraded)
        for pair in pairs:
            _abort(pair)
        return len(pairs)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=_BUDGET / 2)
        for _ in range(3):  # let the aborted transports' close callbacks run
            await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        ends: list[asyncio.StreamWriter] = [writer]
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            upgrade = is_upgrade(head)
            if upgrade and self.refuse_upgrades:
                with self._lock:
                    self._refused += 1
                writer.write(_FORBIDDEN)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            except OSError:
                writer.write(_BAD_GATEWAY)
                return
            ends.append(up_writer)
            pair = (writer, up_writer)
            up_writer.write(head)
            if upgrade:
                with self._lock:
                    self._upgrades += 1
                self._upgraded.add(pair)
            await asyncio.gather(
                self._pipe(reader, up_writer, pair), self._pipe(up_reader, writer, pair)
            )
        except (OSError, EOFError, asyncio.LimitOverrunError):
            pass  # the client left before its request head was complete, or a socket broke
        except asyncio.CancelledError:
            _abort(ends)  # stop(); then end quietly, as 3.11's start_server logs a cancelled task
        finally:
            self._upgraded.discard((writer, ends[-1]))
            for end in ends:
                end.close()  # flushes what is still buffered; a no-op after an abort
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, pair: _Pair) -> None:
        """Copy until EOF, then pass the half-close on; a broken socket cuts both ends."""
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()
        except OSError:
            _abort(pair)


def _abort(writers: Iterable[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.transport.abort()
