"""Per-call options, raw responses, an exception per status, and the bound methods' signatures."""

from __future__ import annotations

import datetime
import inspect
import pydoc
import uuid

import httpx
import pytest

import prefect_api
from prefect_sdk import (
    AuthenticationError,
    ClientNotOpenError,
    ObjectAlreadyExists,
    ObjectNotFound,
    PermissionDeniedError,
    PrefectClient,
    PrefectHTTPStatusError,
    PrefectSDKError,
    RateLimitError,
    SyncPrefectClient,
    UnprocessableEntity,
)
from prefect_sdk._operations import RawResponse
from tests.core.helpers import api, call_error, opened
from tests.support.scripted_server import Reply, ScriptedServer

API_KEY = "pnu_SECRETKEY123"
VERSION = "/api/admin/version"


async def run(result: object) -> object:
    """The result of a call on either client (awaited if the client is async)."""
    return await result if inspect.isawaitable(result) else result


# ----- with_options -----


async def test_with_options_timeout_applies_to_the_copy_only(
    kind: str, server: ScriptedServer
) -> None:
    server.queue_for(
        "GET", VERSION, Reply(200, json="3.9.1", delay=0.6), Reply(200, json="3.9.1", delay=0.6)
    )

    async with opened(kind, api(server)) as client:
        quick = client.client.with_options(timeout=0.2, max_retries=0)
        assert quick._http is client.client._http  # one pool, shared
        with pytest.raises(httpx.ReadTimeout):
            await run(quick.api_version())
        assert await client.call("api_version") == "3.9.1"  # the original keeps its 60 s
    assert [r.route for r in server.requests] == [VERSION, VERSION]


async def test_with_options_max_retries_and_headers(
    kind: str, server: ScriptedServer, fast_backoff: None
) -> None:
    busy = Reply(503, headers={"Retry-After": "0"}, json={"detail": "busy"})
    server.queue_for("GET", VERSION, busy, busy, busy, Reply(200, json="3.9.1"))

    async with opened(kind, api(server)) as client:
        once = client.client.with_options(max_retries=1, headers={"X-Trace": "abc"})
        with pytest.raises(PrefectHTTPStatusError, match="503"):
            await run(once.api_version())
        assert len(server.requests) == 2  # the first try and one retry
        assert await client.call("api_version") == "3.9.1"  # 5 retries: two 503s, then 200

    sent = [r.headers.get("X-Trace") for r in server.requests]
    assert sent == ["abc", "abc", None, None]
    assert all(
        r.headers["X-PREFECT-API-VERSION"] == prefect_api.API_VERSION for r in server.requests
    )


@pytest.mark.parametrize("header", ["Authorization", "x-prefect-api-version", "User-Agent"])
def test_with_options_refuses_the_headers_the_client_sets(header: str) -> None:
    client = SyncPrefectClient("http://127.0.0.1:9/api", api_key=API_KEY)
    with pytest.raises(ValueError, match=f"cannot set the {header} header"):
        client.with_options(headers={header: "Bearer other"})


@pytest.mark.parametrize(
    ("option", "value"), [("timeout", "soon"), ("max_retries", -1), ("max_retries", True)]
)
def test_with_options_checks_its_arguments(option: str, value: object) -> None:
    client = SyncPrefectClient("http://127.0.0.1:9/api")
    with pytest.raises(ValueError, match=option):
        client.with_options(**{option: value})  # type: ignore[arg-type]


