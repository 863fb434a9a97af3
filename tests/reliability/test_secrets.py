"""An API key or auth string never shows: not in logs, errors, reprs or recorded cassettes.

Each test makes sure the secret was really in play (the server received it; an unfiltered
cassette holds it; the loggers did write lines), then looks for it, and for its base64 form,
everywhere a user could see it.
"""

from __future__ import annotations

import base64
import logging
import socket
import threading
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr

from prefect_sdk import ObjectNotFound, PrefectHTTPStatusError, PrefectSDKError, SyncPrefectClient
from tests.core.helpers import Driver, api, make, opened
from tests.reliability.conftest import Capture
from tests.reliability.fault_proxy import Always, EveryKth, FaultProxy
from tests.support.scripted_server import Reply, ScriptedServer
from tests.support.server import start_prefect_server

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_backoff")]

API_KEY = "pnu_RELIABILITYSECRET1"
AUTH_STRING = "admin:RELIABILITY-PASS"
CREDENTIALS = {
    "api_key": {"api_key": API_KEY},
    "auth_string": {"auth_string": AUTH_STRING},
}
# What the project's cassettes filter (tests/test_cassettes.py).
FILTER_HEADERS = ["authorization", "x-api-key", "cookie", "prefect-csrf-token"]
FLOW_ID = uuid.UUID("0b9e8f3c-2d4a-4e6b-8c1d-5f7a9b3c2e10")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# A password in the API URL: its own for the API key (the server checks no credential), the
# auth string's for the server that requires it (httpx sends a URL's user and password).
URL_USERINFO = {"api_key": "urluser:URL-PASS-SECRET9", "auth_string": AUTH_STRING}


def forbidden(credential: str) -> list[str]:
    """The strings that must never show for this credential."""
    if credential == "api_key":
        return [
            API_KEY,
            b64(API_KEY),
            "RELIABILITYSECRET1",
            "URL-PASS-SECRET9",
            b64("urluser:URL-PASS-SECRET9"),
        ]
    return [AUTH_STRING, b64(AUTH_STRING), "RELIABILITY-PASS", b64("RELIABILITY-PASS")]


def header_value(credential: str) -> str:
    return f"Bearer {API_KEY}" if credential == "api_key" else f"Basic {b64(AUTH_STRING)}"


