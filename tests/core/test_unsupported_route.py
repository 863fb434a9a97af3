"""A route the server does not have is `UnsupportedByServer`, not a missing object."""

from __future__ import annotations

import uuid

import pytest

from prefect_api import PREFECT_VERSION
from prefect_sdk import (
    NotPrefectAPI,
    ObjectNotFound,
    PrefectHTTPStatusError,
    PrefectSDKError,
    UnsupportedByServer,
)
from tests.core.helpers import api, opened
from tests.support.scripted_server import Reply, ScriptedServer

ROUTE_MISSING = Reply(404, json={"detail": "Not Found"})


async def test_fastapis_route_missing_404_names_operation_and_versions(
    kind: str, server: ScriptedServer
) -> None:
    server.queue_for("GET", "/api/observed-states", ROUTE_MISSING, ROUTE_MISSING)
    server.queue_for("GET", "/api/admin/version", Reply(200, json="3.8.8"))

    async with opened(kind, api(server)) as client:
        for _ in range(2):
            with pytest.raises(UnsupportedByServer) as info:
                await client.call("read_observed_states")
            error = info.value
            assert not isinstance(error, ObjectNotFound)
            assert isinstance(error, PrefectHTTPStatusError) and isinstance(error, PrefectSDKError)
            assert error.response.status_code == 404
            assert str(error) == (
                "GET /api/observed-states (read_observed_states) is not served by this Prefect "
                f"server (3.8.8); prefect-sdk was generated from {PREFECT_VERSION}"
            )

    # The server's version was asked once per client, when the first message needed it.
    routes = [r.route for r in server.requests]
    assert routes == ["/api/observed-states", "/api/admin/version", "/api/observed-states"]


async def test_method_not_allowed_is_unsupported_too(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", "/api/hello", Reply(405, json={"detail": "Method Not Allowed"}))
    server.queue_for("GET", "/api/admin/version", Reply(200, json="3.1.0"))

    async with opened(kind, api(server)) as client:
        with pytest.raises(UnsupportedByServer, match=r"GET /api/hello \(hello\) .*\(3\.1\.0\)"):
            await client.call("hello")


async def test_no_route_and_no_version_is_not_a_prefect_api(
    kind: str, server: ScriptedServer
) -> None:
    """A missing route where the server reports no version is no Prefect API at all (most often
    a URL without /api), not an older Prefect server (issue 18)."""
    server.queue_for("GET", "/api/hello", ROUTE_MISSING)
    server.queue_for("GET", "/api/admin/version", ROUTE_MISSING)

    async with opened(kind, api(server)) as client:
        with pytest.raises(NotPrefectAPI, match=r"no Prefect API answers at"):
            await client.call("hello")


@pytest.mark.parametrize(
    "body",
    [
        {"detail": "Flow not found"},  # an HTTPException of a Prefect route
        {"exception_message": "Flow run not found"},  # Prefect's ObjectNotFoundError handler
        {"detail": "Not Found", "extra": 1},  # not FastAPI's default body
    ],
)
async def test_a_missing_object_stays_object_not_found(
    kind: str, server: ScriptedServer, body: dict[str, object]
) -> None:
    flow_id = uuid.uuid4()
    server.queue_for("GET", f"/api/flows/{flow_id}", Reply(404, json=body))

    async with opened(kind, api(server)) as client:
        with pytest.raises(ObjectNotFound) as info:
            await client.call("read_flow", flow_id)
    assert not isinstance(info.value, UnsupportedByServer)
    assert [r.route for r in server.requests] == [f"/api/flows/{flow_id}"]
