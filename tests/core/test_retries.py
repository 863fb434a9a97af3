"""Retries through both clients against a scripted loopback server."""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import http.server
import logging
import random
import socket
import threading
import time

import httpx
import pytest

from prefect_sdk import PrefectHTTPStatusError, _policy
from prefect_sdk._policy import MAYBE_APPLIED_EXTENSION, RETRIES_EXTENSION, backoff_delay
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


# ----- failover: a server that goes away after answering, and comes back -------------------


class Restartable:
    """A loopback HTTP server on a fixed port that can be stopped and started again, as one API
    process behind a load balancer is restarted: while it is down, connects are refused."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.answered = 0
        self._httpd: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
                body = b'"hello"'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")  # the next request must connect anew
                self.end_headers()
                self.wfile.write(body)
                owner.answered += 1

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._httpd = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"


@pytest.fixture
def fixed_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every retry waits 100 ms."""
    monkeypatch.setattr(_policy, "backoff_delay", lambda retry, jitter, rng: 0.1)


@pytest.mark.usefixtures("fixed_backoff")
async def test_refused_connection_after_an_answer_is_retried_until_the_server_is_back(
    kind: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Failover: the client had an answer, then the server went away (connections refused) and
    came back 0.5 s later: the call waits for it instead of failing."""
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "30")
    server = Restartable()
    server.start()
    restarted = threading.Timer(0.5, server.start)
    try:
        async with opened(kind, server.url) as client:
            assert (await client.call("hello")).status_code == 200
            server.stop()  # closes the listening socket: connects are refused from now on
            started = time.monotonic()
            restarted.start()
            with caplog.at_level(logging.DEBUG, logger="prefect_sdk"):
                response = await client.call("hello")
            waited = time.monotonic() - started
    finally:
        restarted.cancel()
        restarted.join()
        with contextlib.suppress(AssertionError):
            server.stop()

    assert response.status_code == 200 and response.json() == "hello"
    assert server.answered == 2
    refused = [r for r in caplog.messages if ": ConnectError, retry " in r]
    assert len(refused) >= 2, caplog.messages  # refused while down (0.5 s / 0.1 s per retry)
    assert 0.4 <= waited < 5.0


async def test_refused_first_connection_fails_fast_even_if_the_server_comes_later(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that never reached the server does not wait for it: a wrong URL fails now."""
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "30")
    server = Restartable()
    started = time.monotonic()
    await call_error(kind, server.url, error=httpx.ConnectError)
    assert time.monotonic() - started < 1.0


# ----- whether an earlier attempt may have been carried out ---------------------------------


@pytest.mark.usefixtures("fast_backoff")
@pytest.mark.parametrize(
    ("first", "maybe_applied"),
    [
        (None, False),  # answered at once
        (Reply(429, headers=NOW), False),  # declined: never carried out
        (Reply(503, headers=NOW), False),  # Prefect's rolled-back database error, or no backend
        (Reply(408, headers=NOW), False),
        (Reply(502, headers=NOW), True),  # a gateway lost the answer of a forwarded request
        (Reply(drop_connection=True), True),  # the server may have done it, then hung up
        (Reply(close_mid_response=True, json="x"), True),
    ],
    ids=["first", "429", "503", "408", "502", "dropped", "cut-short"],
)
async def test_final_response_says_whether_an_earlier_attempt_may_have_been_carried_out(
    kind: str, server: ScriptedServer, first: Reply | None, maybe_applied: bool
) -> None:
    replies = [] if first is None else [first]
    server.queue_for("POST", "/api/variables/", *replies, Reply(409, json={"detail": "taken"}))

    async with opened(kind, api(server), httpx_settings={"timeout": 2.0}) as client:
        response = await client.request("POST", "/variables/", json={"name": "x", "value": 1})

    assert response.status_code == 409
    assert response.extensions[MAYBE_APPLIED_EXTENSION] is maybe_applied
    assert response.extensions[RETRIES_EXTENSION] == len(replies)


@pytest.mark.usefixtures("fast_backoff")
async def test_a_read_timeout_may_have_been_carried_out(kind: str, server: ScriptedServer) -> None:
    server.queue_for("POST", "/api/variables/", Reply(201, json={}, delay=1.0), Reply(409))

    async with opened(kind, api(server), httpx_settings={"timeout": 0.3}) as client:
        response = await client.request("POST", "/variables/", json={"name": "x", "value": 1})

    assert response.status_code == 409
    assert response.extensions[MAYBE_APPLIED_EXTENSION] is True