async def test_with_options_shares_the_lifetime(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", VERSION, Reply(200, json="3.9.1"))
    client_type = SyncPrefectClient if kind == "sync" else PrefectClient
    client = client_type(api(server))
    early = client.with_options(max_retries=0)  # made before the client opened
    with pytest.raises(ClientNotOpenError, match="not open"):
        await run(early.api_version())
    async with opened(kind, api(server)) as opened_client:
        derived = opened_client.client.with_options(max_retries=0)
        assert await run(derived.api_version()) == "3.9.1"
    with pytest.raises(ClientNotOpenError, match="closed"):
        await run(derived.api_version())
    with pytest.raises(ClientNotOpenError, match="enter the parent"):
        if isinstance(derived, SyncPrefectClient):
            derived.__enter__()
        else:
            await derived.__aenter__()


# ----- with_raw_response -----


async def test_raw_response_has_the_answer_and_the_retries(
    kind: str, server: ScriptedServer, fast_backoff: None
) -> None:
    busy = Reply(503, headers={"Retry-After": "0"}, json={"detail": "busy"})
    done = Reply(200, json="3.9.1", headers={"X-Request-Id": "r-1"})
    server.queue_for("GET", VERSION, busy, done)

    async with opened(kind, api(server)) as client:
        raw = await run(client.client.with_raw_response.api_version())

    assert isinstance(raw, RawResponse)
    assert raw.parsed == "3.9.1"
    assert raw.status_code == 200
    assert raw.headers["X-Request-Id"] == "r-1"
    assert isinstance(raw.elapsed, datetime.timedelta) and raw.elapsed.total_seconds() > 0
    assert raw.retries == 1
    assert [r.status_code for r in raw.responses] == [200]


async def test_raw_response_of_a_paging_read_keeps_every_page(
    kind: str, server: ScriptedServer
) -> None:
    flows = [
        {"id": str(uuid.uuid4()), "name": f"f{i}", "created": None, "updated": None}
        for i in range(3)
    ]
    server.queue_for(
        "POST", "/api/flows/filter", Reply(200, json=flows[:2]), Reply(200, json=flows[2:])
    )

    async with opened(kind, api(server)) as client:
        client.client.page_size = 2
        raw = await run(client.client.with_raw_response.read_flows())

    assert [flow.name for flow in raw.parsed] == ["f0", "f1", "f2"]
    assert len(raw.responses) == 2 and raw.response is raw.responses[-1]
    assert raw.retries == 0


def test_raw_response_offers_only_methods_that_return() -> None:
    client = SyncPrefectClient("http://127.0.0.1:9/api")
    with pytest.raises(AttributeError, match="iter_flows"):
        _ = client.with_raw_response.iter_flows
    with pytest.raises(AttributeError, match="api_url"):
        _ = client.with_raw_response.api_url
    assert "read_flow" in dir(client.with_raw_response)
    assert "iter_flows" not in dir(client.with_raw_response)


# ----- an exception per status -----


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, ObjectNotFound),
        (409, ObjectAlreadyExists),
        (422, UnprocessableEntity),
        (418, PrefectHTTPStatusError),
    ],
)
async def test_each_status_has_its_error(
    kind: str, server: ScriptedServer, status: int, error_type: type[PrefectHTTPStatusError]
) -> None:
    server.queue_for("GET", "/api/hello", Reply(status, json={"detail": "said the server"}))

    error = await call_error(kind, api(server), error=error_type, api_key=API_KEY)

    assert type(error) is error_type
    assert isinstance(error, PrefectHTTPStatusError | httpx.HTTPStatusError | PrefectSDKError)
    assert isinstance(error, httpx.HTTPStatusError)  # what callers caught before
    assert error.status_code == status == error.response.status_code
    assert error.detail == "said the server"
    assert "\n" not in str(error) and API_KEY not in str(error)
    hinted = status in (401, 403)
    assert ("PREFECT_API_KEY" in str(error)) is hinted
    assert ("PREFECT_API_AUTH_STRING" in str(error)) is hinted


