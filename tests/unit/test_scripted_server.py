"""Tests for the scripted fault-injection server, driven by real httpx clients."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.scripted_server import Recorded, Reply, ScriptedServer

# Short everywhere: a broken server must fail a test, never hang the suite.
TIMEOUT = httpx.Timeout(2.0)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@pytest.fixture
def client(server: ScriptedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        yield http


def wait_for_requests(server: ScriptedServer, count: int, timeout: float = 2.0) -> list[Recorded]:
    deadline = time.monotonic() + timeout
    while len(server.requests) < count:
        assert time.monotonic() < deadline, f"server saw {len(server.requests)} of {count}"
        time.sleep(0.01)
    return server.requests


def test_url_is_loopback_with_a_real_port(server: ScriptedServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0


def test_queued_replies_come_back_in_order(server: ScriptedServer, client: httpx.Client) -> None:
    server.queue(
        Reply(503, headers={"Retry-After": "1"}),
        Reply(200, json={"ok": True}),
        Reply(201, body="plain words"),
        Reply(202, body=b"<x/>", headers={"Content-Type": "application/xml"}),
    )

    first = client.get("/a")
    second = client.get("/b")
    third = client.post("/c")
    fourth = client.put("/d")

    assert first.status_code == 503
    assert first.headers["retry-after"] == "1"
    assert second.status_code == 200
    assert second.headers["content-type"] == "application/json"
    assert second.json() == {"ok": True}
    assert third.status_code == 201
    assert third.text == "plain words"
    assert third.headers["content-type"].startswith("text/plain")
    assert fourth.status_code == 202
    assert fourth.content == b"<x/>"
    assert fourth.headers["content-type"] == "application/xml"
    assert server.pending == 0


def test_json_none_is_a_json_null_body(server: ScriptedServer, client: httpx.Client) -> None:
    server.queue(Reply(200, json=None), Reply(200))

    assert client.get("/").content == b"null"
    assert client.get("/").content == b""


def test_no_content_reply_has_no_body(server: ScriptedServer, client: httpx.Client) -> None:
    server.queue(Reply(204), Reply(200, json={"after": "204"}))

    response = client.delete("/thing")
    # The connection must still be usable: a stray body would corrupt the next reply.
    follow_up = client.get("/thing")

    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers
    assert follow_up.json() == {"after": "204"}


def test_reply_rejects_json_and_body_together() -> None:
    with pytest.raises(ValueError):
        Reply(json={}, body="x")


def test_routed_replies_beat_the_general_queue(
    server: ScriptedServer, client: httpx.Client
) -> None:
    server.queue(Reply(200, json={"from": "general"}))
    server.queue_for("get", "/api/csrf-token", Reply(200, json={"from": "route-1"}))
    server.queue_for("GET", "/api/csrf-token", Reply(200, json={"from": "route-2"}))

    # The query string is ignored when matching routes; routed queues are FIFO.
    assert client.get("/api/csrf-token", params={"client": "x"}).json() == {"from": "route-1"}
    # A different method on the same path is not routed.
    assert client.post("/api/csrf-token").json() == {"from": "general"}
    assert client.get("/api/csrf-token").json() == {"from": "route-2"}
    # Routed queue empty: no general replies left either, so the default answers.
    ran_out = client.get("/api/csrf-token")
    assert ran_out.status_code == 500
    assert "script ran out" in ran_out.json()["detail"]


def test_default_answers_when_the_script_is_empty(
    server: ScriptedServer, client: httpx.Client
) -> None:
    assert client.get("/nothing").status_code == 500

    server.default = Reply(404, json={"detail": "not scripted"})

    for _ in range(3):
        response = client.get("/nothing")
        assert response.status_code == 404
        assert response.json() == {"detail": "not scripted"}


def test_requests_are_recorded(server: ScriptedServer, client: httpx.Client) -> None:
    server.queue(Reply(200), Reply(200), Reply(200))
    before = time.monotonic()

    client.get("/api/flows/", params={"limit": "5", "offset": "10"}, headers={"X-Trace": "abc"})
    client.post("/api/flows/filter", json={"name": "etl"})
    # An iterator body makes httpx send Transfer-Encoding: chunked.
    client.put("/api/blob", content=iter([b"part-1|", b"part-2"]))

    get, post, put = server.requests
    assert get.method == "GET"
    assert get.path == "/api/flows/?limit=5&offset=10"
    assert get.route == "/api/flows/"
    assert get.query == "limit=5&offset=10"
    assert get.headers["x-trace"] == "abc"
    assert get.headers["X-Trace"] == "abc"  # lookups ignore case
    assert "X-TRACE" in get.headers
    assert get.headers.get("x-missing") is None
    assert get.body == b""
    assert post.method == "POST"
    assert post.headers["content-type"] == "application/json"
    assert post.json() == {"name": "etl"}
    assert put.headers["transfer-encoding"] == "chunked"
    assert put.body == b"part-1|part-2"
    assert before <= get.received_at <= post.received_at <= put.received_at <= time.monotonic()


def test_keep_alive_serves_several_requests_on_one_connection(
    server: ScriptedServer, client: httpx.Client
) -> None:
    server.queue(*(Reply(200, json={"n": n}) for n in range(5)))

    answers = [client.post(f"/n/{n}", json={"n": n}).json()["n"] for n in range(5)]

    assert answers == [0, 1, 2, 3, 4]
    assert {r.connection_id for r in server.requests} == {1}


def test_delay_longer_than_read_timeout_raises_read_timeout(server: ScriptedServer) -> None:
    server.queue(Reply(200, delay=1.0))

    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(2.0, read=0.2)) as http:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            http.get("/slow")

    assert time.monotonic() - started < 1.0


def test_delay_shorter_than_read_timeout_still_answers(
    server: ScriptedServer, client: httpx.Client
) -> None:
    server.queue(Reply(200, json={"late": True}, delay=0.2))

    started = time.monotonic()
    assert client.get("/").json() == {"late": True}
    assert time.monotonic() - started >= 0.2


def test_close_mid_response_raises_a_transport_error(
    server: ScriptedServer, client: httpx.Client
) -> None:
    server.queue(Reply(200, json={"payload": "x" * 1000}, close_mid_response=True))

    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.get("/truncated")


def test_close_mid_response_sends_status_and_headers_first(server: ScriptedServer) -> None:
    server.queue(Reply(200, body=b"0123456789", close_mid_response=True))

    with (
        httpx.Client(base_url=server.url, timeout=TIMEOUT) as http,
        http.stream("GET", "/truncated") as response,
    ):
        assert response.status_code == 200
        assert int(response.headers["content-length"]) > 10
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            response.read()


def test_drop_connection_raises_a_transport_error(
    server: ScriptedServer, client: httpx.Client
) -> None:
    server.queue(Reply(200, drop_connection=True), Reply(200, json={"second": "try"}))

    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
        client.get("/dropped")
    # The request did arrive; only the answer went missing. The server keeps working.
    assert client.get("/again").json() == {"second": "try"}
    assert [r.path for r in server.requests] == ["/dropped", "/again"]


def test_dead_url_refuses_connections() -> None:
    with httpx.Client(timeout=TIMEOUT) as http, pytest.raises(httpx.ConnectError):
        http.get(ScriptedServer.dead_url())


def test_exit_closes_the_listening_socket() -> None:
    with ScriptedServer() as server:
        url = server.url
        with httpx.Client(timeout=TIMEOUT) as http:
            assert http.get(url).status_code == 500

    with httpx.Client(timeout=TIMEOUT) as http, pytest.raises(httpx.ConnectError):
        http.get(url)


def test_exit_during_a_long_delay_returns_quickly_and_hangs_up() -> None:
    outcome: list[BaseException | httpx.Response] = []

    def call(url: str) -> None:
        with httpx.Client(timeout=httpx.Timeout(10.0)) as http:
            try:
                outcome.append(http.get(url))
            except httpx.HTTPError as exc:
                outcome.append(exc)

    threads_before = set(threading.enumerate())
    with ScriptedServer() as server:
        server.queue(Reply(200, delay=30.0))
        caller = threading.Thread(target=call, args=(server.url,), daemon=True)
        caller.start()
        wait_for_requests(server, 1)
        started = time.monotonic()
    elapsed = time.monotonic() - started

    # The sleeping reply must be cut short: the client sees the hang-up at once rather
    # than waiting out the 30 s delay (or its own 10 s timeout).
    caller.join(2.0)
    assert elapsed < 2.0
    assert not caller.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], httpx.TransportError)
    # The thread that was sleeping on the delay has woken up and finished.
    assert set(threading.enumerate()) <= threads_before


def test_exit_unblocks_idle_keep_alive_connections() -> None:
    threads_before = set(threading.enumerate())
    with (
        ScriptedServer() as server,
        httpx.Client(base_url=server.url, timeout=TIMEOUT) as http,
    ):
        http.get("/")  # leaves an idle pooled connection open
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
        # The idle connection was shut, and no one listens any more.
        with pytest.raises(httpx.TransportError):
            http.get("/")
    # The accept loop and the connection thread have both finished.
    assert set(threading.enumerate()) <= threads_before


async def test_fifty_concurrent_async_requests_are_all_answered(
    server: ScriptedServer,
) -> None:
    # Each reply waits 0.3 s: served one at a time, 50 of them would take 15 s.
    server.queue(*(Reply(200, json={"i": i}, delay=0.3) for i in range(50)))

    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        started = time.monotonic()
        responses = await asyncio.gather(*(http.get(f"/item/{i}") for i in range(50)))
        elapsed = time.monotonic() - started

    assert all(r.status_code == 200 for r in responses)
    assert sorted(r.json()["i"] for r in responses) == list(range(50))
    assert len(server.requests) == 50
    assert len({r.connection_id for r in server.requests}) == 50
    assert elapsed < 3.0  # serially: 15 s


async def test_async_client_sees_scripted_faults(server: ScriptedServer) -> None:
    server.queue(
        Reply(503, headers={"Retry-After": "0"}),
        Reply(200, delay=1.0),
        Reply(200, drop_connection=True),
        Reply(200, json={"ok": True}),
    )

    async with httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(2.0, read=0.2)) as http:
        assert (await http.get("/")).status_code == 503
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/")
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await http.get("/")
        assert (await http.get("/")).json() == {"ok": True}
