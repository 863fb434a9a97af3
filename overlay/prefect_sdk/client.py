"""`PrefectClient` (async) and `SyncPrefectClient`: one implementation, two ways to call it.

Everything the two share (settings, headers, the httpx configuration, the request policy, the
methods) lives in `BaseClient`; each subclass adds only how it opens, closes and drives an
operation (see `_operations.py`).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import enum
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx

from . import _ephemeral
from ._concurrent import STEPS as CONCURRENT_STEPS
from ._concurrent import AsyncRequests, SyncRequests
from ._operations import (
    Item,
    Listing,
    Op,
    call,
    operation,
    send,
    signature_of,
    with_responses,
)
from ._paging import PAGE_CONCURRENCY, check_page_concurrency
from ._policy import MAX_RETRIES_EXTENSION, RequestPolicy
from ._redact import redact
from ._resources._common import PAGE_SIZE
from ._resources.admin import AdminOperations
from ._resources.artifacts import ArtifactOperations
from ._resources.automations import AutomationOperations
from ._resources.blocks import BlockOperations
from ._resources.concurrency import ConcurrencyOperations
from ._resources.concurrency_slots import ConcurrencySlotOperations
from ._resources.deployments import DeploymentOperations
from ._resources.events import EventOperations
from ._resources.flow_runs import FlowRunOperations
from ._resources.flows import FlowOperations
from ._resources.history import HistoryOperations
from ._resources.logs import LogOperations
from ._resources.observed_states import ObservedStateOperations
from ._resources.saved_searches import SavedSearchOperations
from ._resources.streams import StreamOperations
from ._resources.task_runs import TaskRunOperations
from ._resources.ui import UIOperations
from ._resources.variables import VariableOperations
from ._resources.waiting import WaitOperations
from ._resources.work_pools import WorkPoolOperations
from ._settings import Settings, api_url_problem, is_cloud_url, load_settings, tls_verify
from ._socket import AsyncSockets, SyncSockets
from ._transport import AsyncRetryingTransport, RetryingTransport
from ._version import __version__
from .errors import (
    ClientNotOpenError,
    PrefectSDKError,
    SettingsError,
    as_sdk_error,
    safe_url,
)

logger = logging.getLogger("prefect_sdk")

T = TypeVar("T")
R = TypeVar("R")
Transport = TypeVar("Transport")
M = TypeVar("M", bound=Callable[..., Any])
C = TypeVar("C", bound="BaseClient")

API_VERSION_HEADER = "X-PREFECT-API-VERSION"
# Headers the SDK sets itself; PREFECT_CLIENT_CUSTOM_HEADERS may not replace them.
PROTECTED_HEADERS = frozenset(
    name.lower()
    for name in (
        "Authorization",
        API_VERSION_HEADER,
        "User-Agent",
        "Prefect-Csrf-Token",
        "Prefect-Csrf-Client",
    )
)
TRANSPORT_OPTIONS = (
    "verify",
    "cert",
    "trust_env",
    "http1",
    "http2",
    "limits",
    "proxy",
    "uds",
    "local_address",
    "retries",
    "socket_options",
)
# 16 connections, all kept alive for 25 s: with fewer kept alive than the pool holds, httpcore
# 1.0.9 opened a new connection for every request under load (2,000 for 2,000 calls from 100
# tasks, 8.8 s; all 16 kept alive: 16 connections, 5.5 s; `python -m bench.keepalive`).
POOL_LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=16, keepalive_expiry=25)


class ServerType(str, enum.Enum):
    """What kind of Prefect API a client talks to."""

    EPHEMERAL = "ephemeral"
    SERVER = "server"
    CLOUD = "cloud"
    UNCONFIGURED = "unconfigured"


def determine_server_type(settings: Settings | None = None) -> ServerType:
    """The server type the current settings (or `settings`) point at."""
    settings = settings or load_settings()
    if settings.api_url:
        if is_cloud_url(settings.api_url, settings.cloud_api_url):
            return ServerType.CLOUD
        return ServerType.SERVER
    if _ephemeral.server_extra_installed():
        return ServerType.EPHEMERAL
    return ServerType.UNCONFIGURED


def _named_like(fn: Callable[..., Any], method: M, returns: str) -> M:
    """`method` (a bound driver of the operation `fn`) with `fn`'s name, docstring and signature
    (without `self`, returning what this client's method returns: see `signature_of`)."""
    method.__name__ = fn.__name__
    method.__qualname__ = fn.__qualname__
    method.__module__ = fn.__module__
    method.__doc__ = fn.__doc__
    method.__signature__ = signature_of(fn, returns)  # type: ignore[attr-defined]
    return method


UNCONFIGURED_MESSAGE = (
    "no Prefect API configured: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api), "
    "or install prefect-sdk[server] to run an in-process server"
)


class BaseClient(
    FlowOperations,
    FlowRunOperations,
    TaskRunOperations,
    LogOperations,
    ObservedStateOperations,
    DeploymentOperations,
    WorkPoolOperations,
    BlockOperations,
    ConcurrencyOperations,
    ConcurrencySlotOperations,
    VariableOperations,
    ArtifactOperations,
    AutomationOperations,
    EventOperations,
    StreamOperations,
    WaitOperations,
    UIOperations,
    AdminOperations,
    SavedSearchOperations,
    HistoryOperations,
):
    """Configuration and methods shared by both clients. Not for direct use."""

    @property
    def _http(self) -> httpx.Client | httpx.AsyncClient:
        """The httpx client requests are sent on: the root client's (see `with_options`)."""
        raise NotImplementedError

    # Rows asked for per request by paging reads: the server's default cap.
    page_size: int = PAGE_SIZE
    # How many pages a listing read may have in flight at once (see _paging.py); 1: none ahead.
    page_concurrency: int = PAGE_CONCURRENCY

    def __init__(
        self,
        api: str | _ephemeral.ASGIApp,
        *,
        api_key: str | None = None,
        api_version: str | None = None,
        httpx_settings: Mapping[str, Any] | None = None,
        auth_string: str | None = None,
        page_concurrency: int | None = None,
    ) -> None:
        from prefect_api import API_VERSION, Client

        if page_concurrency is not None:
            self.page_concurrency = check_page_concurrency(page_concurrency)

        self._settings = load_settings(api_key=api_key, auth_string=auth_string)
        options = dict(httpx_settings or {})
        app = options.pop("app", None)
        if app is not None and isinstance(api, str):
            raise SettingsError("httpx_settings['app'] cannot be used together with an API URL")
        if app is None and callable(api):
            app = api
        self._host: _ephemeral.AppHost | None = None
        if app is not None:
            self._host = _ephemeral.host_for(app)
            self._api_url = _ephemeral.EPHEMERAL_BASE_URL
            self._server_type = ServerType.EPHEMERAL
        else:
            if not isinstance(api, str):
                raise SettingsError(
                    f"api must be the API's URL (e.g. http://127.0.0.1:4200/api) or an ASGI "
                    f"app, not {type(api).__name__}"
                )
            problem = api_url_problem(api.strip().rstrip("/"))
            if problem is not None:
                raise SettingsError(f"API URL {redact(api)!r} {problem}")
            self._api_url = api.strip().rstrip("/")
            cloud = is_cloud_url(self._api_url, self._settings.cloud_api_url)
            self._server_type = ServerType.CLOUD if cloud else ServerType.SERVER

        headers = httpx.Headers(options.pop("headers", None))
        for name, value in self._settings.custom_headers.items():
            if name.lower() in PROTECTED_HEADERS:
                logger.warning("PREFECT_CLIENT_CUSTOM_HEADERS may not set %s: ignored", name)
            elif name not in headers:
                headers[name] = value
        headers[API_VERSION_HEADER] = api_version or API_VERSION
        headers["User-Agent"] = f"prefect-sdk/{__version__}"
        if self._settings.auth_string:
            token = base64.b64encode(self._settings.auth_string.encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif self._settings.api_key:
            headers["Authorization"] = f"Bearer {self._settings.api_key}"

        # A user and password written in the URL are sent as basic auth (as httpx would) and
        # kept out of the URL every request carries, so no request's repr or URL shows them.
        url = httpx.URL(self._api_url)
        self._base_url = safe_url(url)
        self._url_auth: httpx.BasicAuth | None = None
        if url.userinfo and "auth" not in options:
            options["auth"] = self._url_auth = httpx.BasicAuth(url.username, url.password)
        self._policy = RequestPolicy(
            base_url=httpx.URL(self._base_url + "/"),
            max_retries=self._settings.max_retries,
            extra_retry_codes=self._settings.retry_extra_codes,
            jitter_factor=self._settings.retry_jitter_factor,
            csrf_enabled=self._settings.csrf_support_enabled
            and self._server_type is not ServerType.CLOUD,
        )
        self._http_options: dict[str, Any] = {
            "base_url": self._base_url,
            "headers": headers,
            "timeout": httpx.Timeout(self._settings.request_timeout),
            "http2": self._settings.enable_http2,
            "limits": POOL_LIMITS,
            **options,
        }
        # Prefect's TLS settings, unless httpx_settings["verify"] says otherwise (the sockets
        # follow the same `verify`: see _socket.socket_target).
        tls_context = tls_verify(self._settings)
        if tls_context is not None and "verify" not in options:
            self._http_options["verify"] = tls_context
        # The generated package's client, sharing this client's httpx client: for parsing, and
        # for users who call generated endpoint functions directly (`client.api`).
        self.api = Client(base_url=self._base_url, raise_on_unexpected_status=False)
        self._opened = False
        self._closed = False
        # The server's Prefect version, read once when an error message needs it.
        self._server_version: str | None = None
        # A client made by `with_options` shares its root's httpx client and lifetime, and adds
        # these to each request it builds.
        self._root: BaseClient = self
        self._request_options: dict[str, Any] = {}
        # What read-ahead learnt of each list route (see _paging.py), shared with copies.
        self._read_ahead: dict[str, Any] = {}

    def _http_parts(
        self, pool: Callable[..., Transport], in_process: Callable[[_ephemeral.AppHost], Transport]
    ) -> tuple[Transport, dict[str, Any]]:
        """The transport this client's retrying transport wraps, and the httpx client options.

        The in-process app's transport, else the user's `transport`, else a connection pool with
        the pool options (httpx ignores them on a client that has its own transport).
        """
        options = dict(self._http_options)
        pool_options = {key: options.pop(key) for key in TRANSPORT_OPTIONS if key in options}
        if "trust_env" in pool_options:
            options["trust_env"] = pool_options["trust_env"]
        given = options.pop("transport", None)
        if self._host is not None:
            return in_process(self._host), options
        return (given if given is not None else pool(**pool_options)), options

    @property
    def api_url(self) -> httpx.URL:
        """The base URL of the API."""
        return httpx.URL(self._api_url)

    @property
    def server_type(self) -> ServerType:
        return self._server_type

    def client_version(self) -> str:
        """The version of this SDK."""
        return __version__

    def __repr__(self) -> str:
        kind = self._server_type.value
        url = safe_url(httpx.URL(self._api_url))
        return f"{type(self).__name__}(api_url={url!r}, server_type={kind})"

    def _check_enterable(self) -> None:
        if self._root is not self:
            raise ClientNotOpenError(
                "a client made by with_options shares its parent's lifetime: enter the parent"
            )
        if self._opened:
            raise ClientNotOpenError(f"{type(self).__name__} cannot be opened twice")

    def _check_open(self) -> None:
        root = self._root
        if not root._opened or root._closed:
            state = "closed" if root._closed else "not open"
            how = "async with" if isinstance(self, PrefectClient) else "with"
            raise ClientNotOpenError(
                f"{type(self).__name__} is {state}: use it inside `{how} get_client() as client:`"
            )

    # ----- per-call options -----

    def with_options(
        self: C,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
        page_concurrency: int | None = None,
    ) -> C:
        """A client that differs from this one only in these: the request timeout (seconds or
        an `httpx.Timeout`), the retries per request, extra headers. It shares this client's
        connections and lifetime (use it while this one is open; it is not entered itself).
        Options given again replace the earlier ones; headers are merged. `page_concurrency`
        caps the pages a paging read keeps in flight (1: one page after the other)."""
        options = dict(self._request_options)
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, int | float | httpx.Timeout):
                raise ValueError(f"timeout must be seconds or an httpx.Timeout, not {timeout!r}")
            options["timeout"] = timeout if isinstance(timeout, httpx.Timeout) else float(timeout)
        if max_retries is not None:
            if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
                raise ValueError(f"max_retries must be a whole number >= 0, not {max_retries!r}")
            options["max_retries"] = max_retries
        if headers is not None:
            merged = httpx.Headers(options.get("headers"))
            for name, value in dict(headers).items():
                if name.lower() in PROTECTED_HEADERS:
                    raise ValueError(
                        f"with_options cannot set the {name} header: the client sets it itself "
                        "(credentials come from api_key/auth_string or the settings)"
                    )
                merged[name] = value
            options["headers"] = merged
        derived = copy.copy(self)
        derived._request_options = options
        if page_concurrency is not None:
            derived.page_concurrency = check_page_concurrency(page_concurrency)
        return derived

    @property
    def with_raw_response(self) -> _RawResponses:
        """`client.with_raw_response.read_flow(id)`: the same call, returning a `RawResponse`
        (the parsed result, and the `httpx.Response` with its status, headers, elapsed time and
        the retries it took)."""
        return _RawResponses(self)

    def _build_request(self, **request: Any) -> httpx.Request:
        """A request of this client's httpx client, with this client's per-call options."""
        options = self._request_options
        if options:
            if "headers" in options:
                headers = httpx.Headers(options["headers"])
                headers.update(request.get("headers") or {})  # the operation's own win
                request["headers"] = headers
            if "timeout" in options:
                request["timeout"] = options["timeout"]
            if "max_retries" in options:
                extensions = {**request.get("extensions", {})}
                extensions[MAX_RETRIES_EXTENSION] = options["max_retries"]
                request["extensions"] = extensions
        built: httpx.Request = self._http.build_request(**request)
        return built

    # ----- methods (each written once; see _operations.py) -----

    @operation
    def hello(self) -> Op[httpx.Response]:
        """The raw response of `GET /hello`."""
        from prefect_api.api.root import hello

        return (yield from send(self, hello))

    @operation
    def api_version(self) -> Op[str]:
        """The server's version, as it reports it (`GET /admin/version`)."""
        from prefect_api.api.admin import read_version

        version = yield from call(self, read_version, str)
        return version

    @operation
    def api_healthcheck(self) -> Op[Exception | None]:
        """None when the server answers `GET /health`, else the exception met; never raises."""
        from prefect_api.api.root import health_check

        try:
            yield from send(self, health_check)
        except Exception as error:  # noqa: BLE001 - returned, by contract
            return error
        return None

    @operation
    def raise_for_api_version_mismatch(self) -> Op[None]:
        """Raise if the server's major version differs from the one this SDK was generated for."""
        from prefect_api import PREFECT_VERSION
        from prefect_api.api.admin import read_version

        if self._server_type is ServerType.CLOUD:
            return None  # Cloud serves every client version
        server_version = yield from call(self, read_version, str)
        if server_version.split(".")[0] != PREFECT_VERSION.split(".")[0]:
            raise PrefectSDKError(
                f"server version {server_version} is incompatible with prefect-sdk "
                f"{__version__}, generated for Prefect {PREFECT_VERSION}: major versions differ"
            )
        return None


class PrefectClient(BaseClient):
    """The async client: `async with get_client() as client: await client.read_flow(...)`."""

    _root: PrefectClient
    _http_client: httpx.AsyncClient
    _loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the client was entered on (None before `async with`), as Prefect's."""
        return self._root._loop

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._root._http_client

    def _make_http(self) -> httpx.AsyncClient:
        inner, options = self._http_parts(httpx.AsyncHTTPTransport, _ephemeral.AsyncAppTransport)
        return httpx.AsyncClient(transport=AsyncRetryingTransport(inner, self._policy), **options)

    async def __aenter__(self) -> PrefectClient:
        self._check_enterable()
        if self._host is not None:
            await asyncio.wrap_future(self._host.acquire())
        self._http_client = self._make_http()
        self._loop = asyncio.get_running_loop()
        self.api.set_async_httpx_client(self._http_client)
        self._opened = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closed = True
        await self._http_client.aclose()
        if self._host is not None:
            await asyncio.wrap_future(self._host.release())

    def _bind(self, fn: Callable[..., Op[R]]) -> Callable[..., Coroutine[Any, Any, R]]:
        async def method(*args: Any, **kwargs: Any) -> R:
            self._check_open()
            op = fn(self, *args, **kwargs)
            sockets: AsyncSockets | None = None
            requests: AsyncRequests | None = None
            try:
                step: Any = next(op)
                while True:
                    try:
                        if isinstance(step, httpx.Request):
                            reply: Any = await self._http.send(step)
                        elif isinstance(step, CONCURRENT_STEPS):  # see _concurrent.py
                            requests = requests or AsyncRequests(self._http)
                            reply = await requests.perform(step)
                        else:  # a socket step, or a Sleep (see _socket.py)
                            sockets = sockets or AsyncSockets(self)
                            reply = await sockets.perform(step)
                    except Exception as error:  # handed to the operation, which may handle it
                        step = op.throw(error)
                    else:
                        step = op.send(reply)
            except StopIteration as done:
                result: R = done.value
                return result
            except PrefectSDKError:
                raise
            except Exception as error:  # only the SDK's own errors leave a call
                raise as_sdk_error(error, fn.__name__) from error
            finally:
                if requests is not None:
                    await requests.close_all()
                if sockets is not None:
                    await sockets.close_all()

        return _named_like(fn, method, "async")

    def _bind_listing(self, fn: Callable[..., Listing[T]]) -> Callable[..., AsyncIterator[T]]:
        async def method(*args: Any, **kwargs: Any) -> AsyncIterator[T]:
            self._check_open()
            steps: Any = fn(self, *args, **kwargs)
            sockets: AsyncSockets | None = None
            requests: AsyncRequests | None = None
            reply: Any = None
            error: Exception | None = None
            try:
                while True:
                    try:
                        step = steps.send(reply) if error is None else steps.throw(error)
                    except StopIteration:
                        return
                    reply, error = None, None
                    if isinstance(step, Item):
                        yield step.value
                        continue
                    try:
                        if isinstance(step, httpx.Request):
                            reply = await self._http.send(step)
                        elif isinstance(step, CONCURRENT_STEPS):  # see _concurrent.py
                            requests = requests or AsyncRequests(self._http)
                            reply = await requests.perform(step)
                        else:  # a socket step, or a Sleep (see _socket.py)
                            sockets = sockets or AsyncSockets(self)
                            reply = await sockets.perform(step)
                    except Exception as caught:  # handed to the listing, which may handle it
                        error = caught
            except PrefectSDKError:
                raise
            except Exception as failed:  # only the SDK's own errors leave a call
                raise as_sdk_error(failed, fn.__name__) from failed
            finally:
                steps.close()
                if requests is not None:
                    await requests.close_all()
                if sockets is not None:
                    await sockets.close_all()

        return _named_like(fn, method, "async iterator")


class SyncPrefectClient(BaseClient):
    """The sync client: `with get_client(sync_client=True) as client: client.read_flow(...)`."""

    _root: SyncPrefectClient
    _http_client: httpx.Client

    @property
    def _http(self) -> httpx.Client:
        return self._root._http_client

    def _make_http(self) -> httpx.Client:
        inner, options = self._http_parts(httpx.HTTPTransport, _ephemeral.AppTransport)
        return httpx.Client(transport=RetryingTransport(inner, self._policy), **options)

    def __enter__(self) -> SyncPrefectClient:
        self._check_enterable()
        if self._host is not None:
            self._host.acquire().result(timeout=_ephemeral.STARTUP_TIMEOUT)
        self._http_client = self._make_http()
        self.api.set_httpx_client(self._http_client)
        self._opened = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closed = True
        self._http_client.close()
        if self._host is not None:
            self._host.release().result(timeout=_ephemeral.STARTUP_TIMEOUT)

    def _bind(self, fn: Callable[..., Op[R]]) -> Callable[..., R]:
        def method(*args: Any, **kwargs: Any) -> R:
            self._check_open()
            op = fn(self, *args, **kwargs)
            sockets: SyncSockets | None = None
            requests: SyncRequests | None = None
            try:
                step: Any = next(op)
                while True:
                    try:
                        if isinstance(step, httpx.Request):
                            reply: Any = self._http.send(step)
                        elif isinstance(step, CONCURRENT_STEPS):  # see _concurrent.py
                            requests = requests or SyncRequests(self._http)
                            reply = requests.perform(step)
                        else:  # a socket step, or a Sleep (see _socket.py)
                            sockets = sockets or SyncSockets(self)
                            reply = sockets.perform(step)
                    except Exception as error:  # handed to the operation, which may handle it
                        step = op.throw(error)
                    else:
                        step = op.send(reply)
            except StopIteration as done:
                result: R = done.value
                return result
            except PrefectSDKError:
                raise
            except Exception as error:  # only the SDK's own errors leave a call
                raise as_sdk_error(error, fn.__name__) from error
            finally:
                if requests is not None:
                    requests.close_all()
                if sockets is not None:
                    sockets.close_all()

        return _named_like(fn, method, "sync")

    def _bind_listing(self, fn: Callable[..., Listing[T]]) -> Callable[..., Iterator[T]]:
        def method(*args: Any, **kwargs: Any) -> Iterator[T]:
            self._check_open()
            steps: Any = fn(self, *args, **kwargs)
            sockets: SyncSockets | None = None
            requests: SyncRequests | None = None
            reply: Any = None
            error: Exception | None = None
            try:
                while True:
                    try:
                        step = steps.send(reply) if error is None else steps.throw(error)
                    except StopIteration:
                        return
                    reply, error = None, None
                    if isinstance(step, Item):
                        yield step.value
                        continue
                    try:
                        if isinstance(step, httpx.Request):
                            reply = self._http.send(step)
                        elif isinstance(step, CONCURRENT_STEPS):  # see _concurrent.py
                            requests = requests or SyncRequests(self._http)
                            reply = requests.perform(step)
                        else:  # a socket step, or a Sleep (see _socket.py)
                            sockets = sockets or SyncSockets(self)
                            reply = sockets.perform(step)
                    except Exception as caught:  # handed to the listing, which may handle it
                        error = caught
            except PrefectSDKError:
                raise
            except Exception as failed:  # only the SDK's own errors leave a call
                raise as_sdk_error(failed, fn.__name__) from failed
            finally:
                steps.close()
                if requests is not None:
                    requests.close_all()
                if sockets is not None:
                    sockets.close_all()

        return _named_like(fn, method, "iterator")


class _RawResponses:
    """`client.with_raw_response`: the client's methods, each returning a `RawResponse`."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(type(self._client), name, None)
        if not isinstance(method, operation):
            raise AttributeError(
                f"with_raw_response has no {name!r}: it offers the client's methods that make "
                "requests and return a result (not iterators or properties)"
            )
        bound: Callable[..., Any] = self._client._bind(with_responses(method.fn))  # type: ignore[attr-defined]
        return bound

    def __dir__(self) -> list[str]:
        owner = type(self._client)
        return [name for name in dir(owner) if isinstance(getattr(owner, name, None), operation)]


@overload
def get_client(
    httpx_settings: Mapping[str, Any] | None = None, sync_client: Literal[False] = False
) -> PrefectClient: ...
@overload
def get_client(
    httpx_settings: Mapping[str, Any] | None = None, *, sync_client: Literal[True]
) -> SyncPrefectClient: ...
def get_client(
    httpx_settings: Mapping[str, Any] | None = None, sync_client: bool = False
) -> PrefectClient | SyncPrefectClient:
    """A client for the API the settings point at: PREFECT_API_URL, else the in-process server."""
    settings = load_settings()
    api: str | _ephemeral.ASGIApp
    if settings.api_url:
        api = settings.api_url
    elif httpx_settings and "app" in httpx_settings:
        api = httpx_settings["app"]  # the client takes it out of httpx_settings
    elif _ephemeral.server_extra_installed():
        api = _ephemeral.prefect_server_app()
    else:
        raise SettingsError(UNCONFIGURED_MESSAGE)
    client_type = SyncPrefectClient if sync_client else PrefectClient
    return client_type(api, httpx_settings=httpx_settings)
