"""Websockets, the same way as HTTP: an operation yields steps, a runner carries them out.

A streaming method (an event or log subscription, a wait that follows events) is written once as
a generator, like every other method. Besides `httpx.Request`s it yields the steps below and
`Sleep`; it is sent back what each step gives (a socket handle, the text of a message, None for a
receive that timed out) and a `SocketClosed` is thrown into it when a socket cannot be opened or
closes. The two runners (`AsyncSockets`, `SyncSockets`) are the only code that touches a socket:
the `websockets` library's asyncio and threaded clients for a server, or the in-process app's
websocket (`_ephemeral.AppSocket`). `websockets` is imported only when a socket opens; what it
logs at DEBUG (handshake headers, the auth frame) goes through `_redact`'s filter, imported here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from . import _redact  # noqa: F401 - installs the filter that keeps credentials out of logs
from ._policy import Sleep
from .errors import PrefectSDKError, safe_url

if TYPE_CHECKING:
    from ._ephemeral import AppSocket

SUBPROTOCOL = "prefect"
OPEN_TIMEOUT = 10.0
# The largest message a stream accepts (an event with a large payload).
MAX_MESSAGE = 16 * 1024 * 1024
# Close codes: the server's "policy violation" (authentication), and "protocol error" (a
# filter it refused).
POLICY_VIOLATION = 1008
PROTOCOL_ERROR = 1002
# What a receive that timed out raises (asyncio's is not the built-in TimeoutError on 3.10).
TIMEOUTS = (TimeoutError, asyncio.TimeoutError)
# Request headers a socket does not carry over from the HTTP client.
_NOT_FOR_SOCKETS = frozenset(
    {"content-type", "content-length", "prefect-csrf-token", "prefect-csrf-client", "host"}
)


@dataclass(frozen=True)
class Connect:
    """Open a websocket to `route` of the API (e.g. "/events/out"); gives a socket handle."""

    route: str


@dataclass(frozen=True)
class Send:
    socket: Any
    text: str


@dataclass(frozen=True)
class Receive:
    """The next message's text, or None if none came within `timeout` seconds (None: wait)."""

    socket: Any
    timeout: float | None = None


@dataclass(frozen=True)
class Close:
    socket: Any


SocketStep = Connect | Send | Receive | Close | Sleep


