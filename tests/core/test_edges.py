"""Defects at the edges a new user meets: hangs, raw library errors, a URL that is not an API,
a stuck server that says nothing, a cancelled call's client reused."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from prefect_sdk import (
    NotPrefectAPI,
    ObjectNotFound,
    PrefectClient,
    PrefectSDKError,
    PrefectTransportError,
    SettingsError,
    SyncPrefectClient,
    _policy,
)
from tests.core.helpers import api, opened
from tests.support.scripted_server import Reply, ScriptedServer

pytestmark = pytest.mark.timeout(60)


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A port that takes connections (the kernel's backlog) and never answers a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api"
    finally:
        listener.close()


def closed_port() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}/api"


CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("create_flow_from_name", ("x",), {}),  # a POST: a CSRF token is fetched first
    ("read_flows", (), {"limit": 1}),  # a read by POST
    ("read_flow", ("00000000-0000-0000-0000-000000000001",), {}),  # a GET
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS, ids=[c[0] for c in CALLS])
async def test_no_call_hangs_on_a_server_that_never_answers(
    kind: str, name: str, args: Any, kwargs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")
    with silent_server() as url:
        async with opened(kind, url) as client:
            started = time.monotonic()
            with pytest.raises(PrefectTransportError) as caught:
                await client.call(name, *args, **kwargs)
            took = time.monotonic() - started
    assert took < 5, f"{name} took {took:.1f}s with a 1 s timeout"
    assert isinstance(caught.value, httpx.TimeoutException)  # httpx's catches still work
    assert "csrf-token" not in str(caught.value).split(" (while")[0]  # named as the call


async def test_with_options_timeout_bounds_a_post(kind: str) -> None:
    with silent_server() as url:
        async with opened(kind, url) as client:
            quick = client.client.with_options(timeout=1, max_retries=0)
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                result = quick.create_flow_from_name("x")
                if asyncio.iscoroutine(result):
                    await result
            assert time.monotonic() - started < 5


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS, ids=[c[0] for c in CALLS])
async def test_a_refused_connection_is_the_sdks_error_naming_the_call(
    kind: str, name: str, args: Any, kwargs: Any
) -> None:
    url = closed_port()
    async with opened(kind, url) as client:
        with pytest.raises(PrefectSDKError) as caught:
            await client.call(name, *args, **kwargs)
    error = caught.value
    message = str(error)
    assert isinstance(error, httpx.ConnectError), type(error).__mro__
    assert "\n" not in message
    route = {"create_flow_from_name": "/api/flows/", "read_flows": "/api/flows/filter"}
    assert route.get(name, "/api/flows/0000") in message, message
    assert message.startswith(("POST", "GET")), message


@pytest.mark.parametrize("url", ["http://127.0.0.1:notaport/api", "http://:4200/api", "ftp://x"])
def test_a_bad_api_url_is_a_settings_error(kind: str, url: str) -> None:
    client_type = SyncPrefectClient if kind == "sync" else PrefectClient
    with pytest.raises(SettingsError) as caught:
        client_type(url)
    assert "\n" not in str(caught.value) and url in str(caught.value)


def test_a_bad_prefect_api_url_setting_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect_sdk import get_client

    monkeypatch.setenv("PREFECT_API_URL", "http://user:hunter2@127.0.0.1:notaport/api")
    with pytest.raises(SettingsError) as caught:
        get_client()
    assert "PREFECT_API_URL" in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("api_value", [None, 42, b"http://x/api"])
def test_an_api_that_is_neither_url_nor_app_is_a_settings_error(kind: str, api_value: Any) -> None:
    client_type = SyncPrefectClient if kind == "sync" else PrefectClient
    with pytest.raises(SettingsError, match="API's URL"):
        client_type(api_value)


async def test_a_plain_web_server_404_is_not_object_not_found(
    kind: str, server: ScriptedServer
) -> None:
    html = {"Content-Type": "text/html"}
    page = Reply(404, headers=html, body=b"<html><body>nothing here</body></html>")
    server.queue(page, page)  # the read, then GET /admin/version
    async with opened(kind, api(server)) as client:
        with pytest.raises(NotPrefectAPI) as caught:
            await client.call("read_flow", "00000000-0000-0000-0000-000000000001")
    assert not isinstance(caught.value, ObjectNotFound)
    assert "no Prefect API answers" in str(caught.value)
    assert "did you mean" not in str(caught.value)  # the URL has /api


async def test_a_url_without_api_says_so(kind: str, server: ScriptedServer) -> None:
    missing = Reply(404, json={"detail": "Not Found"})
    server.queue(missing, missing, missing)  # the CSRF token, the read, /admin/version
    async with opened(kind, server.url) as client:
        with pytest.raises(NotPrefectAPI) as caught:
            await client.call("read_flows", limit=1)
    message = str(caught.value)
    assert "\n" not in message
    assert f"did you mean {server.url}/api?" in message, message
    assert "(read_flows)" in message


async def test_a_missing_object_on_a_prefect_server_is_still_object_not_found(
    kind: str, server: ScriptedServer
) -> None:
    server.queue(Reply(404, json={"detail": "Flow not found"}))
    async with opened(kind, api(server)) as client:
        with pytest.raises(ObjectNotFound):
            await client.call("read_flow", "00000000-0000-0000-0000-000000000001")


async def test_retries_of_a_stuck_request_are_logged_as_warnings(
    kind: str,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(_policy, "LOUD_AFTER", 0.5)
    busy = Reply(503, headers={"Retry-After": "0.3"})
    server.queue(busy, busy, busy, Reply(200, json="3.9.1"))
    caplog.set_level(logging.INFO, logger="prefect_sdk")
    async with opened(kind, api(server)) as client:
        assert await client.call("api_version") == "3.9.1"
    retries = [r for r in caplog.records if ", retry " in r.getMessage()]
    # 0.3 s, 0.6 s, 0.9 s into the request: the first retry is quiet, the later ones warn.
    assert [r.levelname for r in retries] == ["WARNING", "WARNING"], [
        (r.levelname, r.getMessage()) for r in retries
    ]


async def test_a_cancelled_call_leaves_the_client_usable(server: ScriptedServer) -> None:
    server.queue(Reply(200, json="3.9.1", delay=5.0))
    for _ in range(100):
        server.queue(Reply(200, json="3.9.1"))
    async with PrefectClient(api(server)) as client:
        slow = asyncio.ensure_future(client.api_version())
        await asyncio.sleep(0.3)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        results = await asyncio.gather(*(client.api_version() for _ in range(100)))
        assert results == ["3.9.1"] * 100
        pool = client._http._transport.inner._pool  # type: ignore[attr-defined]
        assert len(pool.connections) <= 16
