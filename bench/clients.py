"""The three clients under test, opened once and kept open for the whole run.

Each client gets the same connection pool (16 connections, all kept alive: prefect-sdk's
default) wrapped in a `Counting` transport, so the benchmark can assert that every timed call
sent exactly the requests it should: no retry, no CSRF-token fetch, no version check. The
counting wrapper is one extra Python call per request, the same for all three. Three more async
clients run with each one's *default* settings (own pool, own limits), counted by an httpx
event hook instead, for the benchmark of what a user gets out of the box.

The clients are made for one API URL (`open_clients(api_url, ...)`), so one run can measure them
on two servers (the single-process one, and the scale-out one).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# The pool every client under test gets in the like-for-like benchmarks: prefect-sdk's default
# (Prefect's client keeps only 8 of its 16 alive by default; see `aio_default`).
LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=16, keepalive_expiry=25)
TIMEOUT = httpx.Timeout(60.0)

OURS = "ours"
PREFECT = "prefect"
RAW = "raw"
CLIENTS = (OURS, PREFECT, RAW)


class Counting(httpx.BaseTransport):
    """A sync transport that counts the requests it carries (from any thread: prefect-sdk's
    sync client sends concurrent pages from a small thread pool)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class AsyncCounting(httpx.AsyncBaseTransport):
    """An async transport that counts the requests it carries."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class HookCounter:
    """Counts requests through an httpx `event_hooks` request hook, leaving the client's own
    transport and pool (its defaults) as they are."""

    def __init__(self) -> None:
        self.requests = 0

    async def __call__(self, request: httpx.Request) -> None:
        self.requests += 1

    def settings(self) -> dict[str, Any]:
        return {"event_hooks": {"request": [self]}}


def configure_prefect_environment(api_url: str, home: Path) -> None:
    """Point Prefect's client (and prefect-sdk's settings) at the bench server, and only at it.

    Must run before `prefect` is imported: Prefect reads its settings at import time. Inherited
    PREFECT_* variables are dropped so a developer's profile cannot change what is measured.
    """
    for name in [name for name in os.environ if name.startswith("PREFECT_")]:
        del os.environ[name]
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(client_environment(api_url, home))


def client_environment(api_url: str, home: Path) -> dict[str, str]:
    """The PREFECT_* settings every client process of the benchmark runs with."""
    return {
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(home),
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


@dataclass
class Clients:
    """One sync and one async client of each kind, with their request counters."""

    api_url: str
    loop: asyncio.AbstractEventLoop
    sync: dict[str, Any] = field(default_factory=dict)
    aio: dict[str, Any] = field(default_factory=dict)
    # The async clients with each one's default settings, and their counters.
    aio_default: dict[str, Any] = field(default_factory=dict)
    sync_counters: dict[str, Counting] = field(default_factory=dict)
    async_counters: dict[str, AsyncCounting] = field(default_factory=dict)
    default_counters: dict[str, HookCounter] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _astack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    def requests(self, client: str, is_async: bool, defaults: bool = False) -> int:
        if defaults:
            return self.default_counters[client].requests
        counters = self.async_counters if is_async else self.sync_counters
        return counters[client].requests

    def close(self) -> None:
        self.loop.run_until_complete(self._astack.aclose())
        self._stack.close()


def open_clients(api_url: str, loop: asyncio.AbstractEventLoop) -> Clients:
    """Open the nine clients for `api_url` (sync clients outside any event loop, async ones on
    `loop`). Prefect's are made as `get_client()` makes them, with the URL given directly."""
    import prefect.client.orchestration as prefect_orchestration

    import prefect_sdk

    clients = Clients(api_url=api_url, loop=loop)
    for name in CLIENTS:
        clients.sync_counters[name] = Counting(httpx.HTTPTransport(limits=LIMITS))
        clients.async_counters[name] = AsyncCounting(httpx.AsyncHTTPTransport(limits=LIMITS))

    def settings(name: str, is_async: bool) -> dict[str, Any]:
        counters = clients.async_counters if is_async else clients.sync_counters
        return {"transport": counters[name]}

    stack = clients._stack
    clients.sync[OURS] = stack.enter_context(
        prefect_sdk.SyncPrefectClient(api_url, httpx_settings=settings(OURS, False))
    )
    clients.sync[PREFECT] = stack.enter_context(
        prefect_orchestration.SyncPrefectClient(api_url, httpx_settings=settings(PREFECT, False))
    )
    clients.sync[RAW] = stack.enter_context(
        httpx.Client(base_url=api_url, transport=clients.sync_counters[RAW], timeout=TIMEOUT)
    )

    async def enter_async() -> None:
        astack = clients._astack
        clients.aio[OURS] = await astack.enter_async_context(
            prefect_sdk.PrefectClient(api_url, httpx_settings=settings(OURS, True))
        )
        clients.aio[PREFECT] = await astack.enter_async_context(
            prefect_orchestration.PrefectClient(api_url, httpx_settings=settings(PREFECT, True))
        )
        clients.aio[RAW] = await astack.enter_async_context(
            httpx.AsyncClient(
                base_url=api_url, transport=clients.async_counters[RAW], timeout=TIMEOUT
            )
        )
        # Out of the box: only the URL (and the request counter) given.
        counters = clients.default_counters
        for name in CLIENTS:
            counters[name] = HookCounter()
        clients.aio_default[OURS] = await astack.enter_async_context(
            prefect_sdk.PrefectClient(api_url, httpx_settings=counters[OURS].settings())
        )
        clients.aio_default[PREFECT] = await astack.enter_async_context(
            prefect_orchestration.PrefectClient(
                api_url, httpx_settings=counters[PREFECT].settings()
            )
        )
        clients.aio_default[RAW] = await astack.enter_async_context(
            httpx.AsyncClient(base_url=api_url, timeout=TIMEOUT, **counters[RAW].settings())
        )

    loop.run_until_complete(enter_async())
    return clients
