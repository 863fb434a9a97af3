"""Retries through both clients against a scripted loopback server."""

from __future__ import annotations

import datetime
import email.utils
import random
import time

import httpx
import pytest

from prefect_sdk import PrefectHTTPStatusError
from prefect_sdk._policy import backoff_delay
from tests.core.helpers import api, call_error, call_once, opened
from tests.support.scripted_server import Reply, ScriptedServer

NOW = {"Retry-After": "0"}
OK = Reply(200, json="hello")


def gap(server: ScriptedServer, first: int = 0) -> float:
    requests = server.requests
    return requests[first + 1].received_at - requests[first].received_at


@pytest.mark.parametrize("status", [408, 429, 502, 503])
async def test_retried_status_then_success(kind: str, server: ScriptedServer, status: int) -> None:
    server.queue_for("GET", "/api/hello", Reply(status, headers=NOW), OK)

    response = await call_once(kind, api(server))

    assert response.status_code == 200
    assert response.json() == "hello"
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [500, 400])
async def test_other_status_not_retried(kind: str, server: ScriptedServer, status: int) -> None:
    server.queue_for("GET", "/api/hello", Reply(status, headers=NOW, json={"detail": "no"}), OK)

    error = await call_error(kind, api(server), error=PrefectHTTPStatusError)

    assert error.response.status_code == status
    assert len(server.requests) == 1


@pytest.mark.usefixtures("fast_backoff")
async def test_retry_after_seconds_is_waited(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", "/api/hello", Reply(503, headers={"Retry-After": "1"}), OK)

    assert (await call_once(kind, api(server))).status_code == 200
    assert gap(server) >= 1.0 - 0.05


@pytest.mark.usefixtures("fast_backoff")
async def test_retry_after_http_date_is_waited(kind: str, server: ScriptedServer) -> None:
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    header = {"Retry-After": email.utils.format_datetime(when, usegmt=True)}
    server.queue_for("GET", "/api/hello", Reply(429, headers=header), OK)

    assert (await call_once(kind, api(server))).status_code == 200
    # The date has 1-second resolution: asking for +2 s guarantees more than 1 s.
    assert gap(server) >= 1.0 - 0.05


async def test_retry_after_too_long_is_not_waited(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", "/api/hello", Reply(503, headers={"Retry-After": "3600"}), OK)
    started = time.monotonic()

    error = await call_error(kind, api(server), error=PrefectHTTPStatusError)

    assert error.response.status_code == 503
    assert len(server.requests) == 1
    assert time.monotonic() - started < 1.0


async def test_gives_up_after_max_retries(
    kind: str, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "2")
    server.default = Reply(503, headers=NOW, json={"detail": "busy"})

    error = await call_error(kind, api(server), error=PrefectHTTPStatusError)

    assert len(server.requests) == 3
    assert error.response.status_code == 503
    assert "503" in str(error)


async def test_extra_retry_codes(
    kind: str, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_RETRY_EXTRA_CODES", "500,504")
    server.queue_for("GET", "/api/hello", Reply(500, headers=NOW), Reply(504, headers=NOW), OK)

    assert (await call_once(kind, api(server))).status_code == 200
    assert len(server.requests) == 3


async def test_maintenance_does_not_spend_retries(
    kind: str, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "1")
    maintenance = Reply(503, headers={"Prefect-Maintenance": "true", "Retry-After": "0"})
    server.queue_for("GET", "/api/hello", maintenance, maintenance, maintenance, OK)

    assert (await call_once(kind, api(server))).status_code == 200
    assert len(server.requests) == 4


async def test_refused_first_connection_is_not_retried(kind: str) -> None:
    started = time.monotonic()

    await call_error(kind, ScriptedServer.dead_url() + "/api", error=httpx.ConnectError)

    assert time.monotonic() - started < 1.0


@pytest.mark.usefixtures("fast_backoff")
async def test_dropped_connection_is_retried(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", "/api/hello", OK, Reply(drop_connection=True), OK)

    async with opened(kind, api(server)) as client:
        assert (await client.call("hello")).status_code == 200
        assert (await client.call("hello")).status_code == 200

    assert len(server.requests) == 3


@pytest.mark.usefixtures("fast_backoff")
async def test_read_timeout_is_retried(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", "/api/hello", Reply(200, json="late", delay=1.5), OK)

    response = await call_once(kind, api(server), httpx_settings={"timeout": 0.5})

    # "hello", not "late": the httpx_settings timeout replaced the default of 60 s.
    assert response.json() == "hello"
    assert len(server.requests) == 2


async def test_backoff_wait_without_retry_after(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", "/api/hello", Reply(502), OK)

    assert (await call_once(kind, api(server))).status_code == 200
    assert 2.0 - 0.05 <= gap(server) < 3.0  # first backoff: 2 s, jitter off


def test_backoff_delay_numbers() -> None:
    assert [backoff_delay(n, 0.0, random.Random(0)) for n in range(6)] == [2, 4, 8, 16, 30, 30]
    for retry, base in enumerate([2.0, 4.0, 8.0]):
        expected = base * (1 + random.Random(7).uniform(0.0, 0.5))
        assert backoff_delay(retry, 0.5, random.Random(7)) == pytest.approx(expected)
        assert base <= backoff_delay(retry, 0.5, random.Random(retry)) <= base * 1.5
