"""Several requests of one operation in flight at once, the same way as one: steps and runners.

An operation that wants requests to overlap (paging ahead, see `_paging.py`) yields these steps
besides plain `httpx.Request`s; every decision (what to start, what to wait for, what to drop)
stays in the operation, and the drivers in `client.py` hand the steps to a runner:

- `Submit(request)` sends the request and gives back a `Handle` once it is on the wire
  (httpcore's `trace` extension says when its body is sent; a transport that does not trace,
  such as an in-process ASGI app, answers first), without waiting for the answer: the server
  works on it while the operation goes on, e.g. parsing the page before;
- `Await(handle)` gives that request's `httpx.Response`, or throws its error into the operation;
- `Cancel(handles)` drops requests whose answers are no longer wanted (pages past the end).

Whatever is still in flight when the operation ends (returns, raises, or a listing is closed
early) is cancelled by the runner's `close_all`, which the drivers call in their `finally`, so a
caller never sees an error or a result while requests of the call are still running.

`AsyncRequests` runs each request as a task on the client's `httpx.AsyncClient`;
`SyncRequests` runs them on a small thread pool of its own sharing the client's `httpx.Client`
(which is thread-safe). The pair is the only code here that differs between the clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

# At most this many requests of one call run at once on the sync client's threads (the
# client's connection pool holds 16 connections; more threads would only wait for one).
MAX_THREADS = 16


class Handle:
    """A request started by `Submit`, to `Await` or `Cancel`."""

    __slots__ = ("number",)
    _numbers = itertools.count(1)

    def __init__(self) -> None:
        self.number = next(self._numbers)

    def __repr__(self) -> str:
        return f"Handle({self.number})"


@dataclass(frozen=True, eq=False)
class Submit:
    """Send `request`; gives a `Handle` once it is sent, without waiting for the answer."""

    request: httpx.Request


@dataclass(frozen=True, eq=False)
class Await:
    """Wait for the request of `handle`; gives its response or raises its error."""

    handle: Handle


@dataclass(frozen=True, eq=False)
class Cancel:
    """Drop these requests: their answers will not be asked for. Gives None."""

    handles: tuple[Handle, ...]


STEPS = (Submit, Await, Cancel)

# The httpcore trace event that ends sending a request ("http11." or "http2." before it).
_SENT = "send_request_body.complete"


def _signal_when_sent(request: httpx.Request, signal: Callable[[], None], *, awaited: bool) -> None:
    """Make `request` call `signal` once httpcore has sent its body (keeping any earlier trace
    callback; httpcore awaits the callback on an async transport, calls it on a sync one)."""
    earlier = request.extensions.get("trace")

    def sent(name: str) -> None:
        if name.endswith(_SENT):
            signal()

    async def trace_async(name: str, info: dict[str, Any]) -> None:
        sent(name)
        if earlier is not None:
            await earlier(name, info)

    def trace_sync(name: str, info: dict[str, Any]) -> None:
        sent(name)
        if earlier is not None:
            earlier(name, info)

    request.extensions["trace"] = trace_async if awaited else trace_sync


def _close_quietly(response: Any) -> None:
    if isinstance(response, httpx.Response):
        with contextlib.suppress(Exception):
            response.close()


class AsyncRequests:
    """The async client's runner: one task per submitted request."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._running: dict[Handle, asyncio.Task[httpx.Response]] = {}
        self._dropped: list[asyncio.Task[httpx.Response]] = []

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def perform(self, step: Submit | Await | Cancel) -> Any:
        if isinstance(step, Submit):
            handle = Handle()
            sent = asyncio.Event()
            _signal_when_sent(step.request, sent.set, awaited=True)
            task = asyncio.ensure_future(self._http.send(step.request))
            task.add_done_callback(lambda _: sent.set())  # answered (or failed) before a trace
            self._running[handle] = task
            await sent.wait()
            return handle
        if isinstance(step, Await):
            return await self._running.pop(step.handle)
        for handle in step.handles:
            self._drop(handle)
        return None

    def _drop(self, handle: Handle) -> None:
        task = self._running.pop(handle, None)
        if task is not None:
            task.cancel()
            self._dropped.append(task)

    async def close_all(self) -> None:
        """Cancel every request still running and wait until each has stopped."""
        for handle in list(self._running):
            self._drop(handle)
        dropped, self._dropped = self._dropped, []
        for outcome in await asyncio.gather(*dropped, return_exceptions=True):
            _close_quietly(outcome)


class SyncRequests:
    """The sync client's runner: submitted requests run on a thread pool of this call's own.

    A request already being sent cannot be interrupted; `close_all` waits for those (at most the
    read-ahead window, sent at the same time) so that no thread of the call still uses the
    client after the call ends, and the client can be closed right away.
    """

    def __init__(self, http: httpx.Client) -> None:
        self._http = http
        self._pool: ThreadPoolExecutor | None = None
        self._running: dict[Handle, Future[httpx.Response]] = {}
        self._dropped: list[Future[httpx.Response]] = []

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def perform(self, step: Submit | Await | Cancel) -> Any:
        if isinstance(step, Submit):
            if self._pool is None:
                self._pool = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="prefect-sdk-page")
            handle = Handle()
            sent = threading.Event()
            _signal_when_sent(step.request, sent.set, awaited=False)
            sending = self._pool.submit(self._http.send, step.request)
            sending.add_done_callback(lambda _: sent.set())
            self._running[handle] = sending
            sent.wait()  # lets the thread have the GIL to send it, rather than after a parse
            return handle
        if isinstance(step, Await):
            return self._running.pop(step.handle).result()
        for handle in step.handles:
            future = self._running.pop(handle, None)
            if future is not None and not future.cancel():
                self._dropped.append(future)
        return None

    def close_all(self) -> None:
        """Cancel the requests not yet started, wait for those being sent, close their answers."""
        for future in self._running.values():
            if not future.cancel():
                self._dropped.append(future)
        self._running.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for future in self._dropped:
            if not future.cancelled() and future.exception() is None:
                _close_quietly(future.result())
        self._dropped.clear()
