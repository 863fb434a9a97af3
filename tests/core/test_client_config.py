"""Settings end to end through the clients, client lifecycle, and the httpx configuration."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from prefect_sdk import (
    ClientNotOpenError,
    PrefectClient,
    SettingsError,
    SyncPrefectClient,
    get_client,
)
from tests.core.helpers import Driver, api, call_once, drive, make, opened
from tests.support.scripted_server import Reply, ScriptedServer

HELLO = Reply(200, json="hi")


def write_profile(home: Path, **values: str) -> None:
    lines = ['active = "dev"', "", "[profiles.dev]"]
    lines += [f'{name} = "{value}"' for name, value in values.items()]
    (home / "profiles.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


# ----- settings precedence -----


@pytest.mark.parametrize(
    ("use_env", "use_argument", "expected"),
    [(False, False, "pnu_profile"), (True, False, "pnu_env"), (True, True, "pnu_argument")],
    ids=["profile", "env-beats-profile", "argument-beats-env"],
)
async def test_api_key_precedence(
    kind: str,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    prefect_home: Path,
    use_env: bool,
    use_argument: bool,
    expected: str,
) -> None:
    write_profile(prefect_home, PREFECT_API_KEY="pnu_profile")
    if use_env:
        monkeypatch.setenv("PREFECT_API_KEY", "pnu_env")
    server.queue_for("GET", "/api/hello", HELLO)

    await call_once(kind, api(server), api_key="pnu_argument" if use_argument else None)

    assert server.requests[0].headers["Authorization"] == f"Bearer {expected}"


@pytest.mark.parametrize("source", ["env", "profile"])
async def test_get_client_api_url(
    kind: str,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    prefect_home: Path,
    source: str,
) -> None:
    if source == "env":
        monkeypatch.setenv("PREFECT_API_URL", api(server))
        write_profile(prefect_home, PREFECT_API_URL="http://127.0.0.1:9/api")
    else:
        write_profile(prefect_home, PREFECT_API_URL=api(server))
    server.queue_for("GET", "/api/hello", HELLO)

    client = get_client(sync_client=kind == "sync")
    assert str(client.api_url) == api(server)
    async with drive(client) as driver:
        assert (await driver.call("hello")).json() == "hi"

    assert [r.route for r in server.requests] == ["/api/hello"]


async def test_malformed_setting(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "abc")

    for build in (
        lambda: make(kind, "http://127.0.0.1:9/api"),
        lambda: get_client(sync_client=kind == "sync"),
    ):
        with pytest.raises(SettingsError) as info:
            build()
        assert "PREFECT_CLIENT_MAX_RETRIES" in str(info.value)
        assert "\n" not in str(info.value)


# ----- lifecycle -----


async def test_method_before_open(kind: str) -> None:
    client = make(kind, "http://127.0.0.1:9/api")

    with pytest.raises(ClientNotOpenError, match="not open") as info:
        await Driver(client).call("hello")
    assert ("async with" in str(info.value)) == (kind == "async")


async def test_method_after_close(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", "/api/hello", HELLO)
    client = make(kind, api(server))
    async with drive(client) as driver:
        await driver.call("hello")

    with pytest.raises(ClientNotOpenError, match="closed"):
        await driver.call("hello")
    with pytest.raises(ClientNotOpenError):
        async with drive(client):
            pass
    assert len(server.requests) == 1


def test_get_client_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")

    assert type(get_client()) is PrefectClient
    assert type(get_client(sync_client=True)) is SyncPrefectClient


def test_both_clients_have_the_same_methods() -> None:
    def names(cls: type) -> tuple[set[str], set[str]]:
        every = set(dir(cls))
        public = {name for name in every if not name.startswith("_")}
        dunder = {name for name in every if name.startswith("__") and name.endswith("__")}
        return public, dunder

    async_public, async_dunder = names(PrefectClient)
    sync_public, sync_dunder = names(SyncPrefectClient)

    # `loop` (the event loop the client was entered on) is the async client's only, as in Prefect.
    assert async_public - {"loop"} == sync_public
    assert {"hello", "api_version", "api_healthcheck"} <= sync_public
    assert async_dunder ^ sync_dunder <= {"__aenter__", "__aexit__", "__enter__", "__exit__"}


# ----- httpx configuration -----


def test_app_with_api_url_is_refused(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = FastAPI()
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")

    with pytest.raises(SettingsError, match="app"):
        make(kind, "http://127.0.0.1:9/api", httpx_settings={"app": app})
    with pytest.raises(SettingsError, match="app"):
        get_client(httpx_settings={"app": app}, sync_client=kind == "sync")


async def test_timeouts(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:9/api"
    async with opened(kind, url) as driver:
        assert driver.client._http.timeout == httpx.Timeout(60.0)
    async with opened(kind, url, httpx_settings={"timeout": 0.5}) as driver:
        assert driver.client._http.timeout == httpx.Timeout(0.5)
    monkeypatch.setenv("PREFECT_API_REQUEST_TIMEOUT", "7")
    async with opened(kind, url) as driver:
        assert driver.client._http.timeout == httpx.Timeout(7.0)


async def test_pool_limits(kind: str) -> None:
    def pool(driver: Driver) -> object:
        return driver.client._http._transport.inner._pool  # type: ignore[union-attr]

    url = "http://127.0.0.1:9/api"
    async with opened(kind, url) as driver:
        limits = pool(driver)
        assert limits._max_connections == 16
        assert limits._max_keepalive_connections == 16  # all of them: no churn under load
        assert limits._keepalive_expiry == 25
    custom = httpx.Limits(max_connections=3, max_keepalive_connections=1)
    async with opened(kind, url, httpx_settings={"limits": custom}) as driver:
        assert pool(driver)._max_connections == 3
        assert pool(driver)._max_keepalive_connections == 1