async def test_unprocessable_entity_maps_fields_to_messages(
    kind: str, server: ScriptedServer
) -> None:
    detail = [
        {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
        {
            "loc": ["body", "tags", 0],
            "msg": "Input should be a valid string",
            "type": "string_type",
        },
        {"loc": ["body", "name"], "msg": "too short", "type": "x"},
    ]
    # Prefect's own 422 body
    body = {"exception_message": "Invalid request received.", "exception_detail": detail}
    server.queue_for("GET", "/api/hello", Reply(422, json=body))

    error = await call_error(kind, api(server), error=UnprocessableEntity)

    assert error.errors == {
        "body.name": "Field required; too short",
        "body.tags.0": "Input should be a valid string",
    }
    assert "body.tags.0: Input should be a valid string" in error.detail


async def test_rate_limit_error_after_the_retries_carries_retry_after(
    kind: str, server: ScriptedServer
) -> None:
    limited = Reply(429, headers={"Retry-After": "0"}, json={"detail": "slow down"})
    last = Reply(429, headers={"Retry-After": "250"}, json={"detail": "slow down"})
    server.queue_for("GET", "/api/hello", limited, last)

    async with opened(kind, api(server)) as client:
        with pytest.raises(RateLimitError) as info:
            await run(client.client.with_options(max_retries=1).hello())

    assert info.value.retry_after == 250.0
    assert info.value.status_code == 429 and "slow down" in str(info.value)
    assert len(server.requests) == 2


# ----- signatures -----


@pytest.mark.parametrize("client_type", [SyncPrefectClient, PrefectClient])
def test_bound_methods_show_their_real_signature(client_type: type) -> None:
    client = client_type("http://127.0.0.1:9/api")
    is_async = client_type is PrefectClient

    runs = inspect.signature(client.read_flow_runs)
    assert "self" not in runs.parameters
    assert list(runs.parameters)[:2] == ["flow_filter", "flow_run_filter"]
    assert runs.parameters["limit"].default is None
    assert runs.return_annotation == "list[FlowRunResponse]"
    assert inspect.signature(client.read_flow).return_annotation == "Flow"
    assert list(inspect.signature(client.read_flow).parameters) == ["flow_id"]
    iterator = "AsyncIterator[Flow]" if is_async else "Iterator[Flow]"
    assert inspect.signature(client.iter_flows).return_annotation == iterator
    assert inspect.iscoroutinefunction(client.read_flow) is is_async

    text = pydoc.render_doc(client.read_flow_runs, renderer=pydoc.plaintext)
    assert "read_flow_runs(*, flow_filter" in text and "-> 'list[FlowRunResponse]'" in text
    assert "200-row cap" in text  # the docstring


# ----- the generated client under `client.api` is not a way around the client's headers -----


async def test_api_with_headers_cannot_replace_the_clients_auth(
    kind: str, server: ScriptedServer
) -> None:
    server.queue_for("GET", "/api/hello", Reply(200, json="hi"))

    async with opened(kind, api(server), api_key=API_KEY) as client:
        generated = client.client.api
        for change in (
            lambda: generated.with_headers({"Authorization": "Bearer other"}),
            lambda: generated.with_cookies({"session": "x"}),
            lambda: generated.with_timeout(httpx.Timeout(0.1)),
        ):
            with pytest.raises(TypeError, match="with_options"):
                change()
        await client.call("hello")

    sent = server.requests[-1].headers
    assert sent["Authorization"] == f"Bearer {API_KEY}"
    assert "session" not in sent.get("Cookie", "")


def test_generated_clients_copies_are_independent(server: ScriptedServer) -> None:
    server.queue_for("GET", "/api/hello", Reply(200, json="hi"), Reply(200, json="hi"))
    from prefect_api.api.root import hello

    with prefect_api.Client(base_url=api(server)) as original:
        hello.sync(client=original)  # builds its httpx client
        copy = original.with_headers({"X-Copy": "1"}).with_timeout(httpx.Timeout(5.0))
        with copy:
            hello.sync(client=copy)
        assert "X-Copy" not in original.get_httpx_client().headers
        assert original.get_httpx_client().timeout != httpx.Timeout(5.0)
    assert [r.headers.get("X-Copy") for r in server.requests] == [None, "1"]
