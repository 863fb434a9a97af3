"""The in-process (ephemeral) mode: an ASGI app served without a socket, its lifespan counted."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from prefect_sdk import PrefectClient, ServerType, SyncPrefectClient, get_client
from prefect_sdk.client import determine_server_type
from tests.core.helpers import drive, make, opened

pytestmark = pytest.mark.timeout(60)


@dataclass
class Lifespan:
    startups: int = 0
    shutdowns: int = 0
    live: set[int] = field(default_factory=set)  # lifespans entered and not yet exited

    @property
    def running(self) -> bool:
        """Whether the latest lifespan entered is still running."""
        return self.startups in self.live


def counting_app() -> tuple[FastAPI, Lifespan]:
    """An app whose lifespan counts startups and shutdowns, and that says if it is running."""
    counts = Lifespan()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        counts.startups += 1
        generation = counts.startups
        counts.live.add(generation)
        await asyncio.sleep(0.01)  # a startup that takes a moment, as real ones do
        yield
        await asyncio.sleep(0.01)
        counts.live.discard(generation)
        counts.shutdowns += 1

    app = FastAPI(lifespan=lifespan)

    @app.get("/api/hello")
    async def hello() -> dict[str, Any]:
        return {"running": counts.running}

    @app.get("/api/block-loop")
    async def block_loop() -> dict[str, Any]:
        # Blocks the app's event loop for 0.5 s, starting just after this response is sent.
        asyncio.get_running_loop().call_later(0.05, time.sleep, 0.5)
        return {}

    return app, counts


async def hello_running(client: Any) -> bool:
    response = await client.call("hello")
    assert response.status_code == 200
    return bool(response.json()["running"])


async def test_client_reaches_app_without_a_socket(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[object] = []

    def no_connect(sock: socket.socket, address: object) -> None:
        connects.append(address)
        raise AssertionError(f"socket opened to {address}")

    app, counts = counting_app()
    client = make(kind, app)
    assert client.server_type is ServerType.EPHEMERAL
    with monkeypatch.context() as patch:
        patch.setattr(socket.socket, "connect", no_connect)
        patch.setattr(socket.socket, "connect_ex", no_connect)
        async with drive(client) as driver:
            assert await hello_running(driver)

    assert connects == []
    assert (counts.startups, counts.shutdowns) == (1, 1)


async def test_app_through_httpx_settings(kind: str) -> None:
    app, counts = counting_app()
    client_type = SyncPrefectClient if kind == "sync" else PrefectClient

    async with drive(get_client(httpx_settings={"app": app}, sync_client=kind == "sync")) as one:
        assert type(one.client) is client_type
        assert one.client.server_type is ServerType.EPHEMERAL
        assert await hello_running(one)

    assert (counts.startups, counts.shutdowns) == (1, 1)


@pytest.mark.parametrize(
    ("outer", "inner"),
    [("sync", "sync"), ("async", "async"), ("async", "sync"), ("sync", "async")],
)
async def test_nested_clients_share_one_lifespan(outer: str, inner: str) -> None:
    app, counts = counting_app()

    async with opened(outer, app) as first:
        async with opened(inner, app) as second:
            assert await hello_running(second)
            assert await hello_running(first)
        assert (counts.startups, counts.shutdowns) == (1, 0)
        assert await hello_running(first)

    assert (counts.startups, counts.shutdowns) == (1, 1)


async def test_concurrent_clients_share_one_lifespan() -> None:
    app, counts = counting_app()

    async def use() -> bool:
        async with PrefectClient(app) as client:
            response = await client.hello()
            await asyncio.sleep(0.01)
            return bool(response.json()["running"])

    for cycle in (1, 2):
        assert await asyncio.gather(*(use() for _ in range(10))) == [True] * 10
        assert (counts.startups, counts.shutdowns) == (cycle, cycle)


async def test_reopen_while_closing_keeps_lifespans_balanced() -> None:
    app, counts = counting_app()
    first, second = PrefectClient(app), PrefectClient(app)
    await first.__aenter__()
    await first._http.get("/block-loop")
    await asyncio.sleep(0.15)  # the app's loop is now busy for ~0.4 s more

    async def open_second() -> None:
        await asyncio.sleep(0.05)  # just after `first` let go of the app
        await second.__aenter__()

    await asyncio.gather(first.__aexit__(None, None, None), open_second())
    running_while_open = (await second.hello()).json()["running"]
    await second.__aexit__(None, None, None)

    assert running_while_open
    assert counts.startups == counts.shutdowns == 2
    assert not counts.live


@pytest.mark.timeout(180)
async def test_prefect_ephemeral_app(prefect_home: Path) -> None:
    """The real Prefect server app, in-process: no PREFECT_API_URL, PREFECT_HOME a tmp dir."""
    assert determine_server_type() is ServerType.EPHEMERAL
    client = get_client()
    assert client.server_type is ServerType.EPHEMERAL

    async with drive(client) as driver:
        assert (await driver.call("hello")).status_code == 200
        created = await driver.request("POST", "/flows/", json={"name": "x"})
        assert created.status_code in (200, 201)
        read = await driver.request("GET", f"/flows/{created.json()['id']}")
        assert read.status_code == 200
        assert read.json()["name"] == "x"
    assert (prefect_home / "prefect.db").is_file()


@pytest.mark.timeout(180)
async def test_prefect_ephemeral_app_streams_events(kind: str, prefect_home: Path) -> None:
    """The websocket routes of the in-process server, without a port: events in and out."""
    import asyncio
    import uuid

    client = get_client(sync_client=kind == "sync")
    rid = f"test.ephemeral.{uuid.uuid4().hex[:8]}"
    events = [{"event": "test.in", "resource": {"prefect.resource.id": rid}} for _ in range(3)]

    async with drive(client) as driver:
        sent = await driver.call("emit_events", events)  # over /events/in
        for _ in range(100):
            if (await driver.call("read_events", {"resource": {"id": [rid]}})).total == 3:
                break
            await asyncio.sleep(0.2)
        stream = client.subscribe_events({"resource": {"id": [rid]}})  # over /events/out
        got = []
        if kind == "sync":
            for event in stream:  # type: ignore[attr-defined]
                got.append(event)
                if len(got) == 3:
                    break
        else:
            async for event in stream:  # type: ignore[attr-defined]
                got.append(event)
                if len(got) == 3:
                    break
    assert sorted(e.id for e in got) == sorted(e.id for e in sent)
