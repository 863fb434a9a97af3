"""The SDK's exceptions, and the one place that maps an HTTP status to one of them."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ._redact import redact


class PrefectSDKError(Exception):
    """Base of every error this SDK raises on its own account."""


class SettingsError(PrefectSDKError, ValueError):
    """A setting (argument, environment variable or profile entry) has a value it cannot use."""


class ClientNotOpenError(PrefectSDKError, RuntimeError):
    """A client was used before `with`/`async with` entered it, or after it closed."""


class StreamAuthenticationError(PrefectSDKError, PermissionError):
    """The server refused a stream's credentials (it closed the websocket with 1008)."""


class StreamError(PrefectSDKError):
    """A stream's websocket cannot be kept open, or the server sent what the protocol does not
    allow (a frame that is not JSON, an event that does not parse, a refused filter)."""


class FlowRunWaitTimeout(PrefectSDKError, TimeoutError):
    """`wait_for_flow_run` waited as long as it was told to; the run itself is left alone.
    `flow_run` is the run as last read."""

    def __init__(self, message: str, flow_run: object) -> None:
        super().__init__(message)
        self.flow_run = flow_run


class PrefectHTTPStatusError(PrefectSDKError, httpx.HTTPStatusError):
    """The server answered with a non-2xx status.

    The message is one line: method, URL, status and the server's own detail. `status_code`,
    `detail` (the server's message, flattened to one line) and `response` are there to inspect.
    """

    # Said after the server's detail, for statuses where the caller can do something about it.
    hint = ""

    def __init__(self, message: str, *, request: httpx.Request, response: httpx.Response) -> None:
        super().__init__(message, request=request, response=response)
        self.status_code = response.status_code
        self.detail = server_detail(response)

    @classmethod
    def from_response(cls, response: httpx.Response) -> PrefectHTTPStatusError:
        request = response.request
        detail = server_detail(response)
        message = f"{request.method} {safe_url(request.url)} -> {response.status_code} {response.reason_phrase}"
        if detail:
            message += f": {detail}"
        if cls.hint:
            message += f" ({cls.hint})"
        return cls(message, request=request, response=response)


_CREDENTIALS_HINT = (
    "check PREFECT_API_KEY (Prefect Cloud) or PREFECT_API_AUTH_STRING (a server with basic auth)"
)


class AuthenticationError(PrefectHTTPStatusError):
    """The server answered 401: no credentials, or credentials it does not accept."""

    hint = _CREDENTIALS_HINT


class PermissionDeniedError(PrefectHTTPStatusError):
    """The server answered 403: the credentials may not do this (or a CSRF token was refused
    twice)."""

    hint = _CREDENTIALS_HINT


class ObjectNotFound(PrefectHTTPStatusError):
    """The server answered 404: the object does not exist."""


class ObjectAlreadyExists(PrefectHTTPStatusError):
    """The server answered 409: an object with the same unique key exists."""


class UnprocessableEntity(PrefectHTTPStatusError):
    """The server answered 422: the request did not validate. `errors` maps each field path
    (`body.name`) to the server's message for it."""

    def __init__(self, message: str, *, request: httpx.Request, response: httpx.Response) -> None:
        super().__init__(message, request=request, response=response)
        self.errors: dict[str, str] = validation_errors(response)


class RateLimitError(PrefectHTTPStatusError):
    """The server answered 429 and the retries are spent; `retry_after` is the wait in seconds
    its last answer asked for (None if it did not say)."""

    def __init__(self, message: str, *, request: httpx.Request, response: httpx.Response) -> None:
        super().__init__(message, request=request, response=response)
        from ._policy import parse_retry_after

        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))


class UnsupportedByServer(PrefectHTTPStatusError):
    """The server has no such route: it is older (or newer) than the document this SDK was
    generated from. Not an `ObjectNotFound`: no object is missing, the operation is."""

    @classmethod
    def for_operation(
        cls, response: httpx.Response, operation: str, server_version: str | None
    ) -> UnsupportedByServer:
        from prefect_api import PREFECT_VERSION

        request = response.request
        route = request.url.path
        server = f"this Prefect server ({server_version or 'version unknown'})"
        message = (
            f"{request.method} {route} ({operation}) is not served by {server}; "
            f"prefect-sdk was generated from {PREFECT_VERSION}"
        )
        return cls(message, request=request, response=response)


