"""Counting a client's TCP sockets at its httpcore connection pool (the load test, the bench)."""

from __future__ import annotations

import threading
from typing import Any

import httpcore


class Sockets:
    """Counts a client's sockets: opened, closed, open now, most open at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.opened = 0
        self.closed = 0
        self.peak = 0

    @property
    def open(self) -> int:
        with self.lock:
            return self.opened - self.closed

    def on_open(self) -> None:
        with self.lock:
            self.opened += 1
            self.peak = max(self.peak, self.opened - self.closed)

    def on_close(self) -> None:
        with self.lock:
            self.closed += 1


class AsyncCountedStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream, sockets: Sockets) -> None:
        self.stream = stream
        self.sockets = sockets
        self.is_closed = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.stream.write(buffer, timeout)

    async def aclose(self) -> None:
        if not self.is_closed:
            self.is_closed = True
            self.sockets.on_close()
        await self.stream.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise AssertionError("no TLS on loopback")

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class AsyncCountedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, backend: httpcore.AsyncNetworkBackend, sockets: Sockets) -> None:
        self.backend = backend
        self.sockets = sockets

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        stream = await self.backend.connect_tcp(*args, **kwargs)
        self.sockets.on_open()
        return AsyncCountedStream(stream, self.sockets)

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


def count_sockets(pool: Any) -> Sockets:
    """Wrap the network backend of an async httpcore pool that has not connected yet.

    The async pool closes a connection it drops before it yields to another task, so the count
    is exact: no socket it gave up on is still open while a new one is opened.
    """
    assert not pool.connections, "count before the first request"
    sockets = Sockets()
    pool._network_backend = AsyncCountedBackend(pool._network_backend, sockets)
    return sockets
