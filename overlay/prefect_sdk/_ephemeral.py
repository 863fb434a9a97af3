"""An ASGI app served in-process, with no port: the ephemeral mode.

The app runs on an event loop of its own, in a daemon thread, and every client (sync or async,
on any event loop) reaches it through a transport that hands requests to that loop. So the app's
database engine lives on one loop whatever the callers do, and a sync client needs no server.

The app's lifespan (startup and shutdown hooks) is reference-counted: the first client that
opens starts it, the last that closes shuts it down, however many nest or run concurrently.
Prefect's own server app is the exception: its lifespan runs only once per app object (a second
one starts none of its services: no event persister, no scheduler), so once started it keeps
running until the process exits.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import gc
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
logger = logging.getLogger("prefect_sdk")

EPHEMERAL_BASE_URL = "http://ephemeral-prefect/api"
STARTUP_TIMEOUT = 120.0
# How long the interpreter's exit waits for the app's remaining tasks to end once cancelled.
EXIT_TIMEOUT = 5.0
# How long the app's remaining tasks may go on at exit before they are cancelled.
EXIT_GRACE = 0.5


class AppHost:
    """One app, its loop thread, and the count of clients using it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keep_running: bool = False,
        context: contextvars.Context | None = None,
        max_requests: int | None = None,
        after_start: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        # Run (in a worker thread) once the app has started, the first time only.
        self._after_start = after_start
        # At most this many requests inside the app at once (None: no limit); see host_for.
        self.max_requests = max_requests
        self._slots: asyncio.Semaphore | None = None
        # What every task of the app starts from (a copy each): never the caller's context, so
        # a caller's context variables (a Prefect settings context, a flow run's) cannot change
        # which settings, and so which database, the app uses from one request to the next.
        self._context = contextvars.Context() if context is None else context
        # Keep the lifespan up once started, until the process exits (see the module docstring).
        self.keep_running = keep_running
        self._lock = threading.Lock()
        self._users = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifespan_task: asyncio.Future[None] | None = None
        self._transition_lock: asyncio.Lock | None = None
        self._stop_event = asyncio.Event()
        self._started: concurrent.futures.Future[None] | None = None
        # As Prefect's own in-process client: the app's answer (a 503 for a locked SQLite
        # database, from its exception handler) reaches the client, never the app's exception
        # (which Starlette re-raises after answering); see `guarded`.
        self._asgi = httpx.ASGITransport(app=guarded(app), raise_app_exceptions=False)
        # The app's side of each open websocket (AppSocket): ended before the lifespan is.
        self.sockets: set[asyncio.Future[None]] = set()

    def acquire(self) -> concurrent.futures.Future[None]:
        """Count one more user; the returned future is done when the app has started."""
        with self._lock:
            self._users += 1
            # A kept-running app starts once: later first users find it up (`_started` done).
            started = self._started
            up = started is not None and not (started.done() and started.exception())
            if self._users == 1 and not (self.keep_running and up):
                if self._loop is None:
                    self._loop = asyncio.new_event_loop()
                    threading.Thread(
                        target=self._loop.run_forever, name="prefect-sdk-ephemeral", daemon=True
                    ).start()
                self._started = self.run(self._start())
            assert self._started is not None
            return self._started

    def release(self) -> concurrent.futures.Future[None]:
        """Count one user less; the last one's future is done when the app has shut down."""
        with self._lock:
            if self._users == 0:
                raise RuntimeError("release() without acquire()")
            self._users -= 1
            assert self._loop is not None
            if self._users == 0:
                ending = self._end_sockets() if self.keep_running else self._stop()
                return self.run(ending)
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        done.set_result(None)
        return done

    def run(self, work: Awaitable[Any]) -> concurrent.futures.Future[Any]:
        """Run `work` on the app's loop in a task of the app's own context (see __init__)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._isolated(work), self._loop)

    async def _isolated(self, work: Awaitable[Any]) -> Any:
        # The task is made inside `Context.run`, so it runs in a copy of the app's context; a
        # cancel of this task cancels it too.
        return await self._context.run(asyncio.ensure_future, work)

    def _transitions(self) -> asyncio.Lock:
        # Created on the app's loop, where every start and stop runs: a reopen scheduled while
        # the last close is still shutting down waits for that shutdown, then starts afresh.
        if self._transition_lock is None:
            self._transition_lock = asyncio.Lock()
        return self._transition_lock

    async def _start(self) -> None:
        async with self._transitions():
            # The lifespan is entered and exited inside one task: hooks may set context
            # variables on the way in and reset them on the way out (same context needed).
            self._stop_event = asyncio.Event()
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._lifespan_task = asyncio.ensure_future(self._run_lifespan(ready))
            await ready
            hook, self._after_start = self._after_start, None
            if hook is not None:
                await asyncio.to_thread(hook)

    async def _run_lifespan(self, ready: asyncio.Future[None]) -> None:
        router = getattr(self.app, "router", None)
        lifespan = getattr(router, "lifespan_context", None)
        try:
            if lifespan is None:
                ready.set_result(None)
                await self._stop_event.wait()
                return
            async with lifespan(self.app):
                ready.set_result(None)
                await self._stop_event.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
                return
            raise

    async def _stop(self) -> None:
        # Transitions run in the order they were asked for: a start under way (a client that
        # closed at once) finishes first, and this stop ends the lifespan it began.
        async with self._transitions():
            await self._end_sockets()
            task, self._lifespan_task = self._lifespan_task, None
            if task is not None:
                self._stop_event.set()
                await task

    async def _end_sockets(self) -> None:
        """End the app's side of the websockets still open (streams their callers never closed)
        once no client is left to use them."""
        for socket in list(self.sockets):
            socket.cancel()
        await asyncio.gather(*self.sockets, return_exceptions=True)
        self.sockets.clear()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        if self.max_requests is None:
            return await self._timed(request)
        if self._slots is None:  # made on the app's loop, where every request runs
            self._slots = asyncio.Semaphore(self.max_requests)
        async with self._slots:
            return await self._timed(request)

    async def _timed(self, request: httpx.Request) -> httpx.Response:
        """The app's answer, within the request's read timeout (as a server's would be)."""
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            return await asyncio.wait_for(self._forward(request), timeout)
        except asyncio.TimeoutError:
            raise httpx.ReadTimeout(
                f"the in-process server gave no answer in {timeout}s", request=request
            ) from None

    async def _forward(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        # The raw (still encoded) body: the client decodes it once, by its content-encoding.
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        return httpx.Response(response.status_code, headers=response.headers, content=raw)

    def stop_at_exit(self) -> None:
        """End a kept-running lifespan (and its services) as the interpreter exits."""
        if self._loop is not None and self._lifespan_task is not None:
            with contextlib.suppress(Exception):
                self.run(self._stop()).result(STARTUP_TIMEOUT)
        if self._loop is not None:
            # What is still running on the app's loop (a request its caller cancelled, a
            # service's straggler) is cancelled and awaited: none is destroyed while pending.
            finishing = asyncio.run_coroutine_threadsafe(_finish_tasks(), self._loop)
            with contextlib.suppress(Exception):
                finishing.result(EXIT_TIMEOUT)

    def submit(self, request: httpx.Request) -> concurrent.futures.Future[httpx.Response]:
        if self._loop is None or self._users == 0:
            raise RuntimeError("the in-process app is not running: open the client first")
        request.read()
        return self.run(self._send(request))


async def _finish_tasks() -> None:
    """Let every other task of the running loop end (those still at work get a moment, then are
    cancelled), until none is left. The garbage is collected first each round: its finalizers
    (SQLAlchemy's aiosqlite connections) start tasks of their own to close, which must run
    while the loop still does."""
    for _ in range(5):
        gc.collect()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        if not others:
            return
        _, pending = await asyncio.wait(others, timeout=EXIT_GRACE)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=EXIT_TIMEOUT)


class AppTransport(httpx.BaseTransport):
    """Sync transport to an `AppHost`."""

    def __init__(self, host: AppHost) -> None:
        self.host = host

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.host.submit(request).result()


class AsyncAppTransport(httpx.AsyncBaseTransport):
    """Async transport to an `AppHost`, usable from any event loop."""

    def __init__(self, host: AppHost) -> None:
        self.host = host

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # A caller that cancels stops waiting, but the app finishes the request, as a server
        # does for a client that went away: cancelling it mid-way would leave the app's database
        # connection to be closed by a task nobody waits for (destroyed while pending at exit).
        return await asyncio.shield(asyncio.wrap_future(self.host.submit(request)))


class AppSocket:
    """A websocket to the hosted app, spoken in ASGI on the host's loop (no port).

    Its methods give concurrent futures, so both clients can wait for them (see `_socket.py`).
    """

    def __init__(
        self, host: AppHost, path: str, headers: list[tuple[str, str]], subprotocols: list[str]
    ) -> None:
        self.host = host
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            # The subprotocols go in the header too: that is where Prefect's server looks.
            "headers": [
                (b"host", b"ephemeral-prefect"),
                (b"sec-websocket-protocol", ", ".join(subprotocols).encode()),
            ]
            + [(name.lower().encode(), value.encode()) for name, value in headers],
            "subprotocols": subprotocols,
            "client": ("127.0.0.1", 0),
            "server": ("ephemeral-prefect", 80),
        }
        self._to_app: asyncio.Queue[dict[str, Any]] | None = None
        self._from_app: asyncio.Queue[dict[str, Any]] | None = None
        self._task: asyncio.Future[None] | None = None
        self._closed: tuple[int, str] | None = None

    def _run(self, step: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        if self.host._loop is None or self.host._users == 0:
            raise RuntimeError("the in-process app is not running: open the client first")
        return self.host.run(step(*args))

    def connect(self) -> concurrent.futures.Future[None]:
        return self._run(self._connect)

    def send(self, text: str) -> concurrent.futures.Future[None]:
        return self._run(self._send, text)

    def recv(self, timeout: float | None) -> concurrent.futures.Future[str]:
        return self._run(self._recv, timeout)

    def close(self) -> concurrent.futures.Future[None]:
        return self._run(self._close)

    async def _connect(self) -> None:
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        await self._to_app.put({"type": "websocket.connect"})
        app: Any = self.host.app
        self._task = asyncio.ensure_future(app(self.scope, self._to_app.get, self._from_app.put))
        self.host.sockets.add(self._task)
        self._task.add_done_callback(self.host.sockets.discard)
        first = await self._next()
        if first.get("type") != "websocket.accept":
            self._closing(first)

    async def _next(self) -> dict[str, Any]:
        """The app's next message; a close if the app returned without one."""
        assert self._from_app is not None and self._task is not None
        getting: asyncio.Future[Any] = asyncio.ensure_future(self._from_app.get())
        pending: set[asyncio.Future[Any]] = {getting, self._task}
        try:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # A receive that timed out (or was cancelled) ends its read of the queue too: a
            # pending read left behind would be destroyed while pending.
            if not getting.done():
                getting.cancel()
        if getting.done() and not getting.cancelled():
            message: dict[str, Any] = getting.result()
            return message
        return {"type": "websocket.close", "code": 1006, "reason": "the app ended the socket"}

    def _closing(self, message: dict[str, Any]) -> None:
        from ._socket import SocketClosed

        code, reason = int(message.get("code", 1000)), str(message.get("reason") or "")
        self._closed = (code, reason)
        raise SocketClosed(
            f"websocket {self.scope['path']} closed ({code}: {reason or 'no reason'})",
            code=code,
            reason=reason,
            opened=True,
        )

    async def _recv(self, timeout: float | None) -> str:
        if self._closed is not None:
            self._closing({"code": self._closed[0], "reason": self._closed[1]})
        message = await asyncio.wait_for(self._next(), timeout)
        if message.get("type") == "websocket.send":
            text = message.get("text")
            return text if text is not None else bytes(message.get("bytes") or b"").decode()
        self._closing(message)
        raise AssertionError("unreachable")

    async def _send(self, text: str) -> None:
        if self._closed is not None:
            self._closing({"code": self._closed[0], "reason": self._closed[1]})
        assert self._to_app is not None
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def _close(self) -> None:
        if self._to_app is None or self._task is None:
            return
        self._closed = self._closed or (1000, "closed by the client")
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 5.0)
        except BaseException:  # noqa: BLE001 - an app that does not stop is stopped
            self._task.cancel()


