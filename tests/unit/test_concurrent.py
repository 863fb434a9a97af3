"""The step runners of `_concurrent.py` against a real loopback socket: `Submit` gives its handle
once the request is on the wire (so the server works on it while the caller goes on, e.g.
parsing the page before), not before and not only once answered."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from prefect_sdk._concurrent import AsyncRequests, Await, Submit, SyncRequests
from tests.support.scripted_server import Reply, ScriptedServer

HELD = 1.5  # seconds the server holds its answer


SENT = "http11.send_request_body.complete"


def body_request(url: str, events: list[tuple[str, float]] | None = None) -> httpx.Request:
    """A request with a body of 20 kB; `events` gets httpcore's trace events and their times
    (through a trace callback of the request's own, which the runner must keep calling)."""
    request = httpx.Request("POST", f"{url}/rows", json={"offset": 0, "pad": "x" * 20_000})
    if events is not None:
        request.extensions["trace"] = lambda name, info: events.append((name, time.monotonic()))
    return request


def traced_async(events: list[tuple[str, float]]) -> object:
    async def trace(name: str, info: object) -> None:
        events.append((name, time.monotonic()))

    return trace


def sent_at(events: list[tuple[str, float]]) -> float:
    return next(at for name, at in events if name == SENT)


def wait_for_requests(server: ScriptedServer, count: int) -> None:
    deadline = time.monotonic() + HELD / 2
    while len(server.requests) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_sync_submit_returns_once_the_request_is_sent_not_answered() -> None:
    with ScriptedServer() as server, httpx.Client() as http:
        server.queue(Reply(200, json=[1], delay=HELD))
        runner = SyncRequests(http)
        events: list[tuple[str, float]] = []
        try:
            started = time.monotonic()
            handle = runner.perform(Submit(body_request(server.url, events)))
            returned = time.monotonic()
            assert sent_at(events) <= returned  # the body was sent before Submit returned ...
            assert returned - started < HELD / 2  # ... and Submit did not wait for the answer
            wait_for_requests(server, 1)
            assert len(server.requests[0].body) > 20_000
            response = runner.perform(Await(handle))
            assert response.json() == [1]
        finally:
            runner.close_all()


def test_async_submit_returns_once_the_request_is_sent_not_answered() -> None:
    async def main() -> None:
        with ScriptedServer() as server:
            server.queue(Reply(200, json=[2], delay=HELD))
            async with httpx.AsyncClient() as http:
                runner = AsyncRequests(http)
                events: list[tuple[str, float]] = []
                request = body_request(server.url)
                request.extensions["trace"] = traced_async(events)
                try:
                    started = time.monotonic()
                    handle = await runner.perform(Submit(request))
                    returned = time.monotonic()
                    # A task runs only when the loop gets control: without Submit waiting for
                    # it, the request would still be unsent here.
                    assert sent_at(events) <= returned
                    assert returned - started < HELD / 2
                    response = await runner.perform(Await(handle))
                    assert response.json() == [2]
                finally:
                    await runner.close_all()

    asyncio.run(main())


def test_a_request_that_cannot_be_sent_does_not_hang_submit() -> None:
    dead = ScriptedServer.dead_url()
    with httpx.Client() as http:
        runner = SyncRequests(http)
        try:
            handle = runner.perform(Submit(body_request(dead)))
            with pytest.raises(httpx.ConnectError):
                runner.perform(Await(handle))
        finally:
            runner.close_all()

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            runner = AsyncRequests(http)
            try:
                handle = await runner.perform(Submit(body_request(dead)))
                with pytest.raises(httpx.ConnectError):
                    await runner.perform(Await(handle))
            finally:
                await runner.close_all()

    asyncio.run(main())


def test_an_earlier_trace_callback_still_sees_every_event() -> None:
    events: list[tuple[str, float]] = []
    with ScriptedServer() as server, httpx.Client() as http:
        server.queue(Reply(200, json=[]))
        runner = SyncRequests(http)
        try:
            runner.perform(Await(runner.perform(Submit(body_request(server.url, events)))))
        finally:
            runner.close_all()
    names = [name for name, _ in events]
    assert SENT in names
    assert "http11.receive_response_body.complete" in names
