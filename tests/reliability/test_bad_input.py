"""Bad input, from the caller or from the server: a clear exception naming what was wrong.

Caller mistakes (ids that are not UUIDs, wrong types, bad states, bad limits) are refused before
anything is sent; mistakes only the server can see come back as its 422, naming the field; and
bodies that are not what the API document describes (not JSON, cut short, HTML) raise an error
that names the request, on one bounded line. Nothing hangs: every test has its own timeout.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from prefect_sdk import PrefectHTTPStatusError, PrefectSDKError, states
from prefect_sdk._paging import FIRST_GAP, Learnt
from tests.core.helpers import api, opened
from tests.reliability.fault_proxy import FaultProxy
from tests.support.scripted_server import Reply, ScriptedServer

pytestmark = pytest.mark.timeout(30)

FLOW_ID = uuid.UUID("7f2f9a8e-3c1d-4a57-9a8e-2b5c6d7e8f90")


async def refused(
    kind: str, server: ScriptedServer, name: str, *args: Any, **kwargs: Any
) -> BaseException:
    """Call client.<name>(...), which must raise ValueError without sending a request."""
    async with opened(kind, api(server)) as client:
        with pytest.raises(ValueError) as info:
            await client.call(name, *args, **kwargs)
    assert server.requests == [], f"{name} sent {[r.path for r in server.requests]}"
    message = str(info.value)
    assert message and "\n" not in message
    return info.value


# ----- the caller's mistakes: refused before any request ------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "named"),
    [
        ("read_flow", ("not-a-uuid",), "flow_id"),
        ("read_flow", (123,), "flow_id"),
        ("read_flow", ("",), "flow_id"),
        ("read_flow_run", ("1234",), "flow_run_id"),
        ("delete_flow", (None,), "flow_id"),
        ("set_flow_run_state", ("nope", states.Running()), "flow_run_id"),
        ("create_flow_run_from_deployment", ("deployment-1",), "deployment_id"),
        ("create_flow_run", ("flow-1",), "flow"),
    ],
)
async def test_malformed_ids(
    kind: str, scripted: ScriptedServer, name: str, args: tuple[Any, ...], named: str
) -> None:
    error = await refused(kind, scripted, name, *args)
    assert named in str(error) and repr(args[0]) in str(error)


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "named"),
    [
        ("create_flow_from_name", (123,), {}, "name"),
        ("create_flow_from_name", ("",), {}, "name"),
        ("create_flow_run", (FLOW_ID,), {"tags": "nightly"}, "tags"),
        ("create_flow_run", (FLOW_ID,), {"parameters": [1, 2]}, "parameters"),
        ("create_flow_run", (FLOW_ID,), {"context": "x"}, "context"),
        ("create_deployment", (FLOW_ID, "d"), {"bogus_field": 1}, "bogus_field"),
        ("create_flow_run_from_deployment", (FLOW_ID,), {"tags": "nightly"}, "tags"),
        ("create_logs", ([{"level": 20}],), {}, "logs[0]"),
        ("create_logs", ("a log line",), {}, "logs"),
    ],
)
async def test_wrong_types_for_fields(
    kind: str,
    scripted: ScriptedServer,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    named: str,
) -> None:
    error = await refused(kind, scripted, name, *args, **kwargs)
    assert named in str(error)


@pytest.mark.parametrize(
    "state",
    [
        {"type": "BOGUS", "name": "Bogus"},
        {"type": "running", "name": "Running"},  # the values are upper case
        "RUNNING",
        42,
    ],
)
async def test_bad_states(kind: str, scripted: ScriptedServer, state: Any) -> None:
    error = await refused(kind, scripted, "set_flow_run_state", FLOW_ID, state)
    assert "state" in str(error)
    if isinstance(state, dict):
        assert repr(state["type"]) in str(error)  # the bad value itself is named


def test_state_helper_refuses_an_unknown_type() -> None:
    with pytest.raises(ValueError, match="'BOGUS' is not a valid StateType"):
        states.state("BOGUS")


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"limit": -1}, "limit"),
        ({"limit": "10"}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"offset": -5}, "offset"),
        ({"sort": "NOPE"}, "sort"),
        ({"flow_filter": "name = 'x'"}, "flow_filter"),
        ({"flow_filter": {"id": {"any_": ["not-a-uuid"]}}}, "flow_filter"),
        ({"flow_run_filter": {"state": {"type": {"any_": ["BOGUS"]}}}}, "flow_run_filter"),
    ],
)
async def test_bad_list_arguments(
    kind: str, scripted: ScriptedServer, kwargs: dict[str, Any], named: str
) -> None:
    name = "read_flow_runs" if "flow_run_filter" in kwargs else "read_flows"
    error = await refused(kind, scripted, name, **kwargs)
    assert named in str(error)


async def test_a_value_json_cannot_carry_is_refused_before_sending(
    kind: str, scripted: ScriptedServer
) -> None:
    async with opened(kind, api(scripted)) as client:
        with pytest.raises((TypeError, ValueError)) as info:
            await client.call("create_flow_run", FLOW_ID, parameters={"when": object()})
    assert scripted.requests == []
    assert "not JSON serializable" in str(info.value)


# ----- the server's view: an oversize limit pages, a bad field is its 422 --------------------


def limits_sent(proxy: FaultProxy, route: str) -> list[tuple[int, int]]:
    return [
        (body.get("offset", 0), body["limit"])
        for event in proxy.events
        if event.route == route
        for body in [json.loads(event.body)]
    ]


# What read-ahead learns of a list route is kept on the client under its endpoint's name.
FLOWS_ROUTE = "prefect_api.api.flows.read_flows"


@pytest.mark.timeout(60)
async def test_oversize_limit_is_sent_as_pages(kind: str, api_url: str) -> None:
    prefix = f"oversize-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i}" for i in range(5)]
    name_filter = {"name": {"like_": prefix}}
    with FaultProxy(api_url) as proxy:
        async with opened(kind, proxy.api_url) as client:
            for name in names:
                await client.call("create_flow_from_name", name)
            everything = await client.call("read_flows", flow_filter=name_filter, limit=10**9)
            client.client.page_size = 2  # small pages, so that paging shows
            # One page after another, so that the offsets sent are exact...
            client.client.page_concurrency = 1
            paged = await client.call("read_flows", flow_filter=name_filter, limit=10**9)
            # The server itself refuses a limit above its cap: sending 10**9 would have failed.
            raw = await client.request("POST", "/flows/filter", json={"limit": 10**9})
            # ...and with pages read ahead (which overlap by a row), no page is larger either.
            client.client.page_concurrency = 4
            client.client._read_ahead[FLOWS_ROUTE] = Learnt(4, FIRST_GAP, FIRST_GAP)
            ahead = await client.call("read_flows", flow_filter=name_filter, limit=10**9)

    assert sorted(f.name for f in everything) == names
    assert sorted(f.name for f in paged) == names == sorted(f.name for f in ahead)
    sent = limits_sent(proxy, "/api/flows/filter")
    assert sent[:5] == [(0, 200), (0, 2), (2, 2), (4, 2), (0, 10**9)]
    assert {limit for _offset, limit in sent[5:]} == {2}
    # (the pages were read ahead: they start a row early, on the previous page's last row)
    assert any(offset % 2 for offset, _limit in sent[5:])
    assert raw.status_code == 422 and "limit" in raw.text


@pytest.mark.parametrize(
    ("flow_filter", "field"),
    [
        ({"name": {"any_": "just-one-name"}}, "body.flows.name.any_"),
        ({"name": {"like_": 5}}, "body.flows.name.like_"),
    ],
)
async def test_a_field_of_the_wrong_type_is_the_servers_422_naming_it(
    kind: str, api_url: str, flow_filter: dict[str, Any], field: str
) -> None:
    async with opened(kind, api_url) as client:
        with pytest.raises(PrefectHTTPStatusError) as info:
            await client.call("read_flows", flow_filter=flow_filter)
    message = str(info.value)
    assert info.value.response.status_code == 422
    assert f"-> 422 Unprocessable Entity: {field}: " in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "flow_filter",
    [
        {"nmae": {"any_": ["PLACEHOLDER"]}},  # a misspelt field of FlowFilter
        {"name": {"anyy_": ["PLACEHOLDER"]}},  # a misspelt field of FlowFilterName
    ],
    ids=["top-level", "nested"],
)
async def test_an_unknown_filter_field_is_a_clear_error(
    kind: str, api_url: str, flow_filter: dict[str, Any]
) -> None:
    name = f"unknown-field-{uuid.uuid4().hex[:8]}"
    flow_filter = json.loads(json.dumps(flow_filter).replace("PLACEHOLDER", name))
    async with opened(kind, api_url) as client:
        await client.call("create_flow_from_name", name)
        await client.call("create_flow_from_name", f"{name}-other")
        try:
            rows = await client.call("read_flows", flow_filter=flow_filter)
        except (ValueError, PrefectHTTPStatusError) as error:
            misspelt = "nmae" if "nmae" in flow_filter else "anyy_"
            assert misspelt in str(error)
            return
    pytest.fail(f"the filter was taken as matching everything: {len(rows)} flows returned")


# ----- the server's mistakes: bodies that are not what the API document describes -----------

RESPONSE_BODIES: dict[str, Reply] = {
    "not JSON": Reply(200, body="not json", headers={"Content-Type": "application/json"}),
    "JSON cut short": Reply(
        200, body='{"id": "7f2f9a8e', headers={"Content-Type": "application/json"}
    ),
    "an HTML page": Reply(
        200, body="<html><body>hi</body></html>", headers={"Content-Type": "text/html"}
    ),
    "an object of another shape": Reply(200, json={"unexpected": True}),
    "a list": Reply(200, json=[1, 2]),
    "null": Reply(200, json=None),
}


@pytest.mark.parametrize("body", list(RESPONSE_BODIES))
async def test_a_body_that_does_not_parse_is_a_clear_error(
    kind: str, scripted: ScriptedServer, body: str
) -> None:
    scripted.queue(RESPONSE_BODIES[body])
    async with opened(kind, api(scripted)) as client:
        with pytest.raises(Exception) as info:
            await client.call("read_flow", FLOW_ID)
    error = info.value
    assert isinstance(error, PrefectSDKError), f"{type(error).__name__}: {error}"
    assert str(error).startswith(f"GET {api(scripted)}/flows/{FLOW_ID} -> 200")
    assert "Flow" in str(error)


async def test_a_2xx_without_the_described_body_is_a_clear_error(
    kind: str, scripted: ScriptedServer
) -> None:
    """The case the client does catch: a 2xx status the API document has no body for."""
    scripted.queue(Reply(204), Reply(201, json={"id": str(FLOW_ID)}))
    async with opened(kind, api(scripted)) as client:
        for status in (204, 201):
            with pytest.raises(PrefectSDKError) as info:
                await client.call("read_flow", FLOW_ID)
            assert str(info.value) == (
                f"GET {api(scripted)}/flows/{FLOW_ID} -> {status}: "
                "the body is not the Flow the API document describes"
            )


BAD_GATEWAY = (
    "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    + "<p>The upstream server did not answer in time. Please try again later.</p>\n" * 300
    + "</body>\n</html>\n"
)


async def test_an_html_error_page_is_one_bounded_line_after_the_retries(
    kind: str, scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "2")
    scripted.default = Reply(
        502, body=BAD_GATEWAY, headers={"Content-Type": "text/html", "Retry-After": "0"}
    )
    async with opened(kind, api(scripted)) as client:
        with pytest.raises(PrefectHTTPStatusError) as info:
            await client.call("read_flow", FLOW_ID)
    message = str(info.value)
    assert len(scripted.requests) == 3  # the request and its two retries
    assert message.startswith(f"GET {api(scripted)}/flows/{FLOW_ID} -> 502 Bad Gateway: ")
    assert "\n" not in message
    assert len(BAD_GATEWAY) > 20_000 and len(message) <= 700
    assert info.value.response.text == BAD_GATEWAY  # the whole page is there, for who wants it


async def test_a_text_error_body_is_the_detail(kind: str, scripted: ScriptedServer) -> None:
    scripted.queue(Reply(500, body="Internal Server Error\n\ttraceback hidden"))
    async with opened(kind, api(scripted)) as client:
        with pytest.raises(PrefectHTTPStatusError) as info:
            await client.call("read_flow", FLOW_ID)
    assert str(info.value) == (
        f"GET {api(scripted)}/flows/{FLOW_ID} -> 500 Internal Server Error: "
        "Internal Server Error traceback hidden"
    )


async def test_a_body_cut_short_on_the_wire_is_retried_then_raised(
    kind: str, scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "1")
    monkeypatch.setattr("prefect_sdk._policy.BACKOFF_BASE", 0.01)
    cut = Reply(200, json={"id": str(FLOW_ID), "name": "x" * 200}, close_mid_response=True)
    scripted.queue(cut, cut)
    async with opened(kind, api(scripted)) as client:
        with pytest.raises(httpx.RemoteProtocolError) as info:
            await client.call("read_flow", FLOW_ID)
    assert len(scripted.requests) == 2
    assert "peer closed connection without sending complete message body" in str(info.value)
    assert info.value.request.url == f"{api(scripted)}/flows/{FLOW_ID}"
