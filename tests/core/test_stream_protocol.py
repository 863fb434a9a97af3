"""The stream protocol's failure cases, against a scripted loopback websocket server: what a
real server does not send (a frame that is not JSON, an event that does not parse) and sockets
that keep dropping. Both clients."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.sync.server import ServerConnection, serve

from prefect_sdk import PrefectClient, StreamError, SyncPrefectClient


class ScriptedStream:
    """A websocket server on 127.0.0.1 whose every connection runs `script(connection)`."""

    def __init__(self, script: Callable[[ServerConnection], None]) -> None:
        self.connections = 0
        self.messages: list[Any] = []

        def handler(connection: ServerConnection) -> None:
            self.connections += 1
            script(connection)

        self.server = serve(handler, "127.0.0.1", 0, subprotocols=["prefect"])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api_url(self) -> str:
        port = self.server.socket.getsockname()[1]
        return f"http://127.0.0.1:{port}/api"

    def __enter__(self) -> ScriptedStream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def handshake(connection: ServerConnection, into: list[Any]) -> None:
    into.append(json.loads(connection.recv()))  # auth
    connection.send(json.dumps({"type": "auth_success"}))
    into.append(json.loads(connection.recv()))  # filter


def first_event(kind: str, api_url: str, **options: Any) -> Any:
    if kind == "sync":
        with SyncPrefectClient(api_url) as client:
            return next(iter(client.subscribe_events(**options)))

    async def run() -> Any:
        async with PrefectClient(api_url) as client:
            async for event in client.subscribe_events(**options):
                return event
        return None

    return asyncio.run(run())


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> Iterator[str]:
    yield str(request.param)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("not json at all", "frame that is not JSON"),
        (json.dumps([1, 2]), "sent list, not a message object"),
        (json.dumps({"type": "event", "event": {"id": "x"}}), "event that does not parse"),
    ],
)
def test_a_frame_the_protocol_does_not_allow_is_one_line_error(
    kind: str, frame: str, expected: str
) -> None:
    messages: list[Any] = []

    def script(connection: ServerConnection) -> None:
        handshake(connection, messages)
        connection.send(frame)
        connection.recv()  # until the client goes

    with ScriptedStream(script) as server, pytest.raises(StreamError) as info:
        first_event(kind, server.api_url, filter={"event": {"prefix": ["x."]}})

    message = str(info.value)
    assert "/events/out" in message and expected in message and "\n" not in message
    assert server.connections == 1  # not retried
    auth, subscribe = messages
    assert auth == {"type": "auth", "token": None}
    assert subscribe["type"] == "filter" and subscribe["backfill"] is True
    assert subscribe["filter"]["event"] == {"prefix": ["x."]}
    assert {"since", "until"} <= set(subscribe["filter"]["occurred"])


@pytest.mark.timeout(30)
def test_a_socket_that_keeps_dropping_ends_in_a_clear_error(kind: str) -> None:
    messages: list[Any] = []

    def script(connection: ServerConnection) -> None:
        handshake(connection, messages)
        connection.socket.shutdown(socket.SHUT_RDWR)  # dropped, no close frame

    with ScriptedStream(script) as server, pytest.raises(StreamError) as info:
        first_event(kind, server.api_url, reconnection_attempts=2)

    assert "gave up after 2 reconnection attempts" in str(info.value)
    assert server.connections == 3  # the first connection and two reconnections
    # Each reconnection asks for the backfill of what it may have missed.
    assert [m["backfill"] for m in messages if m["type"] == "filter"] == [True, True, True]