class NotPrefectAPI(PrefectHTTPStatusError):
    """Something answered at the API URL, but not a Prefect API: no Prefect version at
    `/admin/version`, and an answer no Prefect server gives (an HTML page, another JSON shape,
    or no such route). Most often a URL without its `/api` suffix."""

    @classmethod
    def for_operation(cls, response: httpx.Response, operation: str, api_url: str) -> NotPrefectAPI:
        request = response.request
        hint = ""
        if not httpx.URL(api_url).path.rstrip("/").endswith("/api"):
            hint = f"; the URL has no /api suffix: did you mean {redact(api_url)}/api?"
        message = (
            f"{request.method} {safe_url(request.url)} ({operation}) -> "
            f"{response.status_code} {response.reason_phrase}: no Prefect API answers at "
            f"{redact(api_url)} (it reports no Prefect version at /admin/version){hint}"
        )
        return cls(message, request=request, response=response)


def has_prefect_body(response: httpx.Response) -> bool:
    """Whether an error answer has the JSON shape Prefect's server gives its errors."""
    body = _json_body(response)
    return isinstance(body, dict) and any(key in body for key in _DETAIL_KEYS)


# What FastAPI answers for a route it does not have (404) or a method a route does not take
# (405): its default bodies, which no Prefect route sends for a missing object.
_ROUTE_MISSING = {404: {"detail": "Not Found"}, 405: {"detail": "Method Not Allowed"}}


def is_route_missing(response: httpx.Response) -> bool:
    """Whether `response` is FastAPI's answer for a route (or method) the server does not have."""
    expected = _ROUTE_MISSING.get(response.status_code)
    if expected is None:
        return False
    return bool(_json_body(response) == expected)


