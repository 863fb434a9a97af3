"""Client methods written once for both clients.

A method is a generator ("an operation") that yields the `httpx.Request`s it needs and is sent
back each response; it returns its result. The `@operation` descriptor turns it into an
`async def` method on `PrefectClient` and a plain method on `SyncPrefectClient`, and tells type
checkers so. A listing is a generator that also yields `Item`s: `@listing` makes it an async
iterator on one client and an iterator on the other. Only `_drive`/`_adrive` (and their
listing twins) send anything.
"""

from __future__ import annotations

import datetime
import functools
import gc
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

import httpx

from .errors import (
    NotPrefectAPI,
    UnexpectedBody,
    UnsupportedByServer,
    has_prefect_body,
    is_route_missing,
    raise_for_status,
    safe_url,
)

if TYPE_CHECKING:
    from .client import PrefectClient, SyncPrefectClient

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

Op = Generator[httpx.Request, httpx.Response, R]


class Item(Generic[T]):
    """One element of a listing, yielded between the listing's requests."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


Listing = Generator["httpx.Request | Item[T]", "httpx.Response | None", None]

# Methods that also use websockets or wait (see _socket.py) yield those steps too, and are sent
# back what each gives (a socket handle, a message's text, None).
Flow = Generator[Any, Any, R]
Stream = Generator["Item[T] | Any", Any, None]


class _Endpoint(Protocol):
    """What an operation uses of a generated endpoint module."""

    def _get_kwargs(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...


def send(client: Any, endpoint: Any, /, **arguments: Any) -> Op[httpx.Response]:
    """Send one call of a generated endpoint; return its response, raising for non-2xx.

    A route the server does not have is `UnsupportedByServer`, naming the server's version.
    """
    response = yield client._build_request(**endpoint._get_kwargs(**arguments))
    missing_route = is_route_missing(response)
    if missing_route or (response.status_code == 404 and not has_prefect_body(response)):
        version = yield from server_version(client)
        operation = endpoint.__name__.rsplit(".", 1)[-1]
        if version is None and client.server_type.value != "cloud":  # Cloud has no version
            raise NotPrefectAPI.for_operation(response, operation, str(client.api_url))
        if missing_route:
            raise UnsupportedByServer.for_operation(response, operation, version)
    raise_for_status(response)
    return response


def server_version(client: Any) -> Op[str | None]:
    """The server's Prefect version (`GET /admin/version`), asked once per client; None if the
    server does not say. Kept on the root client, so `with_options` copies share it."""
    client = client._root
    if client._server_version is None:
        from prefect_api.api.admin import read_version

        try:
            response = yield client._build_request(**read_version._get_kwargs())
            version = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):  # the message says "version unknown"
            version = None
        if not isinstance(version, str):
            return None
        client._server_version = version
    return str(client._server_version)


def call(client: Any, endpoint: Any, returns: type[R], /, **arguments: Any) -> Op[R]:
    """Send one call of a generated endpoint and return its parsed result, checked to be `returns`."""
    response = yield from send(client, endpoint, **arguments)
    parsed = parse(client, endpoint, response, returns.__name__)
    if not isinstance(parsed, returns):
        raise unexpected_body(response, returns.__name__)
    return parsed


def call_list(client: Any, endpoint: Any, item: type[R], /, **arguments: Any) -> Op[list[R]]:
    """Like `call`, for a route that returns a list of `item`."""
    response = yield from send(client, endpoint, **arguments)
    expected = f"list[{item.__name__}]"
    parsed = parse(client, endpoint, response, expected)
    if not isinstance(parsed, list) or not all(isinstance(row, item) for row in parsed):
        raise unexpected_body(response, expected)
    return parsed


# What a generated parser raises on a body that is not what the document describes: not JSON
# (json.JSONDecodeError is a ValueError), or not the model: the models raise one error,
# prefect_api.errors.ModelParseError (a ValueError), naming the model and the field; the rest
# can still come from an endpoint's own parse around them (a list that is not a list).
PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError)


# A body at least this large is parsed with the cyclic garbage collector paused: building a
# page of models allocates thousands of objects, none of them in a cycle, and the collections
# they would trigger cost about an eighth of the parse of 200 flow runs (`bench.parsing`).
PAUSE_COLLECTOR_BYTES = 64 * 1024


def parse(client: Any, endpoint: Any, response: httpx.Response, expected: str) -> Any:
    """The generated endpoint's parse of `response`; a one-line PrefectSDKError if it fails."""
    paused = len(response.content) >= PAUSE_COLLECTOR_BYTES and gc.isenabled()
    if paused:
        gc.disable()  # process-wide; another thread's parse may re-enable it early: harmless
    try:
        return endpoint._parse_response(client=client.api, response=response)
    except PARSE_ERRORS as error:
        raise unexpected_body(response, expected, error) from error
    finally:
        if paused:
            gc.enable()