def guarded(app: ASGIApp) -> ASGIApp:
    """`app`, answering for it where it raises, so the caller gets the SDK's error for the
    answer and never the server's own exception.

    Starlette answers an unhandled error (Prefect's handler: a 503 for a locked database, else
    a 500) and then raises it again. An answer of 500 or more is held until the app returns: if
    it raised, the answer keeps its status and says which exception it was; where the app began
    no answer, it is a 500 that says so."""

    async def guard(
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        held: list[Any] = []
        started = False

        async def holding_send(message: Any) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
                if int(message.get("status", 200)) >= 500:
                    held.append(message)
                    return
            if held:
                held.append(message)
                return
            await send(message)

        try:
            await app(scope, receive, holding_send)
        except Exception as error:
            if scope.get("type") != "http" or (started and not held):
                raise
            logger.debug("the in-process app raised on %s", scope.get("path"), exc_info=True)
            status = int(held[0]["status"]) if held else 500
            raised = f"the in-process server raised {type(error).__name__}: {error}"
            body = json.dumps({"exception_message": " ".join(raised.split())[:500]}).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        for message in held:
            await send(message)

    return guard


_hosts: dict[int, AppHost] = {}
_hosts_lock = threading.Lock()


def host_for(app: ASGIApp) -> AppHost:
    """The one AppHost of `app` in this process (Prefect's own app: kept running once started)."""
    with _hosts_lock:
        host = _hosts.get(id(app))
        if host is None or host.app is not app:
            keep = app is _prefect_app
            context = _prefect_context if keep else None
            limit = IN_PROCESS_REQUESTS if keep and _on_sqlite() else None
            after_start = _save_template if keep and _template_source is not None else None
            host = _hosts[id(app)] = AppHost(
                app, keep_running=keep, context=context, max_requests=limit, after_start=after_start
            )
            if keep:
                # Before the interpreter's own exit handlers: once concurrent.futures has shut
                # its executors down, Prefect's services cannot stop (they spin on refused work).
                threading._register_atexit(host.stop_at_exit)  # type: ignore[attr-defined]
        return host


# Requests Prefect's in-process app serves at once on SQLite. SQLite takes one writer at a time,
# and concurrent write transactions on one server fail fast with "database is locked" (a 503 to
# retry): 100 concurrent create_flow_run made 89 in 78 s with no limit, 100 in 74 s at 4 at a
# time, 100 in 11 s one at a time (measured on this 2-core machine under load). In-process, the
# app shares one event loop and one core with every request anyway, so little is lost.
IN_PROCESS_REQUESTS = 1


def _on_sqlite() -> bool:
    """Whether the in-process server's database is SQLite (the default) per the environment."""
    url = next((os.environ[name] for name in DATABASE_URL_SETTINGS if name in os.environ), "")
    return not url or url.startswith("sqlite")


_prefect_app: ASGIApp | None = None
# The context Prefect's app runs in: its settings, read when the app is built.
_prefect_context: contextvars.Context | None = None


# Prefect's names for the server's database URL (the second is the pre-3.0 one it still reads).
DATABASE_URL_SETTINGS = (
    "PREFECT_SERVER_DATABASE_CONNECTION_URL",
    "PREFECT_API_DATABASE_CONNECTION_URL",
)


# Server settings the in-process server is started with unless the environment says otherwise.
IN_PROCESS_SETTINGS = (
    "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED",
    "PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED",
)


# A throwaway database starts as a copy of a migrated, empty one kept in the user's cache, per
# Prefect version: migrating a new SQLite database is most of the in-process server's start
# (lifespan 11.4 s on a new database, 1.5 s on a migrated one, measured on this machine).
# The throwaway database to save as the template once migrated (None: none is wanted).
_template_source: str | None = None


def _template_path() -> str:
    from importlib.metadata import version

    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "prefect-sdk", f"prefect-{version('prefect')}-empty.db")


