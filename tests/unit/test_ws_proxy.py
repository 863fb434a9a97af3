"""The websocket fault proxy, in front of a tiny websockets upstream (no Prefect server)."""

from __future__ import annotations

import contextlib
import http
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus
from websockets.http11 import Request, Response
from websockets.sync.client import ClientConnection, connect
from websockets.sync.connection import Connection
from websockets.sync.server import Server, ServerConnection, serve

from tests.support.ws_proxy import SocketProxy, is_upgrade

# Short everywhere: a broken proxy must fail a test, never hang the suite.
TIMEOUT = 2.0


def _echo(connection: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):  # drop_sockets() cuts it: that is the test
        for message in connection:
            connection.send(message)


def _health(connection: ServerConnection, request: Request) -> Response | None:
    """Answer plain GET /api/health with 200, as a Prefect server would; upgrades go on."""
    if request.path == "/api/health" and "Upgrade" not in request.headers:
        return connection.respond(http.HTTPStatus.OK, "true")
    return None


@pytest.fixture
def upstream() -> Iterator[str]:
    """``http://127.0.0.1:PORT/api`` of an echo websocket server that also serves /api/health."""
    server: Server = serve(_echo, "127.0.0.1", 0, process_request=_health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.socket.getsockname()[1]}/api"
    finally:
        server.shutdown()
        thread.join(TIMEOUT)


def _ws(proxy: SocketProxy) -> ClientConnection:
    url = proxy.api_url.replace("http://", "ws://", 1) + "/events/in"
    return connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT)


def _get_health(proxy: SocketProxy) -> httpx.Response:
    return httpx.get(proxy.api_url + "/health", timeout=TIMEOUT)


def _echoes(connection: Connection, text: str) -> bool:
    connection.send(text)
    return connection.recv(timeout=TIMEOUT) == text


def test_api_url_keeps_the_path_on_the_proxy_port(upstream: str) -> None:
    with SocketProxy(upstream) as proxy:
        assert proxy.port > 0
        assert proxy.api_url == f"http://127.0.0.1:{proxy.port}/api"
        assert proxy.port != int(upstream.rsplit(":", 1)[1].split("/")[0])


def test_plain_get_reaches_upstream(upstream: str) -> None:
    with SocketProxy(upstream) as proxy:
        response = _get_health(proxy)

        assert (response.status_code, response.text) == (200, "true")
        assert (proxy.upgrades, proxy.refused) == (0, 0)


def test_websocket_echoes_through_the_proxy(upstream: str) -> None:
    with SocketProxy(upstream) as proxy, _ws(proxy) as connection:
        assert _echoes(connection, "hello")
        assert _echoes(connection, "x" * 200_000)  # bigger than one read
        assert proxy.upgrades == 1


def test_refused_upgrades_get_403_while_rest_works(upstream: str) -> None:
    with SocketProxy(upstream, refuse_upgrades=True) as proxy:
        with pytest.raises(InvalidStatus) as refused:
            _ws(proxy)

        assert refused.value.response.status_code == 403
        assert refused.value.response.headers["Content-Length"] == "0"
        assert _get_health(proxy).status_code == 200
        assert (proxy.upgrades, proxy.refused) == (0, 1)


def test_drop_sockets_cuts_websockets_and_new_ones_work(upstream: str) -> None:
    with SocketProxy(upstream) as proxy:
        first = _ws(proxy)
        assert _echoes(first, "before")

        assert proxy.drop_sockets() == 1

        with pytest.raises(ConnectionClosedError):
            first.recv(timeout=TIMEOUT)
        with _ws(proxy) as second:
            assert _echoes(second, "after")
            assert proxy.upgrades == 2
        assert _get_health(proxy).status_code == 200  # plain HTTP is never dropped


def test_drop_sockets_leaves_plain_http_connections_alone(upstream: str) -> None:
    with SocketProxy(upstream) as proxy, socket.create_connection(("127.0.0.1", proxy.port)) as raw:
        raw.settimeout(TIMEOUT)
        raw.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 200")

        assert proxy.drop_sockets() == 0


def test_stop_closes_open_websockets_promptly(upstream: str) -> None:
    proxy = SocketProxy(upstream).start()
    connection = _ws(proxy)
    assert _echoes(connection, "hi")

    started = time.monotonic()
    proxy.stop()

    assert time.monotonic() - started < 1.5
    with pytest.raises(ConnectionClosedError):
        connection.recv(timeout=TIMEOUT)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)
    proxy.stop()  # a second stop is a no-op


def test_unreachable_upstream_answers_502() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with SocketProxy(f"http://127.0.0.1:{port}/api") as proxy:
        assert _get_health(proxy).status_code == 502


def test_is_upgrade_reads_the_header_in_any_case() -> None:
    def head(*lines: str) -> bytes:
        return "\r\n".join(["GET /api/events/in HTTP/1.1", *lines, "", ""]).encode()

    assert is_upgrade(head("Host: x", "Connection: Upgrade", "Upgrade: websocket"))
    assert is_upgrade(head("UPGRADE:  WebSocket"))
    assert not is_upgrade(head("Host: x", "Connection: keep-alive"))
    assert not is_upgrade(head("Upgrade: h2c"))
    assert not is_upgrade(head("X-Note: Upgrade: websocket"))


def test_refuses_non_http_urls() -> None:
    with pytest.raises(ValueError, match="http://"):
        SocketProxy("https://example.com/api")