def unexpected_body(
    response: httpx.Response, expected: str, error: Exception | None = None
) -> UnexpectedBody:
    """The error for a 2xx body that is not the `expected` model, naming the request (and the
    model and field, where a generated model's ModelParseError says)."""
    from prefect_api.errors import ModelParseError

    request = response.request
    model = field = path = None
    if isinstance(error, ModelParseError):  # its one line already names model and field
        model, field, path = error.model, error.field, error.path
        cause = f" ({' '.join(str(error).split())[:400]})"
    else:
        cause = f" ({type(error).__name__}: {' '.join(str(error).split())[:200]})" if error else ""
    return UnexpectedBody(
        f"{request.method} {safe_url(request.url)} -> {response.status_code}: "
        f"the body is not the {expected} the API document describes{cause}",
        response=response,
        expected=expected,
        model=model,
        field=field,
        path=path,
    )


@dataclass(frozen=True)
class RawResponse(Generic[R]):
    """A method's result with the HTTP answer it came from (`client.with_raw_response`)."""

    parsed: R
    # Every response the method read, in order (a paging read makes several); the last is `response`.
    responses: list[httpx.Response]

    @property
    def response(self) -> httpx.Response:
        return self.responses[-1]

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def elapsed(self) -> datetime.timedelta:
        """How long the requests of this call took, all together: every attempt and every wait
        between retries included."""
        from ._policy import ELAPSED_EXTENSION

        zero = datetime.timedelta(0)
        return sum((r.extensions.get(ELAPSED_EXTENSION, zero) for r in self.responses), zero)

    @property
    def retries(self) -> int:
        """The retries spent on the requests of this call, all together."""
        from ._policy import RETRIES_EXTENSION

        return sum(int(r.extensions.get(RETRIES_EXTENSION, 0)) for r in self.responses)


def with_responses(fn: Callable[..., Op[R]]) -> Callable[..., Op[RawResponse[R]]]:
    """The operation `fn`, returning a `RawResponse` of its result and every response it read."""

    def recorded(client: Any, *args: Any, **kwargs: Any) -> Op[RawResponse[R]]:
        # Responses come back for a request, or for an `Await` of one sent ahead (several pages
        # in flight, see _concurrent.py): recorded in the order the operation takes them, which
        # for paging is page order. Other steps (a `Submit`'s handle, a socket's message) are not.
        from ._concurrent import Await

        responses: list[httpx.Response] = []
        op: Generator[Any, Any, R] = fn(client, *args, **kwargs)
        try:
            step = next(op)
            while True:
                try:
                    reply = yield step
                except Exception as error:  # the operation may handle it, as when driven bare
                    step = op.throw(error)
                else:
                    answered = isinstance(step, httpx.Request | Await)
                    if answered and isinstance(reply, httpx.Response):
                        responses.append(reply)
                    step = op.send(reply)
        except StopIteration as done:
            return RawResponse(done.value, responses)

    functools.update_wrapper(recorded, fn)
    return recorded


# What each driver's method returns, written around the operation's result type `R` (an
# `async def` is annotated with what awaiting it gives, as Python writes it).
_RETURNS = {
    "async": "{}",
    "sync": "{}",
    "async iterator": "AsyncIterator[{}]",
    "iterator": "Iterator[{}]",
}
_signatures: dict[tuple[Callable[..., Any], str], inspect.Signature] = {}


def signature_of(fn: Callable[..., Any], returns: str) -> inspect.Signature:
    """The signature of `fn` bound to a client: no `self`, and the return annotation of what the
    client's method gives back (`Op[Flow]` -> `Flow`, on the async client too, whose methods are
    `async def`; `Listing[Flow]` -> an iterator of `Flow`). Computed once per
    method and kind."""
    key = (fn, returns)
    cached = _signatures.get(key)
    if cached is None:
        full = inspect.signature(fn)
        annotation = full.return_annotation
        if isinstance(annotation, str) and annotation.endswith("]"):
            inner = annotation.split("[", 1)[1][:-1] if "[" in annotation else annotation
            annotation = _RETURNS[returns].format(inner)
        parameters = list(full.parameters.values())[1:]
        cached = _signatures[key] = full.replace(
            parameters=parameters, return_annotation=annotation
        )
    return cached


class operation(Generic[P, R]):
    """Makes an operation an async method of PrefectClient and a plain one of SyncPrefectClient."""

    def __init__(self, fn: Callable[Concatenate[Any, P], Op[R] | Flow[R]]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    @overload
    def __get__(self, client: None, owner: type) -> operation[P, R]: ...
    @overload
    def __get__(
        self, client: PrefectClient, owner: type
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...
    @overload
    def __get__(self, client: SyncPrefectClient, owner: type) -> Callable[P, R]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        return client._bind(self.fn)


class listing(Generic[P, T]):
    """Makes a listing an async iterator of PrefectClient and an iterator of SyncPrefectClient."""

    def __init__(self, fn: Callable[Concatenate[Any, P], Listing[T]]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    @overload
    def __get__(self, client: None, owner: type) -> listing[P, T]: ...
    @overload
    def __get__(self, client: PrefectClient, owner: type) -> Callable[P, AsyncIterator[T]]: ...
    @overload
    def __get__(self, client: SyncPrefectClient, owner: type) -> Callable[P, Iterator[T]]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        return client._bind_listing(self.fn)
