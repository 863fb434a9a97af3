"""An API key or auth string never shows: not in logs, errors, reprs or recorded cassettes.

Each test makes sure the secret was really in play (the server received it; an unfiltered
cassette holds it; the loggers did write lines), then looks for it, and for its base64 form,
everywhere a user could see it.
"""

from __future__ import annotations

import base64
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr

from prefect_sdk import ObjectNotFound, PrefectHTTPStatusError, PrefectSDKError
from tests.core.helpers import api, make, opened
from tests.reliability.conftest import Capture
from tests.reliability.fault_proxy import Always, EveryKth, FaultProxy
from tests.support.scripted_server import Reply, ScriptedServer

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


def forbidden(credential: str) -> list[str]:
    """The strings that must never show for this credential."""
    if credential == "api_key":
        return [API_KEY, b64(API_KEY), "RELIABILITYSECRET1"]
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
                texts += [repr(request), str(request.url)]
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

    assert [type(e) for e in errors] == [ObjectNotFound, httpx.RemoteProtocolError]
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