def chain(error: BaseException | None) -> Iterator[BaseException]:
    """The error and every cause and context behind it."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def shown(errors: list[BaseException]) -> list[str]:
    """Everything a user sees of these errors: str, repr, args, traceback, and of their causes."""
    texts: list[str] = []
    for error in errors:
        texts.append("".join(traceback.format_exception(error)))
        for link in chain(error):
            texts += [str(link), repr(link), repr(link.args)]
            request = getattr(link, "_request", None)
            if isinstance(request, httpx.Request):
                # A request's URL is the one the user gave, with any password they wrote in it:
                # httpx's repr of a URL masks that password (its str and a Request's repr don't).
                given = request.url.userinfo
                texts += [repr(request.url)] if given else [repr(request), str(request.url)]
    return texts


def assert_hidden(credential: str, texts: list[str]) -> None:
    for secret in forbidden(credential):
        leaks = [text[:200] for text in texts if secret in text]
        assert not leaks, f"{secret!r} shows in {leaks}"


@pytest.fixture(params=list(CREDENTIALS))
def credential(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_scripted_server_errors_logs_and_reprs(
    kind: str,
    credential: str,
    scripted: ScriptedServer,
    captured_logs: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "1")
    flow_path = f"/api/flows/{FLOW_ID}"
    scripted.queue_for("GET", flow_path, Reply(503, headers={"Retry-After": "0"}))
    scripted.queue_for("GET", flow_path, Reply(404, json={"detail": "Flow not found"}))
    scripted.queue_for("GET", flow_path, Reply(502), Reply(502))
    scripted.queue_for("GET", flow_path, Reply(401, json={"detail": "Unauthorized"}))
    scripted.queue_for(
        "POST", "/api/flows/", Reply(drop_connection=True), Reply(drop_connection=True)
    )
    scripted.queue_for("GET", "/api/csrf-token", Reply(404, json={"detail": "Not Found"}))
    errors: list[BaseException] = []
    client = make(kind, api(scripted), **CREDENTIALS[credential])

    async with opened(kind, api(scripted), **CREDENTIALS[credential]) as driver:
        for expected in (ObjectNotFound, PrefectHTTPStatusError, PrefectHTTPStatusError):
            with pytest.raises(expected) as info:
                await driver.call("read_flow", FLOW_ID)
            errors.append(info.value)
        with pytest.raises(httpx.RemoteProtocolError) as dropped:
            await driver.call("create_flow_from_name", "x")
        errors.append(dropped.value)
        reprs = [repr(driver.client), str(driver.client), repr(driver.client._settings)]
    reprs += [repr(client), str(client)]

    # The secret was in play: every request carried it.
    sent = {r.headers.get("Authorization") for r in scripted.requests}
    assert sent == {header_value(credential)}
    assert len(scripted.requests) == 8
    # The loggers looked at did write: retries, requests, connections.
    assert len([m for m in captured_logs.messages("prefect_sdk") if ", retry 1 in" in m]) == 3
    assert captured_logs.messages("httpx") and captured_logs.messages("httpcore")
    assert errors[1].response.status_code == 502 and errors[2].response.status_code == 401

    assert_hidden(credential, shown(errors) + reprs + captured_logs.lines)


async def test_fault_proxy_retries_and_failures(
    kind: str,
    credential: str,
    api_url: str,
    captured_logs: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Against the real server, through faults: retried requests, then a request that fails."""
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "2")
    name = f"secrets-{uuid.uuid4().hex[:8]}"
    kinds = ("429-retry-after-0", "close-mid-response", "drop-before-forward", "502-no-retry-after")
    errors: list[BaseException] = []
    with FaultProxy(api_url, EveryKth(2, kinds)) as proxy:
        async with opened(kind, proxy.api_url, **CREDENTIALS[credential]) as driver:
            flow_id = await driver.call("create_flow_from_name", name)
            assert (await driver.call("read_flow", flow_id)).name == name
            try:
                await driver.call("read_flow", uuid.uuid4())
            except ObjectNotFound as error:
                errors.append(error)
            reprs = [repr(driver.client), str(driver.client)]
    with FaultProxy(api_url, Always("close-mid-response", "POST", "/api/flows/")) as proxy:
        async with opened(kind, proxy.api_url, **CREDENTIALS[credential]) as driver:
            try:
                await driver.call("create_flow_from_name", name)
            except (PrefectSDKError, httpx.HTTPError) as error:
                errors.append(error)

    assert len(errors) == 2 and type(errors[0]) is ObjectNotFound
    assert isinstance(errors[1], httpx.RemoteProtocolError)  # httpx's class, or the SDK's twin
    assert [m for m in captured_logs.messages("prefect_sdk") if ", retry " in m]
    assert captured_logs.messages("httpx")
    assert_hidden(credential, shown(errors) + reprs + captured_logs.lines)


def record(kind: str, cassette: Path, credential: str, url: str, **config: Any) -> str:
    """Record a client's `hello` and `read_flow` (404) into `cassette`; return the file's text."""
    recorder = vcr.VCR(record_mode="all", decode_compressed_response=True, **config)

    async def run() -> None:
        async with opened(kind, url, **CREDENTIALS[credential]) as driver:
            assert (await driver.call("hello")).json() == "hello"
            with pytest.raises(ObjectNotFound):
                await driver.call("read_flow", FLOW_ID)

    import asyncio

    with recorder.use_cassette(str(cassette)):
        if kind == "sync":
            asyncio.run(run())
        else:
            # An async test's loop is running: record on a loop of our own, in a thread.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, run()).result(timeout=30)
    return cassette.read_text(encoding="utf-8")


def test_recorded_cassette(
    kind: str, credential: str, scripted: ScriptedServer, tmp_path: Path
) -> None:
    scripted.queue_for("GET", "/api/hello", Reply(200, json="hello"), Reply(200, json="hello"))
    scripted.queue_for("GET", f"/api/flows/{FLOW_ID}", Reply(404, json={"detail": "nope"}))
    scripted.queue_for("GET", f"/api/flows/{FLOW_ID}", Reply(404, json={"detail": "nope"}))

    # Without the filter, the cassette would hold the credential: the check below can see it.
    unfiltered = record(kind, tmp_path / "raw.yaml", credential, api(scripted))
    assert header_value(credential).split()[1] in unfiltered

    text = record(
        kind, tmp_path / "filtered.yaml", credential, api(scripted), filter_headers=FILTER_HEADERS
    )
    assert "/api/hello" in text and f"/api/flows/{FLOW_ID}" in text
    assert "authorization" not in text.lower()
    assert_hidden(credential, [text])


# ----- DEBUG logs of every logger, over HTTP and websockets, against a real server -----


