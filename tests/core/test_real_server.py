"""Both clients against a real `prefect server start` (the session's `api_url`)."""

from __future__ import annotations

from uuid import UUID, uuid4

import httpx
import pytest

from prefect_sdk import ObjectNotFound
from tests.core.helpers import call_once, opened
from tests.support.scripted_server import ScriptedServer


async def test_hello(kind: str, api_url: str) -> None:
    response = await call_once(kind, api_url, "hello")

    assert isinstance(response, httpx.Response)
    assert response.status_code == 200


async def test_version_and_health(kind: str, api_url: str, expected_server_version: str) -> None:
    assert await call_once(kind, api_url, "api_version") == expected_server_version
    assert await call_once(kind, api_url, "api_healthcheck") is None
    assert await call_once(kind, api_url, "raise_for_api_version_mismatch") is None


async def test_healthcheck_of_dead_server_returns_the_error(kind: str) -> None:
    result = await call_once(kind, ScriptedServer.dead_url() + "/api", "api_healthcheck")

    assert isinstance(result, httpx.ConnectError)


async def test_post_then_read_and_missing(kind: str, api_url: str) -> None:
    """A POST through the client's transport (CSRF negotiation included) and reads back."""
    name = f"core-{kind}-{uuid4().hex[:8]}"
    async with opened(kind, api_url) as client:
        created = await client.request("POST", "/flows/", json={"name": name})
        assert created.status_code in (200, 201)
        flow = await client.call("read_flow", UUID(created.json()["id"]))
        assert flow.name == name
        with pytest.raises(ObjectNotFound):
            await client.call("read_flow", uuid4())


def test_real_validation_error_names_the_field_on_one_line(api_url: str) -> None:
    """Prefect's own 422 body is {"exception_message", "exception_detail": [...]}, not FastAPI's."""
    from prefect_api.models import CronSchedule
    from prefect_sdk import PrefectHTTPStatusError, SyncPrefectClient

    with SyncPrefectClient(api_url) as client:
        flow_id = client.create_flow_from_name(f"core-422-{uuid4().hex[:8]}")
        deployment_id = client.create_deployment(flow_id, "d")
        # A cron the server cannot parse passes client-side checks and is refused by the server.
        with pytest.raises(PrefectHTTPStatusError) as raised:
            client.create_deployment_schedules(
                deployment_id, [(CronSchedule(cron="not a cron"), True)]
            )
    message = str(raised.value)
    assert raised.value.response.status_code == 422
    assert "body." in message and "schedule" in message and "\n" not in message
    assert "exception_detail" not in message  # parsed, not dumped


async def test_server_accepts_the_api_version_the_client_sends(kind: str, api_url: str) -> None:
    """The client sends X-PREFECT-API-VERSION from the spec's source; this server line (3.9 in
    the main run, 3.8 in `make test-compat`) checks it against its minimum and accepts it."""
    from prefect_api import API_VERSION

    async with opened(kind, api_url) as client:
        accepted = await client.request("POST", "/flows/filter", json={"limit": 1})
        assert accepted.request.headers["X-PREFECT-API-VERSION"] == API_VERSION
        assert accepted.status_code == 200
        # The server does enforce it: a version below its minimum (0.8.0) is refused.
        refused = await client.request(
            "POST", "/flows/filter", json={"limit": 1}, headers={"X-PREFECT-API-VERSION": "0.7.9"}
        )
        assert refused.status_code == 400
        assert "requires version 0.8.0 or higher" in refused.text