class SocketClosed(PrefectSDKError):
    """A websocket could not be opened (`opened` is False; `status` is the HTTP status the
    server answered instead, if it did) or closed: `code` is the close code (None when the
    connection just dropped), `reason` what the server or the library said."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None,
        reason: str,
        opened: bool,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.opened = opened
        self.status = status


@dataclass(frozen=True)
class Target:
    """Where and how a client opens its sockets."""

    url: str  # ws:// or wss://, up to and including the API path ("ws://host:4200/api")
    headers: list[tuple[str, str]]
    ssl: ssl.SSLContext | None
    proxy: str | bool | None  # True: from the environment, as httpx's trust_env
    host: Any  # the in-process app's host, or None


def socket_target(client: Any) -> Target:
    """The socket settings of `client`: its API URL as ws(s)://, its headers (custom headers
    and credentials included), its TLS and proxy settings.

    A user and password in the API URL are sent as httpx sends them, as basic auth in place of
    the client's Authorization header (unless httpx_settings give an `auth`), and left out of
    the URL, which error messages name."""
    options = client._http_options
    url = httpx.URL(client._api_url)
    scheme = "wss" if url.scheme == "https" else "ws"
    headers = [
        (name, value)
        for name, value in httpx.Headers(options.get("headers")).items()
        if name.lower() not in _NOT_FOR_SOCKETS
    ]
    if url.userinfo:
        if options.get("auth") in (None, client._url_auth):  # not an `auth` the user gave
            userinfo = f"{url.username}:{url.password}".encode()
            headers = [(name, value) for name, value in headers if name.lower() != "authorization"]
            headers.append(("Authorization", "Basic " + base64.b64encode(userinfo).decode()))
        url = httpx.URL(safe_url(url))
    context: ssl.SSLContext | None = None
    if scheme == "wss":
        verify = options.get("verify", True)
        if isinstance(verify, ssl.SSLContext):
            context = verify
        elif verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif isinstance(verify, str):
            context = ssl.create_default_context(cafile=verify)
        else:
            context = ssl.create_default_context()
    proxy = options.get("proxy")
    trust_env = options.get("trust_env", True)
    return Target(
        url=str(url.copy_with(scheme=scheme)).rstrip("/"),
        headers=headers,
        ssl=context,
        proxy=str(proxy) if proxy is not None else (True if trust_env else None),
        host=client._host,
    )


def _closed(error: BaseException, target: str, *, opened: bool) -> SocketClosed:
    """The `SocketClosed` for what the websockets library (or the OS) raised."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    if isinstance(error, ConnectionClosed):
        frame = error.rcvd
        code, reason = (frame.code, frame.reason) if frame is not None else (None, "dropped")
        return SocketClosed(
            f"websocket {target} closed ({code or 'no close frame'}: {reason or 'no reason'})",
            code=code,
            reason=reason,
            opened=True,
        )
    status = None
    if isinstance(error, InvalidStatus):
        status = error.response.status_code
        reason = f"the server answered {status} instead of opening a websocket"
    else:
        reason = " ".join(str(error).split()) or type(error).__name__
    state = "closed" if opened else "could not be opened"
    return SocketClosed(
        f"websocket {target} {state}: {reason}",
        code=None,
        reason=reason,
        opened=opened,
        status=status,
    )


def _connect_options(target: Target) -> dict[str, Any]:
    from websockets.typing import Subprotocol

    options: dict[str, Any] = {
        "additional_headers": target.headers,
        "subprotocols": [Subprotocol(SUBPROTOCOL)],
        "open_timeout": OPEN_TIMEOUT,
        "max_size": MAX_MESSAGE,
        "proxy": target.proxy,
    }
    if target.ssl is not None:
        options["ssl"] = target.ssl
    return options


def _app_socket(target: Target, route: str) -> AppSocket:
    from ._ephemeral import EPHEMERAL_BASE_URL, AppSocket

    path = httpx.URL(EPHEMERAL_BASE_URL).path.rstrip("/") + route
    return AppSocket(target.host, path, target.headers, [SUBPROTOCOL])


def _text(message: str | bytes) -> str:
    return message if isinstance(message, str) else message.decode("utf-8", "replace")


class _AsyncWebsocket:
    """A websockets asyncio connection, as the async runner uses sockets."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def send(self, text: str) -> None:
        await self.connection.send(text)

    async def recv(self, timeout: float | None) -> str:
        return _text(await asyncio.wait_for(self.connection.recv(), timeout))  # cancel-safe

    async def close(self) -> None:
        await asyncio.wait_for(self.connection.close(), OPEN_TIMEOUT)


class _AsyncAppSocket:
    """The in-process app's socket (whose methods give concurrent futures), awaited."""

    def __init__(self, socket: AppSocket) -> None:
        self.socket = socket

    async def send(self, text: str) -> None:
        await asyncio.wrap_future(self.socket.send(text))

    async def recv(self, timeout: float | None) -> str:
        return await asyncio.wrap_future(self.socket.recv(timeout))

    async def close(self) -> None:
        await asyncio.wrap_future(self.socket.close())


class _SyncAppSocket:
    """The in-process app's socket, waited for from a thread."""

    def __init__(self, socket: AppSocket) -> None:
        self.socket = socket

    def send(self, text: str) -> None:
        self.socket.send(text).result()

    def recv(self, timeout: float | None) -> str:
        return self.socket.recv(timeout).result()

    def close(self) -> None:
        self.socket.close().result(timeout=OPEN_TIMEOUT)


