"""Fixtures for the resource-method tests: every test runs once per client (sync and async).

The `client` fixture gives one calling convention for both: the async client's coroutines are run
on a loop thread of the fixture's own and its async iterators collected, so a test body is
written once and still exercises `PrefectClient` and `SyncPrefectClient` for real.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from prefect_sdk import PrefectClient, SyncPrefectClient


class BlockingAsyncClient:
    """Calls a PrefectClient's methods from sync test code."""

    def __init__(self, client: PrefectClient) -> None:
        self.client = client
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, awaitable: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(_await(awaitable), self.loop).result(timeout=300)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if inspect.iscoroutine(result):
                return self.run(result)
            if hasattr(result, "__aiter__"):
                return iter(self.run(_collect(result)))
            return result

        return call

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


async def _await(awaitable: Any) -> Any:
    return await awaitable


async def _collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, api_url: str) -> Iterator[Any]:
    """A SyncPrefectClient, or a PrefectClient behind BlockingAsyncClient, open on the server."""
    if request.param == "sync":
        with SyncPrefectClient(api_url) as sync_client:
            yield sync_client
        return
    blocking = BlockingAsyncClient(PrefectClient(api_url))
    blocking.run(blocking.client.__aenter__())
    try:
        yield blocking
    finally:
        blocking.run(blocking.client.__aexit__(None, None, None))
        blocking.close()


@pytest.fixture
def unique() -> str:
    """A short random prefix, so that tests sharing one server never see each other's rows."""
    return f"t{uuid.uuid4().hex[:10]}"