def _seed_from_template(database: str) -> None:
    """Copy the migrated template into `database` if there is one; else note that one is wanted
    (saved once this process's server has migrated its database: `_save_template`)."""
    global _template_source
    try:
        template = _template_path()
        if os.path.isfile(template):
            shutil.copyfile(template, database)
            return
    except Exception:  # noqa: BLE001 - no cache: the server migrates, as it would anyway
        logger.debug("no database template for the in-process server", exc_info=True)
        return
    _template_source = database


def _save_template() -> None:
    """Save the just-migrated database (before any request has written to it) as the template:
    a consistent copy (SQLite's backup), put in place atomically."""
    import sqlite3

    if _template_source is None:
        return
    try:
        template = _template_path()
        os.makedirs(os.path.dirname(template), exist_ok=True)
        partial = f"{template}.{os.getpid()}.partial"
        source = contextlib.closing(sqlite3.connect(_template_source))
        with source as reading, contextlib.closing(sqlite3.connect(partial)) as writing:
            reading.backup(writing)
        os.replace(partial, template)
    except Exception:  # noqa: BLE001 - the next process migrates its own database
        logger.debug("could not save the in-process database template", exc_info=True)


def prefect_server_app() -> ASGIApp:
    """Prefect's own server app (the `server` extra), built once per process.

    It uses PREFECT_HOME's SQLite database when PREFECT_HOME is set (or the database URL the
    environment names), else a throwaway one. Only the server's database URL is set for that:
    PREFECT_HOME is left alone, so the user's own profile still configures every client.

    Prefect reads its settings once, at its import, into a global settings context: a program
    that imported `prefect` before this point would otherwise run the app on settings that
    predate the ones set here (the user's own database, telemetry on), and on whatever else
    changed in the environment since. So the app is built, and always runs, under a settings
    context of its own read now (`SettingsContext` with a fresh `Settings()`), the same
    whether `prefect` was imported first or not; Prefect's global settings are left alone.
    """
    global _prefect_app, _prefect_context
    with _hosts_lock:
        if _prefect_app is None:
            configured = ("PREFECT_HOME", *DATABASE_URL_SETTINGS)
            if not any(name in os.environ for name in configured):
                folder = tempfile.mkdtemp(prefix="prefect-sdk-ephemeral-")
                # Removed at exit, after the app has stopped (threading's exit hooks, where the
                # app is stopped, run before atexit's).
                atexit.register(shutil.rmtree, folder, ignore_errors=True)
                database = os.path.join(folder, "prefect.db")
                _seed_from_template(database)
                os.environ[DATABASE_URL_SETTINGS[0]] = f"sqlite+aiosqlite:///{database}"
            # An in-process server has no business phoning home (and may have no network).
            os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
            # What the SDK's methods need of the server it starts: `subscribe_logs` reads the
            # /logs/out stream, which a server only feeds with both of these on.
            for name in IN_PROCESS_SETTINGS:
                os.environ.setdefault(name, "true")
            import prefect.context
            import prefect.settings
            from prefect.server.api.server import create_app

            context = contextvars.Context()
            # In an empty context, Prefect's current settings context is its global one.
            profile = context.run(prefect.context.get_settings_context).profile
            settings = prefect.settings.Settings()
            context.run(
                prefect.context.SettingsContext(profile=profile, settings=settings).__enter__
            )
            _prefect_app = context.run(create_app, settings, ephemeral=True)
            _prefect_context = context
        return _prefect_app


def server_extra_installed() -> bool:
    """Whether Prefect's server package (the `server` extra) is installed.

    Looked up without importing it: importing prefect fixes its settings, and the ephemeral
    app's settings are only set just before it is built.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("prefect")
    locations = (spec.submodule_search_locations or []) if spec else []
    return any((Path(location) / "server" / "api" / "server.py").exists() for location in locations)
