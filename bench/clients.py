"""The three clients under test, opened once and kept open for the whole run.

Each client gets the same connection pool (the limits prefect-sdk and Prefect's client both
use by default) wrapped in a `Counting` transport, so the benchmark can assert that every timed
call sent exactly the requests it should: no retry, no CSRF-token fetch, no version check.
The counting wrapper is one extra Python call per request, the same for all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# The pool both prefect-sdk and Prefect's client configure by default.
LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=8, keepalive_expiry=25)
TIMEOUT = httpx.Timeout(60.0)

OURS = "ours"
PREFECT = "prefect"
RAW = "raw"
CLIENTS = (OURS, PREFECT, RAW)


class Counting(httpx.BaseTransport):
    """A sync transport that counts the requests it carries."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
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
    sync_counters: dict[str, Counting] = field(default_factory=dict)
    async_counters: dict[str, AsyncCounting] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _astack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    def requests(self, client: str, is_async: bool) -> int:
        counters = self.async_counters if is_async else self.sync_counters
        return counters[client].requests

    def close(self) -> None:
        self.loop.run_until_complete(self._astack.aclose())
        self._stack.close()


def open_clients(api_url: str, loop: asyncio.AbstractEventLoop) -> Clients:
    """Open the six clients (sync clients outside any event loop, async ones on `loop`)."""
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
        prefect_orchestration.get_client(settings(PREFECT, False), sync_client=True)
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
            prefect_orchestration.get_client(httpx_settings=settings(PREFECT, True))
        )
        clients.aio[RAW] = await astack.enter_async_context(
            httpx.AsyncClient(
                base_url=api_url, transport=clients.async_counters[RAW], timeout=TIMEOUT
            )
        )

    loop.run_until_complete(enter_async())
    return clients
