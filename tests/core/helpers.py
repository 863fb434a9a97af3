"""Drive SyncPrefectClient and PrefectClient through one awaitable interface."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from prefect_sdk import PrefectClient, SyncPrefectClient
from prefect_sdk.client import BaseClient
from tests.support.scripted_server import ScriptedServer


def api(server: ScriptedServer) -> str:
    return server.url + "/api"


def make(kind: str, target: Any, **kwargs: Any) -> PrefectClient | SyncPrefectClient:
    client_type = SyncPrefectClient if kind == "sync" else PrefectClient
    return client_type(target, **kwargs)


class Driver:
    """Calls a client's methods (and its httpx client) the same way whether sync or async."""

    def __init__(self, client: BaseClient) -> None:
        self.client = client

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, name)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        result = self.client._http.request(method, path, **kwargs)
        return await result if inspect.isawaitable(result) else result


@asynccontextmanager
async def drive(client: BaseClient) -> AsyncIterator[Driver]:
    """Enter `client` with `with` or `async with`, as its type requires."""
    if isinstance(client, SyncPrefectClient):
        with client:
            yield Driver(client)
    else:
        assert isinstance(client, PrefectClient)
        async with client:
            yield Driver(client)


def opened(kind: str, target: Any, **kwargs: Any) -> Any:
    return drive(make(kind, target, **kwargs))


async def call_once(kind: str, target: Any, name: str = "hello", **kwargs: Any) -> Any:
    """Open a client, call one of its methods, close it; return the result."""
    async with opened(kind, target, **kwargs) as client:
        return await client.call(name)


async def call_error(
    kind: str,
    target: Any,
    name: str = "hello",
    error: type[BaseException] = Exception,
    **kwargs: Any,
) -> Any:
    """Like call_once, but the call must raise `error`; return the exception."""
    with pytest.raises(error) as info:
        await call_once(kind, target, name, **kwargs)
    return info.value