class _SyncWebsocket:
    """A websockets threaded connection, as the sync runner uses sockets."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def send(self, text: str) -> None:
        self.connection.send(text)

    def recv(self, timeout: float | None) -> str:
        return _text(self.connection.recv(timeout=timeout))

    def close(self) -> None:
        self.connection.close()


class _Handle:
    """What an operation holds for an open socket: the socket, and its URL for messages."""

    def __init__(self, socket: Any, name: str) -> None:
        self.socket = socket
        self.name = name


class AsyncSockets:
    """Carries out socket steps for `PrefectClient` (asyncio); closes what is left open."""

    def __init__(self, client: Any) -> None:
        self.target = socket_target(client)
        self.open: list[_Handle] = []

    async def perform(self, step: SocketStep) -> Any:
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        if isinstance(step, Connect):
            return await self._connect(step.route)
        handle: _Handle = step.socket
        try:
            if isinstance(step, Send):
                await handle.socket.send(step.text)
                return None
            if isinstance(step, Receive):
                try:
                    return await handle.socket.recv(step.timeout)
                except TIMEOUTS:
                    return None
        except SocketClosed:
            raise
        except Exception as error:
            raise _closed(error, handle.name, opened=True) from error
        await self._close(handle)
        return None

    async def _connect(self, route: str) -> _Handle:
        target = self.target
        name = target.url + route
        try:
            if target.host is not None:
                app_socket = _app_socket(target, route)
                await asyncio.wrap_future(app_socket.connect())
                socket: Any = _AsyncAppSocket(app_socket)
            else:
                from websockets.asyncio.client import connect

                socket = _AsyncWebsocket(await connect(name, **_connect_options(target)))
        except SocketClosed:
            raise
        except Exception as error:
            raise _closed(error, name, opened=False) from error
        handle = _Handle(socket, name)
        self.open.append(handle)
        return handle

    async def _close(self, handle: _Handle) -> None:
        if handle in self.open:
            self.open.remove(handle)
            with contextlib.suppress(Exception):  # closing a socket that already went away
                await handle.socket.close()

    async def close_all(self) -> None:
        for handle in list(self.open):
            await self._close(handle)


class SyncSockets:
    """Carries out socket steps for `SyncPrefectClient` (threads); closes what is left open."""

    def __init__(self, client: Any) -> None:
        self.target = socket_target(client)
        self.open: list[_Handle] = []

    def perform(self, step: SocketStep) -> Any:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        if isinstance(step, Connect):
            return self._connect(step.route)
        handle: _Handle = step.socket
        try:
            if isinstance(step, Send):
                handle.socket.send(step.text)
                return None
            if isinstance(step, Receive):
                try:
                    return handle.socket.recv(step.timeout)
                except TIMEOUTS:
                    return None
        except SocketClosed:
            raise
        except Exception as error:
            raise _closed(error, handle.name, opened=True) from error
        self._close(handle)
        return None

    def _connect(self, route: str) -> _Handle:
        target = self.target
        name = target.url + route
        try:
            if target.host is not None:
                app_socket = _app_socket(target, route)
                app_socket.connect().result(timeout=OPEN_TIMEOUT)
                socket: Any = _SyncAppSocket(app_socket)
            else:
                from websockets.sync.client import connect

                socket = _SyncWebsocket(connect(name, **_connect_options(target)))
        except SocketClosed:
            raise
        except Exception as error:
            raise _closed(error, name, opened=False) from error
        handle = _Handle(socket, name)
        self.open.append(handle)
        return handle

    def _close(self, handle: _Handle) -> None:
        if handle in self.open:
            self.open.remove(handle)
            with contextlib.suppress(Exception):  # closing a socket that already went away
                handle.socket.close()

    def close_all(self) -> None:
        for handle in list(self.open):
            self._close(handle)