@pytest.fixture(scope="module")
def auth_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server that requires AUTH_STRING."""
    server = start_prefect_server(
        home=tmp_path_factory.mktemp("secrets-auth-server"),
        extra_env={"PREFECT_SERVER_API_AUTH_STRING": AUTH_STRING},
        timeout=240,
    )
    try:
        yield server.api_url
    finally:
        server.stop()


@pytest.fixture
def all_debug(captured_logs: Capture) -> Iterator[Capture]:
    """`captured_logs`, and the websockets loggers at DEBUG too (handshakes, frames)."""
    saved = []
    for name in ("websockets", "websockets.client"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
    try:
        yield captured_logs
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def with_userinfo(url: str, userinfo: str | None) -> str:
    return url if userinfo is None else url.replace("://", f"://{userinfo}@", 1)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def first_event(kind: str, driver: Driver, emitter: SyncPrefectClient) -> Any:
    """The first event of a subscription of `driver`'s client, `emitter` emitting meanwhile."""
    rid = f"test.secrets.{uuid.uuid4().hex[:8]}"
    stop = threading.Event()

    def emit() -> None:
        while not stop.wait(0.3):
            emitter.emit_event("test.secrets", {"prefect.resource.id": rid})

    thread = threading.Thread(target=emit, daemon=True)
    thread.start()
    try:
        events = driver.client.subscribe_events({"resource": {"id": [rid]}}, backfill=False)
        if kind == "sync":
            for event in events:
                return event
        else:
            async for event in events:
                return event
    finally:
        stop.set()
        thread.join(timeout=10)
    raise AssertionError("the stream ended without an event")


@pytest.mark.timeout(300)  # a real server or two start first, on a loaded machine too
@pytest.mark.parametrize("url_password", [False, True], ids=["plain-url", "url-password"])
async def test_debug_logs_of_calls_streams_and_errors(
    kind: str,
    credential: str,
    url_password: bool,
    request: pytest.FixtureRequest,
    all_debug: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every logger at DEBUG (the root, prefect_sdk, httpx, httpcore, websockets): calls, an
    event stream, errors over HTTP and websockets; the client's repr."""
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")
    server = request.getfixturevalue("api_url" if credential == "api_key" else "auth_server_url")
    userinfo = URL_USERINFO[credential] if url_password else None
    url = with_userinfo(server, userinfo)
    options = CREDENTIALS[credential]
    errors: list[BaseException] = []
    reprs: list[str] = []

    with SyncPrefectClient(url, **options) as emitter:
        async with opened(kind, url, **options) as driver:
            name = f"secrets-{uuid.uuid4().hex[:8]}"
            flow_id = await driver.call("create_flow_from_name", name)
            assert (await driver.call("read_flow", flow_id)).name == name
            with pytest.raises(ObjectNotFound) as not_found:
                await driver.call("read_flow", uuid.uuid4())
            errors.append(not_found.value)
            event = await first_event(kind, driver, emitter)
            assert event.event == "test.secrets"
            headers = driver.client._http_options["headers"]
            assert headers["Authorization"] == header_value(credential)  # the secret was in play
            reprs += [repr(driver.client), str(driver.client), repr(emitter)]

    # Errors: nothing listens on the server's address, over HTTP and over a websocket.
    nowhere = with_userinfo(f"http://127.0.0.1:{closed_port()}/api", userinfo)
    async with opened(kind, nowhere, **options) as driver:
        with pytest.raises(httpx.ConnectError) as refused:
            await driver.call("hello")
        errors.append(refused.value)
        with pytest.raises(PrefectSDKError) as unreachable:
            events = driver.client.subscribe_events(reconnection_attempts=0)
            if kind == "sync":
                next(iter(events))
            else:
                await events.__aiter__().__anext__()
        errors.append(unreachable.value)
        reprs += [repr(driver.client), str(driver.client)]
    reprs += [repr(make(kind, url, **options))]

    # The loggers did write, of requests and of the socket: its handshake and auth frame.
    sockets = all_debug.messages("websockets")
    assert all_debug.messages("httpx") and all_debug.messages("httpcore")
    assert any(m.lower().startswith("> authorization: ") for m in sockets), sockets[:20]
    assert any('"type": "auth"' in m for m in sockets), sockets[:20]
    assert "websocket" in str(errors[-1]) and "/events/out" in str(errors[-1])
    if url_password:
        assert any("127.0.0.1" in m for m in all_debug.messages("httpx"))

    assert_hidden(credential, shown(errors) + reprs + all_debug.lines)