_BY_STATUS: dict[int, type[PrefectHTTPStatusError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: ObjectNotFound,
    409: ObjectAlreadyExists,
    422: UnprocessableEntity,
    429: RateLimitError,
}

_MAX_DETAIL = 500


def raise_for_status(response: httpx.Response) -> None:
    """Raise the matching `PrefectHTTPStatusError` subclass for a non-2xx response."""
    if 200 <= response.status_code < 300:
        return
    error_type = _BY_STATUS.get(response.status_code, PrefectHTTPStatusError)
    raise error_type.from_response(response)


_NO_BODY = object()


def _detail(response: httpx.Response) -> object:
    """The server's `detail` (FastAPI: {"detail": ...}; Prefect's 422 handler:
    {"exception_detail": [...]}; its 404 handler: {"exception_message": "..."}), or the whole
    JSON body; `_NO_BODY` when the body is not JSON."""
    body = _json_body(response)
    if isinstance(body, dict):
        for key in _DETAIL_KEYS:
            if key in body:
                return body[key]
    return body


# Where Prefect's server (and FastAPI) put an error's explanation in a JSON body.
_DETAIL_KEYS = ("detail", "exception_detail", "exception_message")


def _json_body(response: httpx.Response) -> object:
    """The response's JSON body, read if need be; `_NO_BODY` when it is not JSON."""
    try:
        response.read()
        return response.json()
    except (ValueError, httpx.StreamError):
        return _NO_BODY


def _field_error(item: object) -> tuple[str, str] | None:
    """(field path, message) of one validation detail item (`loc` joined by dots), or None."""
    if not isinstance(item, dict) or "msg" not in item:
        return None
    return ".".join(str(part) for part in item.get("loc", ())), str(item["msg"])


def validation_errors(response: httpx.Response) -> dict[str, str]:
    """Field path -> message for a 422 answer (several messages for one field joined by "; ")."""
    errors: dict[str, str] = {}
    detail = _detail(response)
    for found in map(_field_error, detail if isinstance(detail, list) else []):
        if found is not None:
            location, message = found
            errors[location] = f"{errors[location]}; {message}" if location in errors else message
    return errors


def server_detail(response: httpx.Response) -> str:
    """The server's explanation of an error, flattened to one bounded line.

    FastAPI's 422 detail is a list of {loc, msg}; it becomes `body.name: Field required; ...`.
    """
    detail = _detail(response)
    if detail is _NO_BODY:
        text = response.text if not response.is_stream_consumed or response.content else ""
        return _one_line(text)
    if isinstance(detail, list):
        parts = []
        for item in detail:
            found = _field_error(item)
            if found is None:
                parts.append(json.dumps(item, default=str))
            else:
                location, message = found
                parts.append(f"{location}: {message}" if location else message)
        return _one_line("; ".join(parts))
    if isinstance(detail, str):
        return _one_line(detail)
    return _one_line(json.dumps(detail, default=str))


def safe_url(url: httpx.URL) -> str:
    """The URL for a message or a log line: without any user name or password in it."""
    return str(url.copy_with(userinfo=b"")) if url.userinfo else str(url)


class UnexpectedBody(PrefectSDKError):
    """A 2xx body that is not what the API document describes, in one line naming the request
    and, where a generated model refused it, the model and the field's path:
    `GET .../flows/<id> -> 200: the body is not the Flow the API document describes (Flow.created:
    missing required field)`. `model`, `field` and `path` are the ModelParseError's (None when
    no model said: not JSON, no body)."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        expected: str,
        model: str | None = None,
        field: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.request = response.request
        self.expected = expected
        self.model = model
        self.field = field
        self.path = path


class PrefectTransportError(PrefectSDKError):
    """No answer came: the connection was refused or dropped, or a timeout passed.

    Each is raised as the SDK's twin of httpx's own class (`prefect_sdk.errors.ConnectError` is
    a `PrefectTransportError` and an `httpx.ConnectError`), so `except httpx.ConnectError` and
    `except PrefectSDKError` both catch it."""


class UnexpectedError(PrefectSDKError):
    """An error of another kind met by a call, where no twin of its class could be made."""


_twins: dict[type[BaseException], type[PrefectSDKError]] = {}


def _twin(kind: type[Exception]) -> type[PrefectSDKError]:
    """The SDK's subclass of `kind` (and of PrefectSDKError, or PrefectTransportError for
    httpx's transport errors), made once per class."""
    twin = _twins.get(kind)
    if twin is None:
        base = PrefectTransportError if issubclass(kind, httpx.TransportError) else PrefectSDKError
        namespace = {"__module__": __name__, "__doc__": kind.__doc__, "__str__": _twin_str(kind)}
        try:
            twin = type(kind.__name__, (base, kind), namespace)
        except TypeError:  # a class that cannot be subclassed, or with a conflicting layout
            twin = UnexpectedError
        _twins[kind] = twin
    return twin


def _twin_str(kind: type[Exception]) -> Any:
    def __str__(self: Exception) -> str:
        # The SDK's one line where a twin was made from an error, else the class's own text.
        message = self.__dict__.get("_sdk_message")
        return str(message) if message is not None else kind.__str__(self)

    return __str__


def as_sdk_error(error: Exception, call: str) -> PrefectSDKError:
    """`error` as the SDK's own: itself if it is one, else its twin (an instance of both the
    SDK's error and the original class, with its attributes) whose one line starts with `call`."""
    if isinstance(error, PrefectSDKError):
        return error
    twin = _twin(type(error))
    detail = _one_line(str(error)) or type(error).__name__
    if twin is UnexpectedError:
        return UnexpectedError(f"{call}: {type(error).__name__}: {detail}")
    message = f"{call}: {detail}"
    described: PrefectSDKError = twin.__new__(twin)
    described.__dict__.update(error.__dict__)
    described.args = (message,)
    described.__dict__["_sdk_message"] = message
    described.__cause__ = error.__cause__
    described.__traceback__ = error.__traceback__
    return described


def describe_transport_error(
    error: httpx.TransportError, request: httpx.Request, retries: int, during: str = ""
) -> httpx.TransportError:
    """The SDK's twin of the error, with one line that names the request (and what the policy
    was doing for it, `during`) and the retries spent.

    httpx's own messages can be empty (an async read timeout is `ReadTimeout('')`).
    """
    detail = _one_line(str(error)) or type(error).__name__
    tried = f" (after {retries} {'retry' if retries == 1 else 'retries'})" if retries else ""
    kind = type(error)
    twin = kind if isinstance(error, PrefectSDKError) else _twin(kind)
    message = f"{request.method} {safe_url(request.url)}: {detail}{during}{tried}"
    if not issubclass(twin, httpx.TransportError):
        return kind(message, request=request)
    described: httpx.TransportError = twin(message, request=request)
    return described


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL else flat[: _MAX_DETAIL - 3] + "..."


class ConcurrencySlotAcquisitionTimeout(PrefectSDKError, TimeoutError):
    """`client.concurrency` / `client.rate_limit` waited as long as told to (`timeout_seconds`,
    or `max_retries` answers of 423 Locked) and the slots were still taken. Nothing is held.
    `names` and `occupy` say what was asked for."""

    def __init__(self, message: str, names: list[str], occupy: int) -> None:
        super().__init__(message)
        self.names = names
        self.occupy = occupy


class ConcurrencyLimitMissing(PrefectSDKError, LookupError):
    """`strict=True` and some of the named global concurrency limits do not exist (Prefect's
    `ConcurrencySlotAcquisitionError` in that case). Nothing is held. `missing` names them."""

    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


class ConcurrencyLeaseLost(PrefectSDKError):
    """The lease of slots held by `client.concurrency` could not be renewed (it expired or was
    revoked, or renewing kept failing): the slots may be given to others while the block still
    runs. Raised when the block ends, if it was told to (`raise_on_lease_renewal_failure`, by
    default `strict`); a warning is logged either way."""
