"""Error mapping, the headers every request carries, and keeping credentials out of sight."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from prefect_api import API_VERSION
from prefect_sdk import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError
from tests.core.helpers import api, call_error, call_once, make
from tests.support.scripted_server import Headers, Reply, ScriptedServer

API_KEY = "pnu_SECRETKEY123"
AUTH_STRING = "user:SECRETPASS"


def basic(auth_string: str) -> str:
    return "Basic " + base64.b64encode(auth_string.encode()).decode()


# ----- error mapping -----


@pytest.mark.parametrize(
    ("status", "error_type"), [(404, ObjectNotFound), (409, ObjectAlreadyExists)]
)
async def test_status_maps_to_error_type(
    kind: str, server: ScriptedServer, status: int, error_type: type[Exception]
) -> None:
    server.queue_for("GET", "/api/hello", Reply(status, json={"detail": "said the server"}))

    error = await call_error(kind, api(server), error=error_type)

    assert isinstance(error, PrefectHTTPStatusError)
    assert isinstance(error, httpx.HTTPStatusError)
    assert error.response.status_code == status
    assert "said the server" in str(error)


async def test_validation_error_message(kind: str, server: ScriptedServer) -> None:
    detail = [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]
    server.queue_for("GET", "/api/hello", Reply(422, json={"detail": detail}))

    error = await call_error(kind, api(server), error=PrefectHTTPStatusError)

    message = str(error)
    for part in ("GET", api(server) + "/hello", "422", "body.name", "Field required"):
        assert part in message
    assert "\n" not in message


# ----- headers -----


async def sent_headers(kind: str, server: ScriptedServer, **client_kwargs: object) -> Headers:
    server.queue_for("GET", "/api/hello", Reply(200, json="hi"))
    await call_once(kind, api(server), **client_kwargs)
    return server.requests[-1].headers


async def test_api_version_and_user_agent(kind: str, server: ScriptedServer) -> None:
    headers = await sent_headers(kind, server)

    assert headers["X-PREFECT-API-VERSION"] == API_VERSION
    assert "prefect-sdk/" in headers["User-Agent"]
    assert "Authorization" not in headers


async def test_api_version_argument(kind: str, server: ScriptedServer) -> None:
    headers = await sent_headers(kind, server, api_version="0.9.9")

    assert headers["X-PREFECT-API-VERSION"] == "0.9.9"


@pytest.mark.parametrize(
    ("arguments", "environment", "expected"),
    [
        ({"api_key": API_KEY}, {}, f"Bearer {API_KEY}"),
        ({}, {"PREFECT_API_KEY": API_KEY}, f"Bearer {API_KEY}"),
        ({"auth_string": AUTH_STRING}, {}, basic(AUTH_STRING)),
        ({}, {"PREFECT_API_AUTH_STRING": AUTH_STRING}, basic(AUTH_STRING)),
        ({"api_key": API_KEY, "auth_string": AUTH_STRING}, {}, basic(AUTH_STRING)),
        (
            {},
            {"PREFECT_API_KEY": API_KEY, "PREFECT_API_AUTH_STRING": AUTH_STRING},
            basic(AUTH_STRING),
        ),
    ],
    ids=["key-arg", "key-env", "auth-arg", "auth-env", "both-args", "both-env"],
)
async def test_authorization(
    kind: str,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    arguments: dict[str, str],
    environment: dict[str, str],
    expected: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    headers = await sent_headers(kind, server, **arguments)

    assert headers["Authorization"] == expected


async def test_custom_headers_cannot_override_protected_ones(
    kind: str, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PREFECT_CLIENT_CUSTOM_HEADERS",
        '{"X-Team": "a", "Authorization": "evil", "User-Agent": "x"}',
    )

    headers = await sent_headers(kind, server, api_key=API_KEY)

    assert headers["X-Team"] == "a"
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["User-Agent"].startswith("prefect-sdk/")


async def test_custom_authorization_ignored_without_credentials(
    kind: str, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_CUSTOM_HEADERS", '{"Authorization": "evil"}')

    headers = await sent_headers(kind, server)

    assert "Authorization" not in headers


# ----- secrets -----


async def test_secrets_never_shown(
    kind: str, server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="prefect_sdk")
    server.queue_for(
        "GET",
        "/api/hello",
        Reply(503, headers={"Retry-After": "0"}),
        Reply(502, headers={"Retry-After": "0"}),
        Reply(401, json={"detail": "Unauthorized"}),
    )
    client = make(kind, api(server), api_key=API_KEY, auth_string=AUTH_STRING)

    error = await call_error(
        kind, api(server), error=PrefectHTTPStatusError, api_key=API_KEY, auth_string=AUTH_STRING
    )

    assert error.response.status_code == 401
    assert len(server.requests) == 3
    retry_logs = [
        r for r in caplog.records if r.name == "prefect_sdk" and "retry" in r.getMessage()
    ]
    assert len(retry_logs) == 2  # the logs looked at do cover the retries
    encoded = base64.b64encode(AUTH_STRING.encode()).decode()
    shown = [repr(client), str(client), str(error), repr(error), caplog.text]
    shown += [record.getMessage() for record in caplog.records]
    for text in shown:
        for secret in (API_KEY, "SECRETPASS", encoded):
            assert secret not in text
