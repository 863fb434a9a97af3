"""CSRF tokens on state-changing requests, through both clients, against a scripted server."""

from __future__ import annotations

import datetime
from urllib.parse import parse_qs

import pytest

from prefect_sdk import ServerType
from tests.core.helpers import api, opened
from tests.support.scripted_server import Recorded, Reply, ScriptedServer

TOKEN_ROUTE = "/api/csrf-token"
FLOWS_ROUTE = "/api/flows/"
CREATED = Reply(201, json={"id": "00000000-0000-0000-0000-000000000001", "name": "etl"})


def token_reply(token: str, expires_in: float = 3600) -> Reply:
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=expires_in
    )
    return Reply(200, json={"token": token, "client": "x", "expiration": expiration.isoformat()})


async def post_flows(kind: str, server: ScriptedServer, count: int = 1) -> list[int]:
    """POST /flows/ `count` times through one client; the statuses it got."""
    async with opened(kind, api(server)) as client:
        return [
            (await client.request("POST", "/flows/", json={"name": "etl"})).status_code
            for _ in range(count)
        ]


def routes(server: ScriptedServer) -> list[str]:
    return [f"{r.method} {r.route}" for r in server.requests]


def token_fetch_client(request: Recorded) -> str:
    assert request.route == TOKEN_ROUTE
    return parse_qs(request.query)["client"][0]


async def test_token_fetched_once_and_sent(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", TOKEN_ROUTE, token_reply("tok-1"))
    server.queue_for("POST", FLOWS_ROUTE, CREATED, CREATED)

    assert await post_flows(kind, server, count=2) == [201, 201]

    fetch, *posts = server.requests
    assert routes(server) == [f"GET {TOKEN_ROUTE}", f"POST {FLOWS_ROUTE}", f"POST {FLOWS_ROUTE}"]
    client_id = token_fetch_client(fetch)
    assert client_id
    for post in posts:
        assert post.headers["Prefect-Csrf-Token"] == "tok-1"
        assert post.headers["Prefect-Csrf-Client"] == client_id


async def test_get_needs_no_token(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", "/api/hello", Reply(200, json="hi"))

    async with opened(kind, api(server)) as client:
        await client.call("hello")

    assert routes(server) == ["GET /api/hello"]
    assert "Prefect-Csrf-Token" not in server.requests[0].headers


async def test_expired_token_is_refetched(kind: str, server: ScriptedServer) -> None:
    server.queue_for("GET", TOKEN_ROUTE, token_reply("old", -60), token_reply("new", -60))
    server.queue_for("POST", FLOWS_ROUTE, CREATED, CREATED)

    assert await post_flows(kind, server, count=2) == [201, 201]

    assert routes(server) == [f"GET {TOKEN_ROUTE}", f"POST {FLOWS_ROUTE}"] * 2
    assert server.requests[1].headers["Prefect-Csrf-Token"] == "old"
    assert server.requests[3].headers["Prefect-Csrf-Token"] == "new"


async def test_rejected_token_is_replaced_and_retried(kind: str, server: ScriptedServer) -> None:
    invalid = Reply(403, json={"detail": "Invalid CSRF token or client identifier."})
    server.queue_for("GET", TOKEN_ROUTE, token_reply("stale"), token_reply("fresh"))
    server.queue_for("POST", FLOWS_ROUTE, invalid, CREATED)

    assert await post_flows(kind, server) == [201]

    assert routes(server) == [f"GET {TOKEN_ROUTE}", f"POST {FLOWS_ROUTE}"] * 2
    assert server.requests[1].headers["Prefect-Csrf-Token"] == "stale"
    assert server.requests[3].headers["Prefect-Csrf-Token"] == "fresh"


@pytest.mark.parametrize(
    "answer",
    [Reply(422, json={"detail": "CSRF protection is disabled."}), Reply(404, json={})],
    ids=["422-disabled", "404"],
)
async def test_server_without_csrf_turns_it_off(
    kind: str, server: ScriptedServer, answer: Reply
) -> None:
    server.queue_for("GET", TOKEN_ROUTE, answer)
    server.queue_for("POST", FLOWS_ROUTE, CREATED, CREATED)

    assert await post_flows(kind, server, count=2) == [201, 201]

    assert routes(server) == [f"GET {TOKEN_ROUTE}", f"POST {FLOWS_ROUTE}", f"POST {FLOWS_ROUTE}"]
    for post in server.requests[1:]:
        assert "Prefect-Csrf-Token" not in post.headers
        assert "Prefect-Csrf-Client" not in post.headers


async def test_csrf_support_disabled_by_setting(
    kind: str, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", "false")
    server.queue_for("POST", FLOWS_ROUTE, CREATED)

    assert await post_flows(kind, server) == [201]

    assert routes(server) == [f"POST {FLOWS_ROUTE}"]
    assert "Prefect-Csrf-Token" not in server.requests[0].headers


async def test_no_csrf_for_cloud(
    kind: str, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_CLOUD_API_URL", api(server))
    server.queue_for("POST", FLOWS_ROUTE, CREATED)

    async with opened(kind, api(server)) as client:
        assert client.client.server_type is ServerType.CLOUD
        assert (await client.request("POST", "/flows/", json={"name": "etl"})).status_code == 201

    assert routes(server) == [f"POST {FLOWS_ROUTE}"]
    assert "Prefect-Csrf-Token" not in server.requests[0].headers


@pytest.mark.usefixtures("fast_backoff")
async def test_dropped_connection_on_token_fetch_is_retried(
    kind: str, server: ScriptedServer
) -> None:
    server.queue_for("GET", "/api/hello", Reply(200, json="hi"))
    server.queue_for("GET", TOKEN_ROUTE, Reply(drop_connection=True), token_reply("tok"))
    server.queue_for("POST", FLOWS_ROUTE, CREATED)

    async with opened(kind, api(server)) as client:
        await client.call("hello")  # first contact made: transport errors are now retried
        created = await client.request("POST", "/flows/", json={"name": "etl"})

    assert created.status_code == 201
    assert server.requests[-1].headers["Prefect-Csrf-Token"] == "tok"


async def test_unavailable_token_fetch_is_retried(kind: str, server: ScriptedServer) -> None:
    server.queue_for(
        "GET", TOKEN_ROUTE, Reply(503, headers={"Retry-After": "0"}), token_reply("tok")
    )
    server.queue_for("POST", FLOWS_ROUTE, CREATED)

    assert await post_flows(kind, server) == [201]

    assert routes(server) == [f"GET {TOKEN_ROUTE}", f"GET {TOKEN_ROUTE}", f"POST {FLOWS_ROUTE}"]
    assert server.requests[-1].headers["Prefect-Csrf-Token"] == "tok"
